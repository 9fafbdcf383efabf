import kafkajs, { type Admin } from 'kafkajs';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { backoffDelay, sleep } from '../lib/retry.js';

/**
 * Events may carry up to ~1 MB of text plus a 256 KiB raw payload (≈3 MB of UTF-8 JSON at worst); the broker's
 * 1 MB default would reject them, and a rejected send fails every publish merged into it.
 */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** The producer always waits for every in-sync replica (bus/kafka-producer.ts); not configurable on purpose. */
export const PRODUCER_ACKS = -1;

export interface TopicSpec {
  topics: string[];
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
}

/** What `min(2, replication factor)` gives: an ack then always means two copies, when there can be two. */
export const defaultMinInsyncReplicas = (replicationFactor: number) => Math.min(2, replicationFactor);

/**
 * The durability rule, shared by the configuration check (app/config.ts) and the check of existing topics:
 * with three or more replicas an acknowledged event must be on at least two of them, and a min ISR above the
 * replication factor would refuse every write. Returns the problems, empty when the pair is acceptable.
 */
export function durabilityProblems(
  replicationFactor: number,
  minInsyncReplicas: number,
  acks: number = PRODUCER_ACKS,
): string[] {
  const out: string[] = [];
  if (minInsyncReplicas > replicationFactor)
    out.push(
      `min.insync.replicas ${minInsyncReplicas} is larger than the replication factor ${replicationFactor}: every write would be refused`,
    );
  if (replicationFactor >= 3 && minInsyncReplicas < 2)
    out.push(
      `min.insync.replicas ${minInsyncReplicas} with replication factor ${replicationFactor} lets an accepted contact live on a single replica; use at least 2`,
    );
  if (replicationFactor >= 3 && acks !== -1)
    out.push(
      `producer acks ${acks} lets an accepted contact live on a single replica; acks must be -1 (all)`,
    );
  return out;
}

/** One difference between an existing topic and the configuration. */
export interface TopicMismatch {
  topic: string;
  setting: string;
  configured: string;
  actual: string;
  /** fatal: the service refuses to start; warn: reported, start continues. */
  severity: 'fatal' | 'warn';
  why: string;
}

export interface TopicState {
  topic: string;
  partitions: number;
  /** Smallest replica count over the partitions. */
  replicationFactor: number;
  configs: Record<string, string | undefined>;
}

const CHECKED_CONFIGS = ['min.insync.replicas', 'max.message.bytes', 'unclean.leader.election.enable'];

/** Compares what a topic is with what the configuration asks for. Pure, so it is unit-tested on its own. */
export function compareTopic(spec: TopicSpec, state: TopicState): TopicMismatch[] {
  const out: TopicMismatch[] = [];
  const { topic } = state;
  const minIsr = Number(state.configs['min.insync.replicas'] ?? Number.NaN);
  const maxBytes = Number(state.configs['max.message.bytes'] ?? Number.NaN);
  if (state.partitions !== spec.partitions)
    out.push({
      topic,
      setting: 'partitions (KAFKA_TOPIC_PARTITIONS)',
      configured: String(spec.partitions),
      actual: String(state.partitions),
      severity: 'warn',
      why: 'the service never changes an existing topic: adding partitions moves keys (and so one client’s order) to other partitions',
    });
  if (state.replicationFactor < spec.replicationFactor)
    out.push({
      topic,
      setting: 'replication factor (KAFKA_REPLICATION_FACTOR)',
      configured: String(spec.replicationFactor),
      actual: String(state.replicationFactor),
      severity: 'fatal',
      why: 'fewer copies than configured; reassign the partitions (kafka-reassign-partitions.sh) or lower the setting',
    });
  if (Number.isFinite(minIsr) && minIsr < spec.minInsyncReplicas)
    out.push({
      topic,
      setting: 'min.insync.replicas (KAFKA_MIN_INSYNC_REPLICAS)',
      configured: String(spec.minInsyncReplicas),
      actual: String(minIsr),
      severity: 'fatal',
      why: `an acknowledged contact could live on fewer replicas than configured; fix with kafka-configs.sh --alter --entity-type topics --entity-name ${topic} --add-config min.insync.replicas=${spec.minInsyncReplicas}`,
    });
  if (Number.isFinite(minIsr))
    for (const problem of durabilityProblems(state.replicationFactor, minIsr))
      out.push({
        topic,
        setting: 'min.insync.replicas / replication factor',
        configured: `replication factor ${spec.replicationFactor}, min.insync.replicas ${spec.minInsyncReplicas}`,
        actual: `replication factor ${state.replicationFactor}, min.insync.replicas ${minIsr}`,
        severity: 'fatal',
        why: problem,
      });
  if (Number.isFinite(maxBytes) && maxBytes < MAX_MESSAGE_BYTES)
    out.push({
      topic,
      setting: 'max.message.bytes',
      configured: String(MAX_MESSAGE_BYTES),
      actual: String(maxBytes),
      severity: 'fatal',
      why: `events up to ${MAX_MESSAGE_BYTES} bytes would be refused; fix with kafka-configs.sh --alter --entity-type topics --entity-name ${topic} --add-config max.message.bytes=${MAX_MESSAGE_BYTES}`,
    });
  if (state.configs['unclean.leader.election.enable'] === 'true')
    out.push({
      topic,
      setting: 'unclean.leader.election.enable',
      configured: 'false',
      actual: 'true',
      severity: 'fatal',
      why: 'a replica that missed acknowledged writes could become leader and drop them',
    });
  return out;
}

export const describeMismatch = (m: TopicMismatch) =>
  `${m.topic}: ${m.setting} is ${m.actual}, configured ${m.configured} (${m.why})`;

/** Errors a cluster gives while it is still forming or still spreading a new topic: wait and ask again. */
const PROPAGATING = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_CONTROLLER',
  'INVALID_REPLICATION_FACTOR', // "only 2 broker(s) are registered" right after the cluster starts
  'BROKER_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
]);

const errorTypes = (err: unknown): string[] => {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown) => {
    if (!e || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const x = e as { type?: string; errors?: unknown[]; cause?: unknown; originalError?: unknown };
    if (x.type) out.push(x.type);
    for (const inner of x.errors ?? []) walk(inner);
    walk(x.cause);
    walk(x.originalError);
  };
  walk(err);
  return out;
};

/** Permanent answers: retrying cannot help (bad name, no permission, a policy refusing our settings). */
const PERMANENT = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'POLICY_VIOLATION',
  'INVALID_CONFIG',
]);

export interface EnsureTopicsOptions {
  admin: Admin;
  logger: Logger;
  spec: TopicSpec;
  /** How long to wait for a forming cluster and for new topics to get leaders everywhere (default 60 s). */
  waitMs?: number;
}

/**
 * Creates the missing topics with the configured partitions, replication and durability, waits until every
 * broker's metadata shows every partition with a leader (a new topic reaches the brokers of a KRaft cluster a
 * moment after the controller accepted it, and kafkajs' own `waitForLeaders` gives up on the first
 * UNKNOWN_TOPIC_OR_PARTITION), then checks the existing topics against the configuration. Never alters an
 * existing topic: differences are reported, and the ones that endanger an accepted contact stop the start.
 */
export async function ensureTopics(o: EnsureTopicsOptions): Promise<TopicMismatch[]> {
  const { admin, spec } = o;
  const deadline = Date.now() + (o.waitMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await createMissing(o);
      const states = await readTopics(admin, spec);
      const mismatches = states.flatMap((s) => compareTopic(spec, s));
      for (const m of mismatches.filter((x) => x.severity === 'warn'))
        o.logger.warn({ ...m }, `kafka topic differs from the configuration: ${describeMismatch(m)}`);
      const fatal = mismatches.filter((m) => m.severity === 'fatal');
      if (fatal.length)
        throw new AppError(
          'CONFIG',
          `Kafka topics do not have the settings this service needs:\n  ${fatal.map(describeMismatch).join('\n  ')}`,
        );
      return mismatches;
    } catch (err) {
      if (err instanceof AppError) throw err;
      const types = errorTypes(err);
      const permanent = types.some((t) => PERMANENT.has(t));
      if (permanent || Date.now() >= deadline) {
        const why = (err as Error).message;
        throw new Error(
          permanent
            ? `Kafka refused the topics ${spec.topics.join(', ')}: ${why}`
            : `Kafka topics ${spec.topics.join(', ')} not ready after ${o.waitMs ?? 60_000} ms: ${why}`,
          { cause: err },
        );
      }
      const delay = backoffDelay(attempt, 200, 2_000);
      const known = types.some((t) => PROPAGATING.has(t));
      o.logger[known ? 'info' : 'warn'](
        { err, attempt, delayMs: delay, errorTypes: types },
        'kafka topics not ready yet; retrying',
      );
      await sleep(delay);
    }
  }
}

/**
 * Our topics that do not exist. Asked topic by topic, not with listTopics(): kafkajs fails a metadata request
 * for all topics when any topic of the cluster has a partition without a leader (another application's topic
 * with one replica on a broker that is down), and that must not stop this service from starting.
 */
async function missingTopics(admin: Admin, topics: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const topic of topics) {
    try {
      await admin.fetchTopicMetadata({ topics: [topic] });
    } catch (err) {
      if (errorTypes(err).includes('UNKNOWN_TOPIC_OR_PARTITION')) missing.push(topic);
      else throw err; // e.g. a leader election in progress: the topic exists; retried by the caller
    }
  }
  return missing;
}

async function createMissing(o: EnsureTopicsOptions): Promise<void> {
  const { admin, spec } = o;
  const missing = await missingTopics(admin, spec.topics);
  if (!missing.length) return;
  // waitForLeaders: false — we wait ourselves (readTopics), tolerating the brokers that have not heard yet.
  // Another process starting at the same moment may win the race: TOPIC_ALREADY_EXISTS is success.
  const created = await admin.createTopics({
    waitForLeaders: false,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: spec.partitions,
      replicationFactor: spec.replicationFactor,
      configEntries: [
        { name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) },
        { name: 'min.insync.replicas', value: String(spec.minInsyncReplicas) },
        { name: 'unclean.leader.election.enable', value: 'false' },
      ],
    })),
  });
  if (created)
    o.logger.info(
      {
        topics: missing,
        partitions: spec.partitions,
        replicationFactor: spec.replicationFactor,
        minInsyncReplicas: spec.minInsyncReplicas,
      },
      'created kafka topics',
    );
}

/** Partitions, replicas and settings of our topics; throws (to be retried) until every partition has a leader. */
async function readTopics(admin: Admin, spec: TopicSpec): Promise<TopicState[]> {
  const meta = await admin.fetchTopicMetadata({ topics: spec.topics });
  for (const t of meta.topics) {
    const leaderless = t.partitions.filter((p) => p.leader < 0).map((p) => p.partitionId);
    if (!t.partitions.length || leaderless.length)
      throw Object.assign(
        new Error(`topic ${t.name}: partitions without a leader: ${leaderless.join(',')}`),
        {
          type: 'LEADER_NOT_AVAILABLE',
        },
      );
  }
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: spec.topics.map((name) => ({
      type: kafkajs.ConfigResourceTypes.TOPIC,
      name,
      configNames: CHECKED_CONFIGS,
    })),
  });
  return spec.topics.map((topic) => {
    const t = meta.topics.find((x) => x.name === topic);
    const r = described.resources.find((x) => x.resourceName === topic);
    if (!t || !r || r.errorCode !== 0)
      throw Object.assign(new Error(`no metadata or settings for topic ${topic} yet`), {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
      });
    return {
      topic,
      partitions: t.partitions.length,
      replicationFactor: Math.min(...t.partitions.map((p) => p.replicas.length)),
      configs: Object.fromEntries(r.configEntries.map((c) => [c.configName, c.configValue])),
    };
  });
}
