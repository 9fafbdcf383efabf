import { z } from 'zod';
import { DATE_RANGE_TEXT, plausibleIsoDateTime } from '../lib/dates.js';
import { IDENTITY_KINDS } from './identity.js';
import { stableUuid } from './stable-id.js';
import { markValidated } from './validated.js';

/**
 * InboundContact v1: the one event every connector publishes and the router consumes.
 * It is validated once in each process it crosses (event/validated.ts): where it is built (connectors, via
 * buildInboundContact) and where it is consumed (router, via parseBusEvent). A breaking change means a new
 * version and a new topic (inbound-contacts.v2), never an edit of this schema. Additions that every existing event still satisfies are
 * allowed (an optional field, a new enum value): readers are upgraded before writers, so routers are deployed
 * before the connectors that produce the new values. Added since the first release: the channels vk, viber and
 * instagram, and content.message (messenger and live-chat messages); the channel `store`, the source type
 * `store` and content.order (online-store orders, kind 'form': the buyer filled the shop's checkout form).
 */
export const CHANNELS = [
  'phone',
  'email',
  'telegram',
  'whatsapp',
  'vk',
  'viber',
  'instagram',
  'webform',
  'webchat',
  'store',
] as const;
/** Channels whose contacts are chat messages grouped into conversations (content.message is set). */
export const MESSENGER_CHANNELS = ['telegram', 'whatsapp', 'vk', 'viber', 'instagram', 'webchat'] as const;
export const SOURCE_TYPES = ['line', 'form', 'mailbox', 'bot', 'chat', 'store'] as const;
export const CALL_STATUSES = ['answered', 'missed', 'busy', 'failed', 'voicemail', 'ringing'] as const;

/** An instant PostgreSQL can store and a sender can mean (lib/dates.ts), with its zone. */
export const IsoDateTime = z.iso
  .datetime({ offset: true })
  .refine(plausibleIsoDateTime, { message: `must be a date-time ${DATE_RANGE_TEXT}` });
const isoDate = IsoDateTime;
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

/**
 * A file or rich item sent in a chat. Only metadata travels: the file itself is fetched on demand through the
 * vendor's API (fileId) or from the vendor's URL, when an operator opens it.
 */
export const AttachmentSchema = z.object({
  kind: z.enum(['image', 'document', 'audio', 'voice', 'video', 'sticker', 'location', 'contact', 'other']),
  /** The vendor's handle for fetching the file (Telegram file_id, WhatsApp media id...). */
  fileId: shortText.optional(),
  /** Where the vendor serves the file directly (VK, Viber, Instagram give URLs). */
  url: z.url().max(2_000).optional(),
  name: shortText.optional(),
  mimeType: shortText.optional(),
  size: z.number().int().min(0).optional(),
  caption: z.string().max(4_096).optional(),
});

/** A messenger or live-chat message: what a conversation needs besides the common fields. */
export const MessageSchema = z.object({
  /** The vendor's id of this message; with the channel account it identifies the message (redelivery-safe). */
  vendorMessageId: z.string().min(1).max(200),
  /** Where a reply goes: Telegram chat id, WhatsApp wa_id, VK peer_id, Viber user id, Instagram IGSID, visitor id. */
  chatId: z.string().min(1).max(200),
  attachments: z.array(AttachmentSchema).max(20).optional(),
  /** An edit of vendorMessageId: its text replaces the stored one; it is not a new message. */
  edited: z.boolean().optional(),
  /** The vendor id of the message this one answers (quoted replies). */
  replyToVendorMessageId: z.string().min(1).max(200).optional(),
  location: z
    .object({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
      name: shortText.optional(),
      address: shortText.optional(),
    })
    .optional(),
  /** A button or list choice (WhatsApp interactive replies, Telegram callback queries). */
  interactive: z.object({ id: shortText, title: shortText.optional() }).optional(),
  /**
   * A contact card the client sent. `ownPhone` is true only when the card is the sender's own (Telegram:
   * contact.user_id equals the sender): only then is its phone one of the sender's identities.
   */
  sharedContact: z
    .object({ phone: shortText.optional(), name: shortText.optional(), ownPhone: z.boolean() })
    .optional(),
});

/** Decimal money as a string ("1499.90"): amounts are never floats on the bus. */
const money = z.string().regex(/^-?\d{1,12}(\.\d{1,4})?$/, 'must be a decimal amount like 1499.90');

/**
 * An online-store order (channel 'store'). One order number is one deal; every revision of the order is one
 * event (externalId = number + revision), and `modifiedAt` orders the revisions: the router never lets an older
 * revision overwrite a newer one.
 */
export const OrderSchema = z.object({
  number: z.string().min(1).max(100),
  /** When the store last changed the order; revisions are compared by it. */
  modifiedAt: isoDate,
  status: z.string().min(1).max(100),
  total: money,
  /** ISO 4217. */
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD'),
  items: z
    .array(
      z.object({
        sku: shortText.optional(),
        name: shortText,
        qty: z.number().positive().max(1_000_000),
        price: money,
      }),
    )
    .max(500),
  deliveryAddress: z.string().max(2_000).optional(),
  /** Platform the order came in through: our own shape ('generic') or 'woocommerce'. */
  platform: z.enum(['generic', 'woocommerce']),
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
    message: MessageSchema.optional(),
    order: OrderSchema.optional(),
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
export type MessageInfo = z.infer<typeof MessageSchema>;
export type Attachment = z.infer<typeof AttachmentSchema>;
export type OrderInfo = z.infer<typeof OrderSchema>;

/** Deterministic id from channel, source key and external id (a vendor's retry yields the same id). */
export const contactId = (channel: string, sourceKey: string, externalId: string): string =>
  stableUuid('inbound-contact.v1', channel, sourceKey, externalId);

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
  return markValidated(r.data);
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
