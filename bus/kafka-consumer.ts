import kafkajs, {
  type EachBatchPayload,
  type IHeaders,
  type Kafka,
  type KafkaMessage,
  type Message,
} from 'kafkajs';
import { type BusEvent, parseBusEvent } from '../event/bus-event.js';
import { isAppError, isRetriable } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { backoffDelay, RetriesExhaustedError, sleep } from '../lib/retry.js';
import type { BatchHandler, Subscription } from './bus.js';
import { groupCommit } from './group-commit.js';

export interface ConsumerOptions {
  kafka: Kafka;
  logger: Logger;
  groupId: string;
  topic: string;
  partitions: number;
  /** Max events per handler call (one database transaction). */
  batchSize: number;
  /** Writes dead letters; resolves after the broker acknowledged them. */
  sendDeadLetters: (messages: Message[]) => Promise<void>;
  handler: BatchHandler;
}

interface Item {
  event: BusEvent;
  message: KafkaMessage;
}

interface DeadLetter {
  message: KafkaMessage;
  error: unknown;
  stage: 'parse' | 'handler-failed' | 'handler-threw';
}

/** A router that already retried internally and gave up on an outage must still count as an outage. */
const retriable = (err: unknown): boolean =>
  isRetriable(err) || (err instanceof RetriesExhaustedError && isRetriable(err.cause));

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 2_000);

/** Original key, value and headers, plus why and where from: enough to inspect and to replay. */
export function deadLetter(d: DeadLetter, topic: string, partition: number): Message {
  const headers: IHeaders = {
    ...d.message.headers,
    'dlq-error': errorText(d.error),
    'dlq-stage': d.stage,
    'dlq-source-topic': topic,
    'dlq-source-partition': String(partition),
    'dlq-source-offset': d.message.offset,
    'dlq-at': new Date().toISOString(),
  };
  if (isAppError(d.error)) headers['dlq-error-code'] = d.error.code;
  return { key: d.message.key, value: d.message.value, headers };
}

/**
 * Runs the consumer group. Per Kafka batch, in slices of batchSize: parse, hand valid events to the handler,
 * dead-letter what cannot be processed, then (and only then) resolve and commit the slice's offsets. The
 * handler returns after its database commit, so a crash anywhere before the offset commit means redelivery,
 * never loss. Nothing here lets a bad message block its partition.
 */
export async function startConsumer(o: ConsumerOptions): Promise<Subscription> {
  const log = o.logger.child({ component: 'kafka-consumer', groupId: o.groupId });
  const consumer = o.kafka.consumer({
    groupId: o.groupId,
    allowAutoTopicCreation: false,
    // Short session: after a broker restart or a crashed instance, the group waits out the old member's
    // session before partitions move on. Slow handlers are safe: we heartbeat while they run (callHandler).
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    // Short broker-side fetch wait: an idle poll per second is cheap, and stop() returns quickly.
    maxWaitTimeInMs: 1_000,
    // A crash on a retriable error (broker outage) makes kafkajs restart the consumer, so an outage ends in a
    // rejoin, not a dead consumer; the CRASH listener below logs each one.
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 30_000 },
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    const level = payload.restart ? 'warn' : 'error';
    log[level]({ err: payload.error, restart: payload.restart }, 'kafka consumer crashed');
  });

  // One router transaction at a time per instance; partitions fetched meanwhile share the next one.
  const gathered = groupCommit(o.handler, o.batchSize);

  const eachBatch = async (p: EachBatchPayload): Promise<void> => {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = p;
    const { topic, partition } = batch;
    const active = () => isRunning() && !isStale();
    /** Back-off that keeps the group membership alive; false when we should give the partition up. */
    const pause = async (ms: number): Promise<boolean> => {
      for (let left = ms; left > 0; left -= 1_000) {
        if (!active()) return false;
        await sleep(Math.min(left, 1_000));
        try {
          await heartbeat();
        } catch {
          return false; // rebalance: the partition may belong to someone else now
        }
      }
      return active();
    };

    /** kafkajs heartbeats only between batches or when asked: keep the membership alive during a slow commit. */
    const callHandler = async (items: Item[], shared: boolean) => {
      const keepAlive = setInterval(() => void heartbeat().catch(() => {}), 1_000);
      try {
        return await (shared ? gathered : o.handler)(items.map((i) => i.event));
      } finally {
        clearInterval(keepAlive);
      }
    };

    /** Handler with retries; non-retriable failures are bisected so one poison event costs only itself. */
    const deliver = async (items: Item[], dead: DeadLetter[], first = true): Promise<boolean> => {
      for (let attempt = 1; ; attempt++) {
        try {
          // Only a first attempt joins other partitions' batches: retries and bisection run alone, so a
          // poison event can never take another partition's good events to the dead-letter topic with it.
          const result = await callHandler(items, first && attempt === 1);
          const byId = new Map(items.map((i) => [i.event.id, i]));
          for (const f of result.failed) {
            const item = byId.get(f.event.id);
            if (item) dead.push({ message: item.message, error: f.error, stage: 'handler-failed' });
            else
              log.error({ eventId: f.event.id }, 'handler reported a failed event that is not in its batch');
          }
          return true;
        } catch (err) {
          if (retriable(err)) {
            const delay = backoffDelay(attempt, 200, 30_000);
            log.warn({ err, topic, partition, attempt, delayMs: delay }, 'batch handler failed; retrying');
            if (!(await pause(delay))) return false;
            continue;
          }
          if (items.length === 1) {
            dead.push({ message: items[0]!.message, error: err, stage: 'handler-threw' });
            return true;
          }
          log.warn(
            { err, topic, partition, events: items.length },
            'batch handler failed permanently; bisecting',
          );
          const mid = Math.ceil(items.length / 2);
          return (
            (await deliver(items.slice(0, mid), dead, false)) &&
            (await deliver(items.slice(mid), dead, false))
          );
        }
      }
    };

    /** Dead letters must be durable before the offsets move past them; retry through broker trouble. */
    const bury = async (dead: DeadLetter[]): Promise<boolean> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await o.sendDeadLetters(dead.map((d) => deadLetter(d, topic, partition)));
          log.warn(
            { topic, partition, count: dead.length, first: errorText(dead[0]!.error) },
            'messages sent to the dead-letter topic',
          );
          return true;
        } catch (err) {
          log.warn({ err, attempt }, 'dead-letter send failed; retrying');
          if (!(await pause(backoffDelay(attempt, 200, 10_000)))) return false;
        }
      }
    };

    try {
      for (let i = 0; i < batch.messages.length; i += o.batchSize) {
        const slice = batch.messages.slice(i, i + o.batchSize);
        const items: Item[] = [];
        const dead: DeadLetter[] = [];
        for (const message of slice) {
          try {
            items.push({
              event: parseBusEvent(JSON.parse(message.value?.toString('utf8') ?? 'null')),
              message,
            });
          } catch (error) {
            dead.push({ message, error, stage: 'parse' });
          }
        }
        if (items.length && !(await deliver(items, dead))) return; // stopping: uncommitted, redelivered later
        if (dead.length && !(await bury(dead))) return;
        const last = slice[slice.length - 1]!.offset;
        resolveOffset(last);
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
        await heartbeat();
      }
    } catch (err) {
      // A non-kafkajs error escaping eachBatch would crash the consumer for good (kafkajs restarts only on
      // retriable errors); mark ours retriable so the group rejoins and redelivers from the last commit.
      if (err instanceof kafkajs.KafkaJSError) throw err;
      throw new kafkajs.KafkaJSError(err as Error, { retriable: true });
    }
  };

  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, Math.min(o.partitions, 4)),
    eachBatch,
  });

  let stopping: Promise<void> | undefined;
  return {
    // kafkajs waits for the running eachBatch, which notices isRunning() === false within a second.
    stop: () => {
      stopping ??= consumer.disconnect();
      return stopping;
    },
  };
}
