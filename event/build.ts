import { plausibleDate } from '../lib/dates.js';
import { cleanText } from '../lib/text.js';
import { normaliseSender, type RawSender } from './identity.js';
import { contactId, type InboundContact, parseInboundContact, rawPayload } from './inbound-contact.js';

/** What a connector knows; buildInboundContact fills in the id, normalised identities and defaults. */
export interface ContactDraft {
  channel: InboundContact['channel'];
  source: InboundContact['source'];
  externalId: string;
  direction?: InboundContact['direction'];
  kind: InboundContact['kind'];
  occurredAt?: Date | string;
  sender: RawSender & { name?: string };
  content?: InboundContact['content'];
  regionHints?: InboundContact['regionHints'];
  utm?: InboundContact['utm'];
  thread?: InboundContact['thread'];
  raw: { contentType: string; body: string };
  meta?: Record<string, unknown>;
}

/**
 * The only way connectors make events: removes characters no reader wants (lib/text.ts: control characters,
 * lone surrogates), normalises identities and validates against the v1 schema. Cleaning comes first, so the id,
 * the identities and the audit copy all see the same text.
 */
export function buildInboundContact(
  draft: ContactDraft,
  opts: { defaultCountry: string; now?: Date },
): InboundContact {
  const d = cleanText(draft);
  const now = opts.now ?? new Date();
  const occurred = d.occurredAt ? new Date(d.occurredAt) : now;
  return parseInboundContact({
    schema: 'inbound-contact',
    version: 1,
    id: contactId(d.channel, d.source.key, d.externalId),
    channel: d.channel,
    source: d.source,
    externalId: d.externalId,
    direction: d.direction ?? 'inbound',
    kind: d.kind,
    // A sender's clock gone wrong (no date, year 0) must not cost the contact: the time of receipt stands in.
    occurredAt: (plausibleDate(occurred) ? occurred : now).toISOString(),
    receivedAt: now.toISOString(),
    sender: {
      name: d.sender.name?.trim() || undefined,
      identities: normaliseSender(d.sender, opts.defaultCountry),
    },
    content: d.content ?? {},
    regionHints: d.regionHints ?? {},
    utm: d.utm ?? {},
    thread: d.thread,
    raw: rawPayload(d.raw.contentType, d.raw.body),
    meta: d.meta,
  });
}
