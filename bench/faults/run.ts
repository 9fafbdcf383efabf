/**
 * `npm run fault` — the fault test: the real service (one connectors process, two routers) on a PostgreSQL and
 * a Kafka broker of its own, a load of known contacts sent as vendors send them, and faults injected
 * mid-stream: routers SIGKILLed repeatedly, the connectors process SIGKILLed, the broker restarted, PostgreSQL
 * restarted and crashed. Every killed process is started again at once (as an orchestrator would). Then it
 * checks that every accepted contact is in the CRM exactly once, one lead per client, no empty lead, nothing
 * dead-lettered, no 5xx other than 503, no process ended on its own; and prints per fault the seconds of
 * unavailability (senders got no 2xx) and of stalled routing. Exit code 1 on any violation.
 *
 * Environment (defaults in brackets): FAULT_CLIENTS [1000], FAULT_FORMS_PER_CLIENT [2], FAULT_CALLS [800],
 * FAULT_RATE contacts/s while faults run [10], FAULT_CONCURRENCY [32], FAULT_ROUTER_KILLS [4],
 * FAULT_CONNECTOR_KILLS [2], FAULT_GAP_SEC between faults [6], FAULT_PG_DOWN_SEC [2],
 * FAULTS (comma list of routers, connectors, broker, postgres, postgres-crash) [all], FAULT_RUNTIME dist|tsx
 * [dist when built], FAULT_PG_PORT [55432], FAULT_KAFKA_PORT [39492, controller +1], FAULT_HTTP_PORT [39300,
 * routers +1, +2], FAULT_KEEP=1 keeps the temp directory (logs, data) also when the run passes.
 * FAULT_BUS single|cluster [single]: `cluster` runs on three KRaft brokers (scripts/kafka.sh cluster, RF 3, min ISR
 * 2) on FAULT_CLUSTER_PORT [29192..+2, controllers +100..+102] with the cluster faults (FAULTS: leader,
 * controller, coordinator, two-brokers [those four]; the kinds above may be added), each node SIGKILLed and
 * started again after FAULT_BROKER_DOWN_SEC [10].
 *
 * Needs: PostgreSQL binaries (initdb, pg_ctl; run as root it uses the postgres user), Java and the Kafka jars
 * (`bash scripts/kafka.sh install`). Touches neither the shared PostgreSQL nor the shared broker.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemo } from '../../app/demo-seed.js';
import { TOPIC_DEAD_LETTER } from '../../bus/bus.js';
import { migrate } from '../../crm-core/db/migrate.js';
import { createPgDatabase } from '../../crm-core/db/pg.js';
import { sleep } from '../../lib/retry.js';
import { ClusterInfrastructure } from '../../scripts/kafka/cluster.js';
import { tcpReachable } from '../../test/support/services.js';
import { table } from '../stats.js';
import { type BusInfrastructure, SingleKafkaBroker, withAdmin } from './bus-infrastructure.js';
import { checkOutcome } from './check.js';
import { defaultFaults, type FaultContext } from './faults.js';
import { contactSet, sendAll } from './load.js';
import { type FaultRecord, figuresPerFault, RoutingSampler } from './observe.js';
import { OwnPostgres } from './postgres.js';
import { distBuilt, type Runtime, Supervised } from './processes.js';

const num = (name: string, dflt: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number: ${v}`);
  return n;
};
const cfg = {
  clients: num('FAULT_CLIENTS', 1_000),
  formsPerClient: num('FAULT_FORMS_PER_CLIENT', 2),
  calls: num('FAULT_CALLS', 800),
  rate: num('FAULT_RATE', 10),
  concurrency: num('FAULT_CONCURRENCY', 32),
  routerKills: num('FAULT_ROUTER_KILLS', 4),
  connectorKills: num('FAULT_CONNECTOR_KILLS', 2),
  gapSec: num('FAULT_GAP_SEC', 6),
  postgresDownSec: num('FAULT_PG_DOWN_SEC', 2),
  pgPort: num('FAULT_PG_PORT', 55432),
  kafkaPort: num('FAULT_KAFKA_PORT', 39492),
  httpPort: num('FAULT_HTTP_PORT', 39300),
  bus: (process.env.FAULT_BUS ?? 'single') as 'single' | 'cluster',
  clusterPort: num('FAULT_CLUSTER_PORT', 29192),
  brokerDownSec: num('FAULT_BROKER_DOWN_SEC', 10),
  runtime: (process.env.FAULT_RUNTIME ?? (distBuilt() ? 'dist' : 'tsx')) as Runtime,
  keep: process.env.FAULT_KEEP === '1',
  faults: process.env.FAULTS?.split(',').map((s) => s.trim()),
};
if (cfg.bus !== 'single' && cfg.bus !== 'cluster')
  throw new Error(`FAULT_BUS: single or cluster, not ${cfg.bus}`);
if (cfg.runtime === 'dist' && !distBuilt()) throw new Error('FAULT_RUNTIME=dist: run `npm run build` first');

const t0 = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const dir = mkdtempSync(join(tmpdir(), 'faults-'));
chmodSync(dir, 0o755); // PostgreSQL runs as its own user and must reach its data directory inside
const logDir = join(dir, 'logs');
mkdirSync(logDir);
mkdirSync(join(dir, 'pg'));

const postgres = new OwnPostgres({ port: cfg.pgPort, dir: join(dir, 'pg') });
const bus: BusInfrastructure =
  cfg.bus === 'cluster'
    ? new ClusterInfrastructure({ port: cfg.clusterPort, stateDir: join(dir, 'kafka-cluster') })
    : new SingleKafkaBroker({
        port: cfg.kafkaPort,
        controllerPort: cfg.kafkaPort + 1,
        stateDir: join(dir, 'kafka'),
      });
const supervised: Supervised[] = [];
let passed = false;

async function cleanup() {
  await Promise.all(supervised.map((s) => s.stop().catch(() => {})));
  await bus.destroy().catch(() => {});
  await postgres.destroy().catch(() => {});
  if (passed && !cfg.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`logs and data kept in ${dir}`);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));

try {
  say(`fault test: ${bus.description}, PostgreSQL on 127.0.0.1:${cfg.pgPort}, service from ${cfg.runtime}`);
  // Never run against someone else's server: every port this test uses must be free.
  const ports = [cfg.pgPort, ...bus.ports(), cfg.httpPort, cfg.httpPort + 1, cfg.httpPort + 2];
  const taken = (
    await Promise.all(ports.map(async (p) => ((await tcpReachable('127.0.0.1', p)) ? p : 0)))
  ).filter(Boolean);
  if (taken.length) throw new Error(`ports already in use: ${taken.join(', ')} (set FAULT_*_PORT)`);
  await postgres.init();
  await Promise.all([postgres.start(), bus.start()]);
  const db = createPgDatabase({ connectionString: postgres.url, max: 2 });
  await migrate(db);
  await seedDemo(db);
  say('PostgreSQL and Kafka up; demo form and line seeded');

  const env = {
    DATABASE_URL: postgres.url,
    KAFKA_BROKERS: bus.brokers().join(','),
    KAFKA_TOPIC_PARTITIONS: '6',
    ADMIN_TOKEN: 'fault-test-admin-token-0123456789',
    FORM_RATE_LIMIT: '1000000',
    LOG_LEVEL: 'warn',
    KAFKA_GROUP_ID: 'contact-router',
    DEMO_SEED: 'false',
    ...bus.serviceEnv(),
  };
  const connectors = new Supervised({
    name: 'connectors',
    runtime: cfg.runtime,
    port: cfg.httpPort,
    env: { ...env, ROLE: 'connectors' },
    logDir,
  });
  supervised.push(connectors);
  say(`connectors ready in ${((await connectors.current.readyMs) / 1000).toFixed(1)} s (topics created)`);
  const routers = [1, 2].map(
    (i) =>
      new Supervised({
        name: `router-${i}`,
        runtime: cfg.runtime,
        port: cfg.httpPort + i,
        env: { ...env, ROLE: 'router' },
        logDir,
      }),
  );
  supervised.push(...routers);
  for (const r of routers) await r.current.readyMs;
  say('two routers ready');

  const contacts = contactSet({
    run: t0.toString(36),
    clients: cfg.clients,
    formsPerClient: cfg.formsPerClient,
    calls: cfg.calls,
    lineSecret: 'demo-line-secret',
  });
  let accepted = 0;
  let faultsOver = false;
  const sampler = new RoutingSampler(db, () => accepted);
  sampler.start();
  say(`sending ${contacts.length} contacts at ${cfg.rate}/s while the faults run, then as fast as allowed`);
  const loadDone = sendAll(contacts, {
    baseUrl: () => connectors.current.url,
    rate: () => (faultsOver ? Number.POSITIVE_INFINITY : cfg.rate),
    concurrency: cfg.concurrency,
    onAccepted: () => accepted++,
  });
  let loadFinished = false;
  void loadDone.then(() => (loadFinished = true));

  const ctx: FaultContext = { routers, connectors, bus, postgres, say };
  const records: FaultRecord[] = [];
  const faults = defaultFaults({
    ...cfg,
    names: cfg.faults,
    cluster: cfg.bus === 'cluster' ? { downSec: cfg.brokerDownSec, groupId: env.KAFKA_GROUP_ID } : undefined,
  });
  await sleep(cfg.gapSec * 1000);
  let afterLoad = 0;
  for (const f of faults) {
    if (loadFinished) afterLoad++;
    const start = Date.now();
    say(`fault: ${f.name}`);
    const notes = await f.inject(ctx);
    records.push({ name: f.name, start, end: Date.now(), notes });
    say(`  over after ${((Date.now() - start) / 1000).toFixed(1)} s: ${notes.join('; ')}`);
    await sleep(cfg.gapSec * 1000);
  }
  faultsOver = true;
  const load = await loadDone;
  say(`every contact answered (${load.accepted.size} accepted); waiting for routing to drain`);
  const drainDeadline = Date.now() + 120_000;
  let routed = 0;
  while (Date.now() < drainDeadline) {
    routed = await sampler.routed().catch(() => 0);
    if (routed >= load.accepted.size) break;
    await sleep(250);
  }
  await sleep(2_000); // a late duplicate would show now
  const runEnd = Date.now();
  await sampler.stop();
  say(`routed ${await sampler.routed()} events`);

  const deadLetters = await withAdmin(bus.brokers(), async (admin) =>
    (await admin.fetchTopicOffsets(TOPIC_DEAD_LETTER)).reduce(
      (n, p) => n + Number(p.high) - Number(p.low),
      0,
    ),
  );
  const result = await checkOutcome({
    db,
    contacts,
    load,
    deadLetters,
    line: 'demo',
    crashes: Object.fromEntries(supervised.map((s) => [s.current.name, s.crashes])),
  });

  const routedAt = await db.query<{ id: string; at: number }>(
    'SELECT event_id::text AS id, (extract(epoch FROM processed_at) * 1000)::float8 AS at FROM processed_events',
  );
  const delays = routedAt.rows.flatMap((r) => {
    const acceptedAt = load.acceptedAt.get(r.id);
    return acceptedAt ? [{ acceptedAt, routedAt: r.at }] : [];
  });
  const perFault = figuresPerFault(records, load.attempts, sampler.samples, runEnd, delays);
  console.log('\nPer fault (window: from the fault to the next one):');
  console.log(
    table(
      [
        'fault',
        'injection',
        'unavailable (no 2xx)',
        'routing stopped',
        'max 2xx -> routed',
        'failed attempts',
        'notes',
      ],
      records.map((r, i) => [
        r.name,
        `${((r.end - r.start) / 1000).toFixed(1)} s`,
        `${perFault[i]!.unavailableSec.toFixed(1)} s`,
        `${perFault[i]!.stalledSec.toFixed(1)} s`,
        `${perFault[i]!.maxDelaySec.toFixed(1)} s`,
        String(perFault[i]!.failedAttempts),
        r.notes.join('; '),
      ]),
    ),
  );
  await db.close();
  const f = result.figures;
  console.log(
    `\n${f.contacts} contacts (${f.forms} forms from ${f.clients} clients in four phone spellings, ${f.calls} calls): ` +
      `${f.accepted} accepted, ${f.lost} lost, ${f.duplicated} duplicated, ${f.leads} leads, ${f.emptyLeads} empty, ` +
      `${f.deadLetters} dead-lettered, ${f.serverErrors} 5xx other than 503; ${f.attempts} requests ` +
      `(${f.answers503} answered 503, ${f.noAnswer} without an answer). ${supervised.reduce((n, s) => n + s.restarts, 0)} process restarts.`,
  );
  if (afterLoad) console.log(`note: ${afterLoad} fault(s) ran after the load had ended; raise the sizes`);
  console.log(`run took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (result.violations.length) {
    console.log('\nFAILED:');
    for (const line of result.violations) console.log(`  - ${line}`);
    process.exitCode = 1;
  } else {
    console.log(
      '\nPASSED: every accepted contact exactly once, one lead per client, nothing dead-lettered, no 500.',
    );
    passed = true;
  }
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
