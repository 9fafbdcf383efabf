import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { ROOT } from '../service-process.js';

const run = promisify(execFile);

/**
 * The Kafka the fault test runs against, behind one small interface so the same load, faults and checks run
 * on one broker (SingleKafkaBroker, the default) or on a cluster (a three-broker KRaft cluster plugs in here:
 * it implements the same methods over its brokers, and the cluster-aware faults use the look-up hooks to pick
 * the partition leader, the active controller or the group coordinator to kill).
 */
export interface BusInfrastructure {
  /** Shown in the report, e.g. "1 broker (KRaft) on 127.0.0.1:39092". */
  readonly description: string;
  /** Starts every broker; resolves when the cluster answers metadata requests. */
  start(): Promise<void>;
  /** Stops every broker and removes what start() created (data directories). */
  destroy(): Promise<void>;
  /** Bootstrap list for the service's KAFKA_BROKERS. */
  brokers(): string[];
  /** Every port it listens on (brokers and controllers), for the free-port check before start. */
  ports(): number[];
  /** Node ids of the brokers (1..n). */
  brokerIds(): number[];
  /** Stops one broker: 'graceful' is a controlled shutdown (SIGTERM), 'kill' is SIGKILL. */
  stopBroker(id: number, how: 'graceful' | 'kill'): Promise<void>;
  /** Starts a stopped broker again; resolves when it answers. */
  startBroker(id: number): Promise<void>;
  /** Environment the service needs on this infrastructure (replication factor, topic settings). */
  serviceEnv(): Record<string, string>;
  /** Look-up hooks for cluster faults. */
  leaderOf(topic: string, partition: number): Promise<number>;
  controller(): Promise<number>;
  coordinatorOf(groupId: string): Promise<number>;
}

/** Metadata look-ups over kafkajs, shared by implementations. */
export async function withAdmin<T>(brokers: string[], fn: (admin: kafkajs.Admin) => Promise<T>): Promise<T> {
  const admin = new kafkajs.Kafka({
    clientId: 'fault-test',
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 2 },
  }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * One KRaft node (broker + controller) started with the project's scripts/kafka.sh on ports and a state
 * directory of its own, so the shared development broker is never touched.
 */
export class SingleKafkaBroker implements BusInfrastructure {
  readonly description: string;
  constructor(private readonly o: { port: number; controllerPort: number; stateDir: string; heap?: string }) {
    this.description = `1 Kafka broker (KRaft, scripts/kafka.sh) on 127.0.0.1:${o.port}`;
  }

  private async script(cmd: 'start' | 'stop'): Promise<void> {
    await run('bash', [join(ROOT, 'scripts', 'kafka.sh'), cmd], {
      env: {
        ...process.env,
        KAFKA_PORT: String(this.o.port),
        KAFKA_CONTROLLER_PORT: String(this.o.controllerPort),
        KAFKA_STATE_DIR: this.o.stateDir,
        KAFKA_HEAP_OPTS: this.o.heap ?? '-Xms256m -Xmx384m',
        KAFKA_START_TIMEOUT: '180',
      },
      maxBuffer: 10 * 1024 * 1024,
    });
  }

  start = () => this.script('start');
  async destroy() {
    await this.stopBroker(1, 'graceful').catch(() => this.stopBroker(1, 'kill'));
  }
  brokers = () => [`127.0.0.1:${this.o.port}`];
  ports = () => [this.o.port, this.o.controllerPort];
  brokerIds = () => [1];
  async stopBroker(_id: number, how: 'graceful' | 'kill') {
    if (how === 'graceful') return this.script('stop');
    const pid = Number(readFileSync(join(this.o.stateDir, 'kafka.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
  startBroker = (_id: number) => this.script('start');
  serviceEnv = () => ({ KAFKA_REPLICATION_FACTOR: '1' });
  leaderOf = async () => 1;
  controller = async () => 1;
  coordinatorOf = async () => 1;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
