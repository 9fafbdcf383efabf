import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', 'kafka.sh');

/**
 * Control of a three-node KRaft cluster started by `scripts/kafka.sh cluster` (node ids 1-3, brokers on
 * port..port+2, controllers on port+100..port+102): which node leads a partition, coordinates a group or is the
 * active controller, and stopping, killing and starting nodes. Used by the cluster test and the fault bench;
 * `port` and `dir` keep a bench's cluster apart from a developer's (default 29192, <repo>/.kafka-cluster).
 */
export class KafkaCluster {
  readonly port: number;
  readonly brokers: string[];
  readonly nodeIds = [1, 2, 3];

  constructor(private readonly o: { port?: number; dir?: string; heap?: string } = {}) {
    this.port = o.port ?? 29192;
    this.brokers = this.nodeIds.map((i) => `127.0.0.1:${this.port + i - 1}`);
  }

  /** Runs `scripts/kafka.sh cluster <args>` for this cluster; resolves with its stdout. */
  async script(...args: string[]): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_CLUSTER_PORT: String(this.port) };
    if (this.o.dir) env.KAFKA_CLUSTER_DIR = this.o.dir;
    if (this.o.heap) env.KAFKA_CLUSTER_HEAP_OPTS = this.o.heap;
    env.KAFKA_START_TIMEOUT ??= '180';
    const { stdout } = await run('bash', [SCRIPT, 'cluster', ...args], {
      env,
      timeout: 300_000,
      maxBuffer: 10 * 1024 * 1024,
    });
    return stdout;
  }

  /** Starts the nodes that are down; resolves when every node answers with all three brokers registered. */
  start = () => this.script('start').then(() => undefined);
  /** SIGKILL: the node dies as in a power cut. */
  kill = (node: number) => this.script('kill', String(node)).then(() => undefined);
  /** Controlled shutdown (SIGTERM) of one node, or of all. */
  stop = (node?: number) => this.script('stop', ...(node ? [String(node)] : [])).then(() => undefined);
  /** Stops every node and deletes the cluster's data. */
  reset = () => this.script('reset').then(() => undefined);

  /**
   * The active KRaft controller. Not from Metadata: in KRaft mode it names a random broker as "controller", so
   * the script reads the Raft leader from the nodes' logs.
   */
  async controller(): Promise<number> {
    return Number((await this.script('controller')).trim());
  }

  admin(): kafkajs.Admin {
    return new kafkajs.Kafka({
      clientId: 'cluster-probe',
      brokers: this.brokers,
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin();
  }

  async withAdmin<T>(fn: (admin: kafkajs.Admin) => Promise<T>): Promise<T> {
    const admin = this.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  leaderOf(topic: string, partition: number, admin?: kafkajs.Admin): Promise<number> {
    return admin ? leaderOf(admin, topic, partition) : this.withAdmin((a) => leaderOf(a, topic, partition));
  }

  /** The node coordinating a consumer group: the leader of the group's __consumer_offsets partition. */
  coordinatorOf(groupId: string, admin?: kafkajs.Admin): Promise<number> {
    return this.leaderOf('__consumer_offsets', offsetsPartition(groupId), admin);
  }
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

/**
 * The cluster in the shape of the fault bench's BusInfrastructure seam (bench/faults/bus-infrastructure.ts, being
 * built on another branch; structurally typed, so nothing is imported): three KRaft nodes on ports and a data
 * directory of their own, replication factor 3, min.insync.replicas 2; the cluster faults use the look-ups to
 * pick the partition leader, the active controller or the group coordinator to kill.
 */
export class ClusterInfrastructure {
  readonly description: string;
  readonly cluster: KafkaCluster;

  constructor(private readonly o: { port: number; stateDir: string; heap?: string }) {
    this.cluster = new KafkaCluster({ port: o.port, dir: o.stateDir, heap: o.heap ?? '-Xms256m -Xmx384m' });
    this.description = `3 Kafka brokers (KRaft, broker + controller each) on 127.0.0.1:${o.port}-${o.port + 2}, RF 3, min.insync.replicas 2`;
  }

  /** Every port the cluster listens on (brokers and controllers), for a free-port check before start. */
  ports = () => this.cluster.nodeIds.flatMap((i) => [this.o.port + i - 1, this.o.port + 100 + i - 1]);
  start = () => this.cluster.start();
  destroy = async () => {
    await this.cluster.reset().catch(() => {});
    rmSync(this.o.stateDir, { recursive: true, force: true });
  };
  brokers = () => this.cluster.brokers;
  brokerIds = () => this.cluster.nodeIds;
  stopBroker = (id: number, how: 'graceful' | 'kill') =>
    how === 'kill' ? this.cluster.kill(id) : this.cluster.stop(id);
  /** Starts whatever node is down and waits until all three answer. */
  startBroker = (_id: number) => this.cluster.start();
  serviceEnv = () => ({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' });
  leaderOf = (topic: string, partition: number) => this.cluster.leaderOf(topic, partition);
  controller = () => this.cluster.controller();
  coordinatorOf = (groupId: string) => this.cluster.coordinatorOf(groupId);
}
