import { createHash } from 'node:crypto';
import { z } from 'zod';
import { IDENTITY_KINDS } from './identity.js';

/**
 * InboundContact v1: the one event every connector publishes and the router consumes.
 * It is validated where it is published (connectors, via buildInboundContact) and where it is consumed
 * (router, via parseInboundContact). A breaking change means a new version and a new topic
 * (inbound-contacts.v2), never an edit of this schema.
 */
export const CHANNELS = ['phone', 'email', 'telegram', 'whatsapp', 'webform', 'webchat'] as const;
export const SOURCE_TYPES = ['line', 'form', 'mailbox', 'bot', 'chat'] as const;
export const CALL_STATUSES = ['answered', 'missed', 'busy', 'failed', 'voicemail', 'ringing'] as const;

const isoDate = z.iso.datetime({ offset: true });
const shortText = z.string().max(1_000);

export const IdentitySchema = z.object({
  kind: z.enum(IDENTITY_KINDS),
  value: z.string().min(1).max(320),
  valid: z.boolean(),
});

export const CallSchema = z.object({
  status: z.enum(CALL_STATUSES),
  externalCallId: z.string().min(1).max(200),
  durationSec: z.number().int().min(0).optional(),
  talkSec: z.number().int().min(0).optional(),
  waitSec: z.number().int().min(0).optional(),
  recordingUrl: z.url().max(2_000).optional(),
  operatorExtension: shortText.optional(),
  from: shortText.optional(),
  to: shortText.optional(),
  startedAt: isoDate.optional(),
  answeredAt: isoDate.optional(),
  endedAt: isoDate.optional(),
  /** Withheld / anonymous caller: the event carries no identity and must not get an invented one. */
  anonymous: z.boolean().optional(),
});

export const InboundContactSchema = z.object({
  schema: z.literal('inbound-contact'),
  version: z.literal(1),
  /** Stable id: uuid-shaped hash of channel + source + externalId, so a vendor's retry yields the same id. */
  id: z.uuid(),
  channel: z.enum(CHANNELS),
  source: z.object({
    type: z.enum(SOURCE_TYPES),
    key: z.string().min(1).max(200),
    name: shortText.optional(),
  }),
  externalId: z.string().min(1).max(500),
  direction: z.enum(['inbound', 'outbound']),
  kind: z.enum(['call', 'message', 'form']),
  occurredAt: isoDate,
  receivedAt: isoDate,
  sender: z.object({
    name: shortText.optional(),
    /** Normalised identities; the first one is the primary identity (the Kafka key). */
    identities: z.array(IdentitySchema).max(50),
  }),
  content: z.object({
    subject: shortText.optional(),
    text: z.string().max(1_000_000).optional(),
    call: CallSchema.optional(),
  }),
  regionHints: z.object({
    callerNumber: shortText.optional(),
    calledLine: shortText.optional(),
    formRegion: shortText.optional(),
    formCity: shortText.optional(),
    clientIp: shortText.optional(),
    country: z.string().length(2).optional(),
  }),
  utm: z.object({
    source: shortText.optional(),
    medium: shortText.optional(),
    campaign: shortText.optional(),
    term: shortText.optional(),
    content: shortText.optional(),
  }),
  thread: z
    .object({
      ref: shortText.optional(),
      messageId: shortText.optional(),
      inReplyTo: shortText.optional(),
      references: z.array(shortText).max(200).optional(),
    })
    .optional(),
  /** The vendor payload for audit, as received (truncated past 256 KiB; rawRef then points at the full copy). */
  raw: z.object({
    contentType: shortText,
    body: z.string().max(262_144),
    truncated: z.boolean().optional(),
  }),
  /** Connector-specific extras the router may use (e.g. planned callback deadline, line flags). */
  meta: z.record(z.string(), z.unknown()).optional(),
});

export type InboundContact = z.infer<typeof InboundContactSchema>;
export type Channel = (typeof CHANNELS)[number];
export type CallInfo = z.infer<typeof CallSchema>;

/** Deterministic UUID (v5-shaped, SHA-1 over a fixed namespace) from channel, source key and external id. */
export function contactId(channel: string, sourceKey: string, externalId: string): string {
  const h = createHash('sha1').update(`inbound-contact.v1\0${channel}\0${sourceKey}\0${externalId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class EventValidationError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid InboundContact: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'EventValidationError';
  }
}

export function parseInboundContact(input: unknown): InboundContact {
  const r = InboundContactSchema.safeParse(input);
  if (!r.success) {
    throw new EventValidationError(
      r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return r.data;
}

/** Kafka key: the client's primary identity keeps one client's contacts in order on one partition. */
export function partitionKey(e: InboundContact): string {
  const first = e.sender.identities[0];
  return first ? `${first.kind}:${first.value}` : `${e.channel}:${e.source.key}:anonymous`;
}

export const RAW_LIMIT = 262_144;
export function rawPayload(contentType: string, body: string): InboundContact['raw'] {
  return body.length > RAW_LIMIT
    ? { contentType, body: body.slice(0, RAW_LIMIT), truncated: true }
    : { contentType, body };
}
