import { type DeliveryStatus, DeliveryStatusSchema, statusKey } from './delivery-status.js';
import {
  EventValidationError,
  type InboundContact,
  InboundContactSchema,
  partitionKey,
} from './inbound-contact.js';
import { isMarkedValid } from './validated.js';

/**
 * What travels on the bus: inbound contacts and delivery statuses, told apart by `schema`. One topic keeps a
 * client's statuses in order with their messages (both are keyed by the client's identity).
 */
export type BusEvent = InboundContact | DeliveryStatus;

export const isInboundContact = (e: BusEvent): e is InboundContact => e.schema === 'inbound-contact';
export const isDeliveryStatus = (e: BusEvent): e is DeliveryStatus => e.schema === 'delivery-status';

export function parseBusEvent(input: unknown): BusEvent {
  const schema = (input as { schema?: unknown } | null)?.schema;
  const r =
    schema === 'delivery-status'
      ? DeliveryStatusSchema.safeParse(input)
      : InboundContactSchema.safeParse(input);
  if (!r.success) {
    throw new EventValidationError(
      r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  // Not marked (event/validated.ts): what a consumer parses is routed, not published again, and marking
  // every consumed event costs the router a WeakSet entry each for nothing.
  return r.data;
}

/**
 * For a publisher: the event as it may go on the bus. What a builder (buildInboundContact, buildDeliveryStatus)
 * returned in this process passes as is; anything else — a copy, an object made by hand — is validated here.
 */
export const validForPublish = (input: BusEvent): BusEvent =>
  isMarkedValid(input) ? input : parseBusEvent(input);

/** The Kafka key of any bus event: the client's identity where known. */
export const busEventKey = (e: BusEvent): string => (isDeliveryStatus(e) ? statusKey(e) : partitionKey(e));
