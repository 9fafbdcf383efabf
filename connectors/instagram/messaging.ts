import type { InstagramAccount } from '../../channels/messengers.js';
import { buildInboundContact } from '../../event/build.js';
import type { BusEvent } from '../../event/bus-event.js';
import { buildDeliveryStatus } from '../../event/delivery-status.js';
import { normaliseMessengerId } from '../../event/identity.js';
import type { Attachment, MessageInfo } from '../../event/inbound-contact.js';
import { accountOrigin } from '../messenger-account.js';
import type { Update } from '../meta/parse.js';
import { vendorTime } from '../meta/webhook.js';
import { httpUrl, lookup } from '../webhook-http.js';
import type { IgAttachment, IgEvent } from './payload.js';

/**
 * One Instagram `messaging[]` event → bus events:
 * - a client's message (text, attachments as URL metadata, quick reply, reply_to) → inbound message;
 * - an echo (`is_echo`, or the sender is the business account itself) → an OUTBOUND message event of the
 *   conversation with that client, never an inbound one: it records replies typed in the Instagram app, and an
 *   echo of a message our outbox sent carries the mid the Send API returned, i.e. that same stored message;
 * - message_edit → the same message with `edited: true`; postback (icebreakers, buttons) → message.interactive;
 * - read → DeliveryStatus read for the business's message the client saw;
 * - reactions → acknowledged and ignored; deleted and unsupported messages, referrals, opt-ins → unhandled.
 */
const ATTACHMENT_KINDS: Record<string, Attachment['kind']> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  file: 'document',
  sticker: 'sticker',
};

interface Ctx {
  account: InstagramAccount;
  entryId: string;
  defaultCountry: string;
  now: Date;
}

export function mapMessagingEvent(e: IgEvent, c: Ctx, out: { events: BusEvent[]; updates: Update[] }): void {
  const ig = c.account.igUserId;
  const kind = eventKind(e);
  const sender = e.sender?.id;
  const recipient = e.recipient?.id;
  if (!sender || !recipient || ![c.entryId, sender, recipient].includes(ig)) {
    out.updates.push({ kind, outcome: sender && recipient ? 'ignored' : 'unhandled' });
    return;
  }
  const fromBusiness = sender === ig || e.message?.is_echo === true;
  const client = fromBusiness ? recipient : sender;

  if (e.read) {
    // The business reading a client's message says nothing about our outbound messages.
    if (fromBusiness) return void out.updates.push({ kind, outcome: 'ignored' });
    out.events.push(
      buildDeliveryStatus(
        {
          channel: 'instagram',
          accountKey: c.account.key,
          vendorMessageId: e.read.mid,
          status: 'read',
          recipient: normaliseMessengerId('instagram', client),
          occurredAt: vendorTime(e.timestamp, 'ms'),
        },
        { now: c.now },
      ),
    );
    return void out.updates.push({ kind, outcome: 'published' });
  }

  const msg = messageOf(e);
  if (msg === 'ignored' || msg === 'unhandled') return void out.updates.push({ kind, outcome: msg });
  const origin = accountOrigin(c.account);
  out.events.push(
    buildInboundContact(
      {
        channel: 'instagram',
        kind: 'message',
        direction: fromBusiness ? 'outbound' : 'inbound',
        source: origin.source,
        externalId: msg.externalId,
        occurredAt: vendorTime(e.timestamp, 'ms'),
        sender: { messengerIds: [{ kind: 'instagram', id: client }] },
        content: { text: msg.text, message: { ...msg.message, chatId: client } },
        raw: {
          contentType: 'application/json',
          body: JSON.stringify({ entry: [{ id: c.entryId, messaging: [e] }] }),
        },
        meta: { ...origin.meta, ...(fromBusiness && { echo: true }), ...msg.meta },
      },
      { defaultCountry: c.defaultCountry, now: c.now },
    ),
  );
  out.updates.push({ kind, outcome: 'published' });
}

interface Mapped {
  externalId: string;
  text?: string;
  message: Omit<MessageInfo, 'chatId'>;
  meta?: Record<string, unknown>;
}

function messageOf(e: IgEvent): Mapped | 'ignored' | 'unhandled' {
  if (e.reaction) return 'ignored';
  if (e.message_edit) {
    const m = e.message_edit;
    // Each edit is its own delivery (its own event id); the message it edits keeps its vendor id.
    return {
      externalId: `${m.mid}#edit-${m.num_edit ?? e.timestamp ?? 0}`,
      text: m.text,
      message: { vendorMessageId: m.mid, edited: true },
    };
  }
  if (e.postback?.mid && (e.postback.payload || e.postback.title)) {
    const p = e.postback;
    return {
      externalId: p.mid!,
      text: p.title,
      message: { vendorMessageId: p.mid!, interactive: { id: p.payload ?? p.title!, title: p.title } },
    };
  }
  const m = e.message;
  if (!m || m.is_deleted || m.is_unsupported) return 'unhandled';
  const attachments = (m.attachments ?? []).map(attachment).slice(0, 20);
  if (!m.text && attachments.length === 0) return 'unhandled';
  return {
    externalId: m.mid,
    text: m.text,
    message: {
      vendorMessageId: m.mid,
      attachments: attachments.length ? attachments : undefined,
      replyToVendorMessageId: m.reply_to?.mid,
      interactive: m.quick_reply ? { id: m.quick_reply.payload, title: m.text } : undefined,
    },
    meta: m.reply_to?.story ? { replyToStory: m.reply_to.story } : undefined,
  };
}

function attachment(a: IgAttachment): Attachment {
  return {
    kind: lookup(ATTACHMENT_KINDS, a.type) ?? 'other',
    url: httpUrl(a.payload?.url),
    name: a.payload?.title?.slice(0, 1_000),
    // Shares, story mentions and reels keep Instagram's own type name.
    ...(lookup(ATTACHMENT_KINDS, a.type) ? {} : { mimeType: `instagram/${a.type}`.slice(0, 100) }),
  };
}

function eventKind(e: IgEvent): string {
  if (e.message?.is_echo) return 'echo';
  for (const k of ['message_edit', 'read', 'reaction', 'postback', 'message'] as const) if (e[k]) return k;
  const other = Object.keys(e).find((k) => !['sender', 'recipient', 'timestamp'].includes(k));
  return `other:${(other ?? 'none').replace(/[^a-z0-9_]/gi, '_').slice(0, 40)}`;
}
