import kafkajs, { type Admin, type Message } from 'kafkajs';
import { type BusEvent, busEventKey, validForPublish } from '../event/bus-event.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { type Bus, type Subscription, TOPIC_DEAD_LETTER, TOPIC_INBOUND } from './bus.js';
import { type ConsumerHealth, type KafkaSubscription, startConsumer } from './kafka-consumer.js';
import { KAFKA_LOG_LEVELS, type KafkaLogLevel, pinoLogCreator } from './kafka-log.js';
import { busUnavailable, ProducerQueue, withTimeout } from './kafka-producer.js';
import { defaultMinInsyncReplicas, durabilityProblems, ensureTopics } from './kafka-topics.js';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  partitions: number;
  replicationFactor: number;
  /** Set on the topics the service creates and required of existing ones (default min(2, replicationFactor)). */
  minInsyncReplicas?: number;
  /** How long start() waits for a forming cluster and for new topics to have leaders (default 60 s). */
  topicWaitMs?: number;
  /** Applied to both topics and the consumer group, so deployments and test runs can share a cluster. */
  topicPrefix: string;
  logger: Logger;
  /** Max events per handler call (default 500). */
  batchSize?: number;
  /** kafkajs' own log level (default warn). */
  kafkaLogLevel?: KafkaLogLevel;
  /** Publish micro-batching linger in ms (default 2). */
  lingerMs?: number;
  /** Bound on connecting and on one send, in ms (default 5000). */
  timeoutMs?: number;
}

export interface KafkaBus extends Bus {
  readonly kind: 'kafka';
  readonly topics: { inbound: string; deadLetter: string };
  readonly groupId: string;
  /** The consumers' state for /metrics (summed over this process' subscriptions); undefined without any. */
  consumerHealth(): ConsumerHealth | undefined;
}

const READY_CACHE_MS = 1_000;

export function createKafkaBus(opts: KafkaBusOptions): KafkaBus {
  const log = opts.logger.child({ component: 'kafka-bus' });
  const topics = {
    inbound: opts.topicPrefix + TOPIC_INBOUND,
    deadLetter: opts.topicPrefix + TOPIC_DEAD_LETTER,
  };
  const groupId = opts.topicPrefix + opts.groupId;
  const minInsyncReplicas = opts.minInsyncReplicas ?? defaultMinInsyncReplicas(opts.replicationFactor);
  const unsafe = durabilityProblems(opts.replicationFactor, minInsyncReplicas);
  if (unsafe.length) throw new AppError('CONFIG', `unsafe Kafka settings: ${unsafe.join('; ')}`);
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const kafka = new kafkajs.Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    // Short timeouts and few retries: an unreachable broker must surface as a 503 within seconds.
    connectionTimeout: 1_000,
    requestTimeout: timeoutMs,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: KAFKA_LOG_LEVELS[opts.kafkaLogLevel ?? 'warn'],
    logCreator: pinoLogCreator(opts.logger),
  });
  const producer = new ProducerQueue({ kafka, logger: log, lingerMs: opts.lingerMs, timeoutMs });
  const admin: Admin = kafka.admin();
  const subscriptions = new Set<Subscription>();
  const consumers = new Set<KafkaSubscription>();
  let adminConnected: Promise<void> | undefined;
  let started: Promise<void> | undefined;
  let readyCache: { at: number; value: Promise<boolean> } | undefined;
  let closed = false;

  const connectAdmin = (): Promise<void> => {
    if (!adminConnected) {
      const attempt = withTimeout(admin.connect(), timeoutMs, 'Kafka admin connect');
      adminConnected = attempt;
      attempt.catch(() => {
        if (adminConnected === attempt) adminConnected = undefined;
      });
    }
    return adminConnected;
  };

  const encode = (input: BusEvent): Message => {
    // A connector bug must be refused at the door, not poison the topic for every consumer. What a builder
    // validated in this process is not validated twice (event/validated.ts); anything else is, here.
    let e: BusEvent;
    try {
      e = validForPublish(input);
    } catch (cause) {
      throw new AppError('INTERNAL', `refusing to publish an invalid event: ${(cause as Error).message}`, {
        cause,
      });
    }
    return {
      key: busEventKey(e),
      value: JSON.stringify(e),
      headers: {
        'event-id': e.id,
        schema: e.schema,
        'schema-version': String(e.version),
        channel: e.channel,
      },
    };
  };

  const bus: KafkaBus = {
    kind: 'kafka',
    topics,
    groupId,

    start() {
      if (closed) return Promise.reject(busUnavailable(new Error('bus is closed')));
      started ??= (async () => {
        await connectAdmin();
        await ensureTopics({
          admin,
          logger: log,
          waitMs: opts.topicWaitMs,
          spec: {
            topics: [topics.inbound, topics.deadLetter],
            partitions: opts.partitions,
            replicationFactor: opts.replicationFactor,
            minInsyncReplicas,
          },
        });
        await producer.connect();
      })().catch((err) => {
        started = undefined; // let a later call try again
        // Topics that endanger accepted contacts are a configuration problem, not an outage: no 503 wrapping.
        if (err instanceof AppError && err.code === 'CONFIG') throw err;
        throw busUnavailable(err, 'Kafka is not available');
      });
      return started;
    },

    async publish(events) {
      if (events.length === 0) return;
      const messages = events.map(encode); // all or nothing: validate everything before sending anything
      await producer.send(topics.inbound, messages);
    },

    async subscribe(handler) {
      await bus.start();
      const sub = await startConsumer({
        kafka,
        logger: opts.logger, // the consumer names its own component
        groupId,
        topic: topics.inbound,
        partitions: opts.partitions,
        batchSize: opts.batchSize ?? 500,
        sendDeadLetters: (messages) => producer.send(topics.deadLetter, messages),
        handler,
      });
      consumers.add(sub);
      const tracked: Subscription = {
        stop: async () => {
          subscriptions.delete(tracked);
          consumers.delete(sub);
          await sub.stop();
        },
      };
      subscriptions.add(tracked);
      return tracked;
    },

    consumerHealth() {
      if (!consumers.size) return undefined;
      const all = [...consumers].map((c) => c.health());
      const rebuilds: ConsumerHealth['rebuilds'] = {};
      for (const h of all)
        for (const [reason, n] of Object.entries(h.rebuilds) as [keyof typeof rebuilds, number][])
          rebuilds[reason] = (rebuilds[reason] ?? 0) + n;
      const commits = all.map((h) => h.lastCommitAt).filter((t): t is number => t !== undefined);
      return {
        rebuilds,
        lastCommitAt: commits.length ? Math.max(...commits) : undefined,
        stalledSeconds: Math.max(...all.map((h) => h.stalledSeconds)),
      };
    },

    ready() {
      if (closed) return Promise.resolve(false);
      const now = Date.now();
      // /readyz may be polled often and by several probes at once: share one check per second.
      if (readyCache && now - readyCache.at < READY_CACHE_MS) return readyCache.value;
      const check = async () => {
        await producer.connect();
        await connectAdmin();
        await admin.describeCluster();
        return producer.isConnected;
      };
      const value = withTimeout(check(), 2_000, 'Kafka readiness').catch(() => false);
      readyCache = { at: now, value };
      return value;
    },

    async close() {
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.stop()));
      await producer.close();
      await admin.disconnect().catch(() => {});
    },
  };
  return bus;
}
