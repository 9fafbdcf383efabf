import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../bus/bus.js';
import { sleep } from './stats.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the bench's PostgreSQL and Kafka are (loopback by default). */
export const PG_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
export const BROKERS = (
  process.env.BENCH_KAFKA_BROKERS ??
  process.env.TEST_KAFKA_BROKERS ??
  '127.0.0.1:19092'
).split(',');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ChildService {
  url: string;
  pid: number;
  /** Raw Prometheus text from the service's /metrics. */
  metrics(): Promise<string>;
  /** The last lines the process wrote (for error reports). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs a TypeScript entry point (by default the real service, `app/main.ts`) as a separate Node process,
 * exactly as `npm start` would, with only the environment given here (nothing leaks in from the bench's own
 * environment), and waits until `readyPath` answers 200.
 */
export async function spawnChild(
  env: Record<string, string>,
  o: { entry?: string; readyPath?: string; timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<ChildService> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [...(o.nodeArgs ?? []), '--import', 'tsx', o.entry ?? 'app/main.ts'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'production',
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );

  const stop = async () => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`service exited with ${exited} during start-up:\n${tail}`);
    try {
      const r = await fetch(url + (o.readyPath ?? '/readyz'));
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`service not ready in time:\n${tail}`);
    }
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    metrics: async () => (await fetch(url + '/metrics')).text(),
    output: () => tail,
    stop,
  };
}

export type Buckets = Map<number, number>;

/** A Prometheus histogram's cumulative buckets, summed over the label sets whose line passes `keep`. */
export function buckets(text: string, name: string, keep: (line: string) => boolean = () => true): Buckets {
  const out: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !keep(line)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const k = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    out.set(k, (out.get(k) ?? 0) + Number(line.split(' ').pop()));
  }
  return out;
}

/**
 * The q-quantile of what was observed between two scrapes (after minus before, bucket by bucket), as the upper
 * bound of the bucket that holds it (no interpolation: an honest "at most").
 */
export function quantileBetween(before: Buckets, after: Buckets, q: number): number {
  const sorted = [...after]
    .map(([le, c]) => [le, c - (before.get(le) ?? 0)] as const)
    .sort((a, b) => a[0] - b[0]);
  const count = sorted.at(-1)?.[1] ?? 0;
  if (count <= 0) return Number.NaN;
  for (const [le, c] of sorted) if (c >= q * count) return le;
  return Number.NaN;
}

const pending = new Set<() => Promise<void>>();

/**
 * Runs `body`, then `cleanup` (schemas, topics, child processes, temp directories) — also when the bench is
 * interrupted with Ctrl-C before `body` ends (see cleanUpOnInterrupt).
 */
export async function guarded<T>(body: () => Promise<T>, cleanup: () => Promise<void>): Promise<T> {
  let once: Promise<void> | undefined;
  const run = () => {
    once ??= cleanup().catch(() => {});
    return once;
  };
  pending.add(run);
  try {
    return await body();
  } finally {
    pending.delete(run);
    await run();
  }
}

export function cleanUpOnInterrupt(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`\n${signal}: cleaning up the bench's schemas, topics and processes`);
      void Promise.all([...pending].map((f) => f())).finally(() => process.exit(130));
    });
  }
}

/**
 * What a bench run leaves behind on the shared services, removed: its Kafka consumer group and topics (prefix +
 * the inbound and dead-letter topics) and its PostgreSQL schema; `adminPg` is ended. Never throws: a service that
 * is down has nothing of ours to remove.
 */
export async function removeBenchTraces(t: {
  prefix: string;
  schema: string;
  adminPg: { query(sql: string): Promise<unknown>; end(): Promise<void> };
  /** Consumer group ids without the prefix; default the router's. */
  groups?: string[];
}): Promise<void> {
  const admin = new kafkajs.Kafka({
    clientId: 'bench-cleanup',
    brokers: BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.deleteGroups((t.groups ?? ['router']).map((g) => t.prefix + g)).catch(() => {});
    await admin
      .deleteTopics({ topics: [t.prefix + TOPIC_INBOUND, t.prefix + TOPIC_DEAD_LETTER] })
      .catch(() => {});
  } catch {
    // Kafka down: nothing was created there
  } finally {
    await admin.disconnect().catch(() => {});
  }
  await t.adminPg.query(`DROP SCHEMA IF EXISTS ${t.schema} CASCADE`).catch(() => {});
  await t.adminPg.end().catch(() => {});
}
