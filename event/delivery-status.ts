import { z } from 'zod';
import { identityKey } from './identity.js';
import { IdentitySchema, MESSENGER_CHANNELS } from './inbound-contact.js';
import { stableUuid } from './stable-id.js';
import { markValidated } from './validated.js';

/**
 * DeliveryStatus v1: what a vendor reports about a message we sent (WhatsApp `statuses`, Viber
 * delivered/seen/failed, VK/Instagram read receipts). Connectors publish it on the same topic as InboundContact
 * (told apart by `schema`), keyed by the client's identity, so it stays in order with that client's messages;
 * the router applies it to the outbound message, never moving a status backwards (sent < delivered < read;
 * failed is final unless a later delivered/read proves otherwise). Same evolution rules as InboundContact.
 */
export const DELIVERY_STATES = ['sent', 'delivered', 'read', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

const isoDate = z.iso.datetime({ offset: true });

export const DeliveryStatusSchema = z.object({
  schema: z.literal('delivery-status'),
  version: z.literal(1),
  /** uuid-shaped hash of channel + account + vendor message id + status: a redelivered webhook is a no-op. */
  id: z.uuid(),
  channel: z.enum(MESSENGER_CHANNELS),
  /** The channel account (messenger_accounts.key) that sent the message. */
  accountKey: z.string().min(1).max(200),
  vendorMessageId: z.string().min(1).max(200),
  status: z.enum(DELIVERY_STATES),
  /** The vendor's error for `failed`: its own code and text, stored as given. */
  error: z.object({ code: z.string().max(200).optional(), message: z.string().max(2_000) }).optional(),
  /** The client the message went to, when the vendor says (the Kafka key; ordering with their messages). */
  recipient: IdentitySchema.optional(),
  occurredAt: isoDate,
  receivedAt: isoDate,
});

export type DeliveryStatus = z.infer<typeof DeliveryStatusSchema>;

export const deliveryStatusId = (
  channel: string,
  accountKey: string,
  vendorMessageId: string,
  status: DeliveryState,
): string => stableUuid('delivery-status.v1', channel, accountKey, vendorMessageId, status);

/** The only way connectors make status events: fills id and times and validates against the schema. */
export function buildDeliveryStatus(
  d: Omit<DeliveryStatus, 'schema' | 'version' | 'id' | 'receivedAt' | 'occurredAt'> & {
    occurredAt?: Date | string;
  },
  opts: { now?: Date } = {},
): DeliveryStatus {
  const now = opts.now ?? new Date();
  const occurred = d.occurredAt ? new Date(d.occurredAt) : now;
  return markValidated(
    DeliveryStatusSchema.parse({
      ...d,
      schema: 'delivery-status',
      version: 1,
      id: deliveryStatusId(d.channel, d.accountKey, d.vendorMessageId, d.status),
      occurredAt: (Number.isNaN(occurred.getTime()) ? now : occurred).toISOString(),
      receivedAt: now.toISOString(),
    }),
  );
}

/** Kafka key: the recipient's identity keeps a status in order with that client's messages. */
export const statusKey = (s: DeliveryStatus): string =>
  s.recipient ? identityKey(s.recipient) : `${s.channel}:${s.accountKey}:${s.vendorMessageId}`;
