/**
 * `npm run bench:startup` — how long a restarted process takes to serve again: milliseconds from spawn to the
 * first 200 from /readyz (database reachable, bus producer connected, a router's consumer in its group), for
 * `npm start`'s way (tsx compiles the TypeScript at start) and production's (`npm run build`, then
 * `node dist/app/main.js`), per role. Prints figures, never asserts.
 *
 *   npm run bench:startup                      3 starts per runtime and role
 *   STARTUP_RUNS=5 npm run bench:startup
 *
 * Needs PostgreSQL (BENCH_DATABASE_URL) and Kafka (BENCH_KAFKA_BROKERS) as `npm run bench` does; uses its own
 * schema, topics and consumer group and removes them at the end. Builds dist/ first when it is missing.
 */
import { spawnSync } from 'node:child_process';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../bus/bus.js';
import { distBuilt, launchService, type Runtime } from './faults/processes.js';
import { BROKERS, cleanUpOnInterrupt, freePort, guarded, PG_URL, ROOT } from './service-process.js';
import { table } from './stats.js';

const RUNS = Number(process.env.STARTUP_RUNS ?? 3);
const ROLES = ['router', 'connectors', 'api'] as const;

cleanUpOnInterrupt();
if (!distBuilt()) {
  console.log('dist/ is missing: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

const id = Date.now().toString(36);
const schema = `bench_startup_${id}`;
const prefix = `bench-startup-${id}-`;
const admin = new pg.Client({ connectionString: PG_URL });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const url = new URL(PG_URL);
url.searchParams.set('options', `-c search_path=${schema}`);
const env = {
  DATABASE_URL: url.toString(),
  KAFKA_BROKERS: BROKERS.join(','),
  KAFKA_TOPIC_PREFIX: prefix,
  KAFKA_GROUP_ID: `bench-startup-${id}`,
  KAFKA_TOPIC_PARTITIONS: '2',
  ADMIN_TOKEN: 'bench-startup-admin-token',
  LOG_LEVEL: 'warn',
};

async function start(runtime: Runtime, role: string): Promise<number> {
  const p = launchService({
    name: `${role}-${runtime}`,
    runtime,
    port: await freePort(),
    env: { ...env, ROLE: role },
  });
  try {
    return await p.readyMs;
  } finally {
    await p.stop();
  }
}

const cleanup = async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await admin.end().catch(() => {});
  const k = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await k.connect();
  await k.deleteTopics({ topics: [prefix + TOPIC_INBOUND, prefix + TOPIC_DEAD_LETTER] }).catch(() => {});
  await k.deleteGroups([env.KAFKA_GROUP_ID]).catch(() => {});
  await k.disconnect();
};

await guarded(async () => {
  // The first start applies the migrations and creates the topics; a restart does neither, so it is not timed.
  await start('dist', 'router');
  const rows: string[][] = [];
  for (const role of ROLES) {
    for (const runtime of ['tsx', 'dist'] as const) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push(await start(runtime, role));
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      rows.push([
        role,
        runtime === 'dist' ? 'node dist (npm run start:prod)' : 'tsx (npm start)',
        ...[median, times[0]!, times.at(-1)!].map((t) => `${(t / 1000).toFixed(2)} s`),
      ]);
      console.log(`  ${role} ${runtime}: ${times.map((t) => `${Math.round(t)} ms`).join(', ')}`);
    }
  }
  console.log(`\nTime to ready (spawn -> /readyz 200), ${RUNS} starts each, PostgreSQL + Kafka:`);
  console.log(table(['role', 'runtime', 'median', 'min', 'max'], rows));
}, cleanup);
