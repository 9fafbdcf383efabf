import kafkajs, { type Kafka, type Message, type Producer } from 'kafkajs';
import { AppError, isAppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface ProducerQueueOptions {
  kafka: Kafka;
  logger: Logger;
  /** How long the first publish of an idle period waits for company (ms). */
  lingerMs?: number;
  /** Upper bound on one sendBatch; keeps each partition's record batch under the topic's max.message.bytes. */
  maxBatchBytes?: number;
  /** Bound on connect and on one sendBatch, so an unreachable broker becomes a 503 in seconds, not 30 s. */
  timeoutMs?: number;
  /**
   * Record-batch compression (default none). Measured with `npx tsx bench/producer.ts`: on the small JSON events
   * of this service gzip costs the producer and the broker more CPU than the bytes it saves, so it is off; it
   * stays an option for a broker across a slow or paid link.
   */
  compression?: kafkajs.CompressionTypes;
}

interface Pending {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export const RETRY_AFTER_SEC = 5;

export function busUnavailable(err: unknown, what = 'Kafka did not accept the events'): AppError {
  if (isAppError(err) && err.code === 'BUS_UNAVAILABLE') return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new AppError('BUS_UNAVAILABLE', `${what}: ${reason}`, {
    retryAfterSec: RETRY_AFTER_SEC,
    cause: err,
  });
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const size = (m: Message) =>
  (typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0)) +
  (typeof m.key === 'string' ? Buffer.byteLength(m.key) : (m.key?.length ?? 0));

/**
 * One idempotent producer behind a group-commit queue. Connectors publish once per HTTP request, so under
 * load many small publish() calls overlap; they are merged into one sendBatch, and exactly one sendBatch is in
 * flight at a time. That single-flight rule is also what kafkajs' idempotent producer needs: it assigns
 * sequence numbers per partition when a request is built, so overlapping sends can trip
 * OUT_OF_ORDER_SEQUENCE_NUMBER. While a batch is in flight the next one fills up, so throughput grows with load.
 *
 * After any failure the producer is thrown away and a new one (new producer id, fresh sequences) is made on
 * the next send: a timed-out request may still have been written, and reusing its sequence numbers would
 * wedge the partition. The cost is a possible duplicate, which downstream absorbs (event ids are deterministic).
 */
export class ProducerQueue {
  private readonly lingerMs: number;
  private readonly maxBatchBytes: number;
  private readonly timeoutMs: number;
  private readonly compression: kafkajs.CompressionTypes;
  private producer?: Promise<Producer>;
  private connected = false;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private closed = false;

  constructor(private readonly opts: ProducerQueueOptions) {
    this.lingerMs = opts.lingerMs ?? 2;
    this.maxBatchBytes = opts.maxBatchBytes ?? 8 * 1024 * 1024;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.compression = opts.compression ?? kafkajs.CompressionTypes.None;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Connects (once; concurrent callers share the attempt) and returns the producer. */
  connect(): Promise<Producer> {
    if (this.closed) return Promise.reject(busUnavailable(new Error('bus is closed')));
    return this.getProducer();
  }

  private getProducer(): Promise<Producer> {
    if (!this.producer) {
      const p = this.opts.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2, so other Kafka clients put the same key on the same partition.
        createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
        // Bounded on purpose (kafkajs defaults to infinite for idempotence): fail fast, the caller gets a 503.
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
      });
      p.on(p.events.DISCONNECT, () => {
        this.connected = false;
      });
      const attempt = withTimeout(p.connect(), this.timeoutMs, 'Kafka producer connect').then(() => {
        this.connected = true;
        return p;
      });
      this.producer = attempt;
      attempt.catch(() => {
        if (this.producer === attempt) this.producer = undefined;
        void p.disconnect().catch(() => {});
      });
    }
    return this.producer;
  }

  /** Resolves once every message is acknowledged by all in-sync replicas (acks -1). */
  send(topic: string, messages: Message[]): Promise<void> {
    if (this.closed) return Promise.reject(busUnavailable(new Error('bus is closed')));
    if (messages.length === 0) return Promise.resolve();
    const bytes = messages.reduce((n, m) => n + size(m), 0);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.schedule();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length && !this.draining) this.startDrain();
    await this.draining;
    await this.discardProducer();
  }

  private schedule(): void {
    if (this.draining) return; // the running drain loop takes whatever is queued next
    if (this.queuedBytes >= this.maxBatchBytes || this.closed) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.startDrain();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.startDrain();
      }, this.lingerMs);
    }
  }

  private startDrain(): void {
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.take();
      try {
        const producer = await this.getProducer();
        await withTimeout(
          producer.sendBatch({
            acks: -1,
            timeout: this.timeoutMs,
            compression: this.compression,
            topicMessages: byTopic(group),
          }),
          this.timeoutMs,
          'Kafka send',
        );
        for (const p of group) p.resolve();
      } catch (err) {
        const e = busUnavailable(err);
        for (const p of group) p.reject(e);
        this.opts.logger.warn(
          { err, calls: group.length },
          'kafka send failed; the producer will be recreated',
        );
        await this.discardProducer();
      }
    }
  }

  /** FIFO, up to maxBatchBytes (always at least one caller, however large). */
  private take(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= this.maxBatchBytes)) {
      bytes += this.queue[n]!.bytes;
      n++;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, n);
  }

  private async discardProducer(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    this.connected = false;
    // Don't wait long: disconnecting from an unreachable broker must not hold up the next attempt.
    await withTimeout(old?.then((p) => p.disconnect()) ?? Promise.resolve(), 1_000, 'disconnect').catch(
      () => {},
    );
  }
}

/** Merges callers' messages per topic, keeping their order (per-key order is per-partition order). */
function byTopic(group: Pending[]): { topic: string; messages: Message[] }[] {
  const out = new Map<string, Message[]>();
  for (const p of group) {
    const list = out.get(p.topic);
    if (list) for (const m of p.messages) list.push(m);
    else out.set(p.topic, [...p.messages]);
  }
  return [...out].map(([topic, messages]) => ({ topic, messages }));
}
