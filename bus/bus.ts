import type { BusEvent } from '../event/bus-event.js';

/**
 * The seam between connectors and the router. Two implementations: Kafka (production, many instances) and
 * in-process (embedded default). Both keep the same promise: publish() resolves only once the events are
 * durable — the Kafka ack from all in-sync replicas, or, in-process, the router's database commit — and
 * rejects with AppError BUS_UNAVAILABLE (HTTP 503 + Retry-After) when they may not be.
 */
export interface Publisher {
  publish(events: BusEvent[]): Promise<void>;
  /**
   * True where publish() resolves only after the router committed the events (the in-process bus), so what the
   * router wrote can be read at once; on Kafka it is written later, by a router somewhere.
   */
  readonly routedOnPublish?: boolean;
}

/** What the router reports back for a batch: events that failed permanently go to the dead-letter sink. */
export interface BatchResult {
  failed: { event: BusEvent; error: unknown }[];
}

/**
 * Called with a batch of validated events. It must return only after the batch is committed in the database;
 * the bus commits offsets after that. A thrown retriable error means "nothing committed, deliver again".
 */
export type BatchHandler = (events: BusEvent[]) => Promise<BatchResult>;

export interface Subscription {
  stop(): Promise<void>;
}

export interface Bus extends Publisher {
  readonly kind: 'kafka' | 'memory';
  /** Creates topics if missing (Kafka) and connects the producer. Idempotent. */
  start(): Promise<void>;
  subscribe(handler: BatchHandler): Promise<Subscription>;
  /** For /readyz: can the bus take an event right now? */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

export const TOPIC_INBOUND = 'inbound-contacts.v1';
export const TOPIC_DEAD_LETTER = 'inbound-contacts.v1.dlq';
