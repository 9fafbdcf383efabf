import kafkajs, {
  type Consumer,
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
import { withTimeout } from './kafka-producer.js';

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
  /** An offset commit taking longer than this is abandoned and the consumer rebuilt (default 5 s). */
  commitTimeoutMs?: number;
}

export type RebuildReason =
  | 'commit-failed'
  | 'commit-timeout'
  | 'heartbeat-stalled'
  | 'join-stalled'
  | 'crashed';

/** What /metrics shows about the consumer: how often it was rebuilt, when it last committed, how long it is stuck. */
export interface ConsumerHealth {
  rebuilds: Partial<Record<RebuildReason, number>>;
  /** Epoch ms of the last successful offset commit. */
  lastCommitAt?: number;
  /** Seconds the oldest fetched-but-uncommitted batch has waited (also across a rebuild); 0 when flowing or idle. */
  stalledSeconds: number;
}

export interface KafkaSubscription extends Subscription {
  health(): ConsumerHealth;
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

/** Protocol error types and error names anywhere in a kafkajs error chain (its retrier wraps the answer). */
function errorTypes(err: unknown): string[] {
  const out: string[] = [];
  for (
    let e = err as { type?: string; name?: string; cause?: unknown } | undefined, n = 0;
    e && n < 10;
    n++
  ) {
    if (e.type) out.push(e.type);
    if (e.name) out.push(e.name);
    e = e.cause as typeof e;
  }
  return out;
}

/**
 * The consumer is talking to the wrong or a dead coordinator: only a new look-up helps, which kafkajs' offset
 * manager never does. Other commit errors (COORDINATOR_NOT_AVAILABLE while __consumer_offsets lacks in-sync
 * replicas, a coordinator still loading) come from the right coordinator: routing goes on, and the next commit
 * of the partition covers the offsets this one could not store.
 */
const WRONG_COORDINATOR = new Set([
  'NOT_COORDINATOR_FOR_GROUP',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
]);

/** The group moved on (a rebalance): kafkajs rejoins by itself when it sees these, with their type intact. */
const REBALANCE = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);
function rebalanceError(err: unknown): Error | undefined {
  for (let e = err as { type?: string; cause?: unknown } | undefined, n = 0; e && n < 10; n++) {
    if (e.type && REBALANCE.has(e.type)) return e as Error;
    e = e.cause as typeof e;
  }
  return undefined;
}

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
 * The broker's minimum (group.min.session.timeout.ms): a member that died with its coordinator is dropped by the
 * new coordinator after this long, and until then the group cannot rebalance without it. Slow handlers are
 * safe: we heartbeat every second while they run. Heartbeats failing longer than this mean the group has
 * dropped us.
 */
const SESSION_TIMEOUT_MS = 6_000;
const HEARTBEAT_STALL_MS = SESSION_TIMEOUT_MS + 2_000;
/** A (re)join that takes longer than this is given up and the consumer rebuilt. */
const JOIN_STALL_MS = 30_000;
const DISCONNECT_TIMEOUT_MS = 5_000;

/** One kafkajs consumer; replaced as a whole when it stops talking to the right coordinator. */
interface Generation {
  n: number;
  consumer: Consumer;
  retired: boolean;
  /** In the group (joined, not rebalancing or restarting). */
  joined: boolean;
  /** Since when the current join has been going on, or when it ended. */
  joiningSince: number;
  joinedAt: number;
  /** Last proof the coordinator knows us: a heartbeat, a join or a commit that succeeded. */
  aliveAt: number;
}

/**
 * Runs the consumer group. Per Kafka batch, in slices of batchSize: parse, hand valid events to the handler,
 * dead-letter what cannot be processed, then (and only then) resolve and commit the slice's offsets. The
 * handler returns after its database commit, so a crash anywhere before the offset commit means redelivery,
 * never loss. Nothing here lets a bad message block its partition.
 *
 * Coordinator loss. kafkajs 2.2.4 caches the group coordinator in its offset manager and, when that broker
 * dies or stops being the coordinator, keeps sending offset commits (and heartbeats) to it: a dead broker is
 * "found" again by its node id, and NOT_COORDINATOR only refreshes topic metadata. With the default retries a
 * commit hangs for minutes while the real coordinator drops the member from the group, so routing stops for
 * 2-2.5 minutes. Known and unfixed upstream (kafkajs is unmaintained): https://github.com/tulios/kafkajs/issues/1152
 * ("Consumer stuck in infinite loop during broker restart": manual commits fail with "not the correct
 * coordinator" until the application restarts) and the open fix https://github.com/tulios/kafkajs/pull/1779
 * ("OffsetManager does not re-discover the coordinator on coordinator change"). Our way around it:
 * - kafkajs' own retries are bounded (seconds, not minutes), and an offset commit gets commitTimeoutMs;
 * - a commit that fails on the wrong or a dead coordinator (NOT_COORDINATOR, connection errors), or takes
 *   too long, or a member whose heartbeats have not succeeded for longer than the session timeout, retires the
 *   whole kafkajs consumer: disconnect (bounded), then a new one (fresh metadata, FindCoordinator) joins the
 *   group again;
 * - a retired consumer never restarts itself (restartOnFailure) and never commits; its uncommitted batches are
 *   delivered again to whoever owns the partition next. Offsets are committed only after the database commit,
 *   so a rebuild can repeat events (the router ignores event ids it has seen) but never skips one.
 */
export async function startConsumer(o: ConsumerOptions): Promise<KafkaSubscription> {
  const log = o.logger.child({ component: 'kafka-consumer', groupId: o.groupId });
  const commitTimeoutMs = o.commitTimeoutMs ?? 5_000;
  // One router transaction at a time per instance; partitions fetched meanwhile share the next one.
  const gathered = groupCommit(o.handler, o.batchSize);

  let stopped = false;
  let current: Generation | undefined;
  let generations = 0;
  let rebuilding: Promise<void> | undefined;
  const rebuilds: Partial<Record<RebuildReason, number>> = {};
  let lastCommitAt: number | undefined;
  /** Start times of the slices being processed, and of slices a retired consumer left uncommitted. */
  const pending = new Set<{ since: number }>();
  let carried: number | undefined;

  const rebuild = (gen: Generation, reason: RebuildReason, err?: unknown): void => {
    if (stopped || gen.retired) return;
    gen.retired = true;
    rebuilds[reason] = (rebuilds[reason] ?? 0) + 1;
    log.warn(
      { err, reason, generation: gen.n },
      'rebuilding the kafka consumer (new coordinator look-up and rejoin)',
    );
    rebuilding = (async () => {
      // Bounded: leaving the group goes through the coordinator, which may be the broker that died.
      await withTimeout(gen.consumer.disconnect(), DISCONNECT_TIMEOUT_MS, 'kafka consumer disconnect').catch(
        (e: unknown) => log.warn({ err: e }, 'old consumer did not disconnect cleanly; going on'),
      );
      for (let attempt = 1; !stopped; attempt++) {
        try {
          // Bounded as well: a consumer that cannot join within JOIN_STALL_MS is given up and made again.
          current = await create(JOIN_STALL_MS);
          log.info({ generation: current.n }, 'kafka consumer rebuilt');
          return;
        } catch (e) {
          const delay = backoffDelay(attempt, 500, 5_000);
          log.warn({ err: e, attempt, delayMs: delay }, 'kafka consumer rebuild failed; retrying');
          await sleep(delay);
        }
      }
    })().finally(() => {
      rebuilding = undefined;
    });
  };

  const create = async (timeoutMs?: number): Promise<Generation> => {
    const consumer = o.kafka.consumer({
      groupId: o.groupId,
      allowAutoTopicCreation: false,
      // Short session: after a broker restart or a crashed instance, the group waits out the old member's
      // session before partitions move on. Slow handlers are safe: we heartbeat while they run (callHandler).
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: 1_000,
      // Short broker-side fetch wait: an idle poll per second is cheap, and stop() returns quickly.
      maxWaitTimeInMs: 1_000,
      // Bounded retries (seconds): kafkajs' defaults retry a commit against a dead coordinator for minutes.
      // A crash on a retriable error makes kafkajs restart this consumer (a fresh coordinator look-up), unless
      // it has been retired; the CRASH listener below rebuilds it when kafkajs gives up.
      retry: {
        retries: 3,
        initialRetryTime: 300,
        maxRetryTime: 2_000,
        restartOnFailure: async () => !gen.retired && !stopped,
      },
    });
    const gen: Generation = {
      n: ++generations,
      consumer,
      retired: false,
      joined: false,
      joiningSince: Date.now(),
      joinedAt: 0,
      aliveAt: Date.now(),
    };
    const { events } = consumer;
    consumer.on(events.HEARTBEAT, () => {
      gen.aliveAt = Date.now();
    });
    consumer.on(events.GROUP_JOIN, () => {
      gen.joined = true;
      gen.joinedAt = gen.aliveAt = Date.now();
    });
    consumer.on(events.REBALANCING, () => {
      gen.joined = false;
      gen.joiningSince = Date.now();
    });
    consumer.on(events.CRASH, ({ payload }) => {
      gen.joined = false;
      gen.joiningSince = Date.now();
      if (gen.retired || stopped) return;
      const level = payload.restart ? 'warn' : 'error';
      log[level](
        { err: payload.error, restart: payload.restart, generation: gen.n },
        'kafka consumer crashed',
      );
      if (!payload.restart) rebuild(gen, 'crashed', payload.error);
    });
    const starting = async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
      // Resolves once the first join has been tried (kafkajs restarts a failed one by itself).
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every partition of a fetch is handed over at once, so groupCommit puts them in one transaction: with
        // 4 of 6 at a time, a fetch took two or three transactions in turn and a new contact waited for them
        // (ROLE=all at 1,000/s: 202 -> transaction start p50 56 ms, 12 ms this way; bench/README.md).
        partitionsConsumedConcurrently: Math.max(1, Math.min(o.partitions, 16)),
        eachBatch: (p) => eachBatch(gen, p),
      });
    };
    try {
      await (timeoutMs ? withTimeout(starting(), timeoutMs, 'Kafka consumer start') : starting());
    } catch (err) {
      gen.retired = true;
      await withTimeout(consumer.disconnect(), DISCONNECT_TIMEOUT_MS, 'disconnect').catch(() => {});
      throw err;
    }
    return gen;
  };

  /** Commits after the database commit; false when this consumer was retired instead (the batch comes again). */
  const commit = async (
    gen: Generation,
    topic: string,
    partition: number,
    next: string,
  ): Promise<boolean> => {
    try {
      await withTimeout(
        gen.consumer.commitOffsets([{ topic, partition, offset: next }]),
        commitTimeoutMs,
        'Kafka offset commit',
      );
    } catch (err) {
      const rebalance = rebalanceError(err);
      if (rebalance) throw rebalance; // kafkajs rejoins; the partition's next owner gets the slice again
      const timedOut = err instanceof Error && err.message.startsWith('Kafka offset commit timed out');
      const types = errorTypes(err);
      log.warn({ err, errorTypes: types, topic, partition }, 'offset commit failed');
      if (timedOut || types.some((t) => WRONG_COORDINATOR.has(t))) {
        rebuild(gen, timedOut ? 'commit-timeout' : 'commit-failed', err);
        return false;
      }
      return !gen.retired; // routed and in the database; only the offset waits for the next commit
    }
    if (gen.retired) return false;
    lastCommitAt = Date.now();
    gen.aliveAt = lastCommitAt;
    carried = undefined;
    return true;
  };

  const eachBatch = async (gen: Generation, p: EachBatchPayload): Promise<void> => {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = p;
    const { topic, partition } = batch;
    if (gen.retired || stopped) {
      // A retired consumer must not hold partitions: end it (restartOnFailure keeps it down).
      throw new kafkajs.KafkaJSError('consumer retired', { retriable: false });
    }
    const active = () => isRunning() && !isStale() && !gen.retired && !stopped;
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

    const slot = { since: Date.now() };
    pending.add(slot);
    let finished = false;
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
        if (!active()) return; // retired or revoked meanwhile: whoever owns the partition gets the slice again
        const last = slice[slice.length - 1]!.offset;
        resolveOffset(last);
        if (!(await commit(gen, topic, partition, (BigInt(last) + 1n).toString()))) return;
        slot.since = Date.now();
        await heartbeat();
      }
      finished = true;
    } catch (err) {
      // A non-kafkajs error escaping eachBatch would crash the consumer for good (kafkajs restarts only on
      // retriable errors); mark ours retriable so the group rejoins and redelivers from the last commit.
      if (err instanceof kafkajs.KafkaJSError) throw err;
      throw new kafkajs.KafkaJSError(err as Error, { retriable: true });
    } finally {
      pending.delete(slot);
      // Left uncommitted by a retired consumer: still waiting to be routed, so the stall goes on.
      if (!finished && gen.retired && !stopped) carried = Math.min(carried ?? slot.since, slot.since);
    }
  };

  // Watchdog: heartbeats that stopped succeeding (the coordinator died while we were idle or mid-batch), or a
  // join that never ends, retire the consumer. kafkajs would only notice after its own retries, if ever.
  const watchdog = setInterval(() => {
    const gen = current;
    if (!gen || gen.retired || stopped || rebuilding) return;
    const now = Date.now();
    if (gen.joined && now - gen.aliveAt > HEARTBEAT_STALL_MS) rebuild(gen, 'heartbeat-stalled');
    else if (!gen.joined && now - gen.joiningSince > JOIN_STALL_MS) rebuild(gen, 'join-stalled');
    // Back in the group with nothing waiting: what a retired consumer left was routed elsewhere.
    else if (gen.joined && carried !== undefined && pending.size === 0 && now - gen.joinedAt > 3_000)
      carried = undefined;
  }, 1_000);
  watchdog.unref();

  try {
    current = await create();
  } catch (err) {
    clearInterval(watchdog);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    health: () => {
      const now = Date.now();
      const oldest = Math.min(carried ?? now, ...[...pending].map((s) => s.since));
      return { rebuilds: { ...rebuilds }, lastCommitAt, stalledSeconds: (now - oldest) / 1000 };
    },
    // kafkajs waits for the running eachBatch, which notices isRunning() === false within a second.
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(watchdog);
        await rebuilding;
        await current?.consumer.disconnect();
      })();
      return stopping;
    },
  };
}
