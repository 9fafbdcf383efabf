import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { IN_CI, tcpReachable } from './services.js';

/**
 * The three-node KRaft cluster of `scripts/kafka.sh cluster start` (brokers 39092-39094, node ids 1-3), for the
 * tests and benches that need the production shape: who leads a partition, who coordinates a group, who is the
 * active controller, and killing / restarting a node. Never the shared single broker.
 */
export const CLUSTER_BROKERS = (
  process.env.TEST_KAFKA_CLUSTER_BROKERS ?? '127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094'
).split(',');

const script = join(import.meta.dirname, '..', '..', 'scripts', 'kafka.sh');
const run = promisify(execFile);

/** All three nodes up; else throws under CI=true, warns and returns false locally. */
export async function clusterAvailable(): Promise<boolean> {
  const down: string[] = [];
  for (const hp of CLUSTER_BROKERS) {
    const [h, p] = hp.split(':');
    if (!(await tcpReachable(h!, Number(p)))) down.push(hp);
  }
  if (!down.length) return true;
  const msg = `the three-broker Kafka cluster is not reachable at ${down.join(', ')}; start it with \`bash scripts/kafka.sh cluster start\``;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  console.warn(`skipping: ${msg}`);
  return false;
}

export function clusterAdmin(): kafkajs.Admin {
  return new kafkajs.Kafka({
    clientId: 'cluster-probe',
    brokers: CLUSTER_BROKERS,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
}

/** Kafka's own choice: partition abs(groupId.hashCode()) % offsets.topic.num.partitions of __consumer_offsets. */
export function offsetsPartition(groupId: string, partitions = 10): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(31, h) + groupId.charCodeAt(i)) | 0;
  return (h & 0x7fffffff) % partitions;
}

export async function leaderOf(admin: kafkajs.Admin, topic: string, partition: number): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const p = meta.topics[0]?.partitions.find((x) => x.partitionId === partition);
  if (!p || p.leader < 0) throw new Error(`${topic}[${partition}] has no leader`);
  return p.leader;
}

/** The node coordinating a consumer group: the leader of the group's __consumer_offsets partition. */
export const coordinatorOf = (admin: kafkajs.Admin, groupId: string) =>
  leaderOf(admin, '__consumer_offsets', offsetsPartition(groupId));

/**
 * The active KRaft controller (node 1-3). Not describeCluster(): in KRaft mode Metadata names a random broker as
 * "controller", so the script reads the Raft leader from the nodes' logs.
 */
export async function activeController(): Promise<number> {
  const { stdout } = await run('bash', [script, 'cluster', 'controller'], { env: process.env });
  return Number(stdout.trim());
}

/** SIGKILL one node (its process dies as in a power cut). */
export async function killNode(node: number): Promise<void> {
  await run('bash', [script, 'cluster', 'kill', String(node)], { env: process.env });
}

/** Starts the nodes that are down and waits until all three answer with all three brokers registered. */
export async function startCluster(): Promise<void> {
  await run('bash', [script, 'cluster', 'start'], { env: process.env, timeout: 180_000 });
}
