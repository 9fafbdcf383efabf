import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../bus/bus.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { type CommitProbe, installCommitProbe, type ProcessedRow, processedRows } from './commit-probe.js';
import { CpuMeter, type CpuShares, cpuMsPer } from './cpu.js';
import { closedLoop, type LoadRun, openLoop, type Sample } from './load.js';
import { RequestMix } from './mix.js';
import { PgActivitySampler } from './pg-activity.js';
import { type ProfileSummary, summariseProfiles } from './profile.js';
import { buckets, type ChildService, guarded, quantileBetween, spawnChild } from './service-process.js';
import { type Summary, sleep, summarise } from './stats.js';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789';

export interface Settings {
  connections: number;
  warmupSec: number;
  loadSec: number;
  rate: number;
  rateSec: number;
  log: (line: string) => void;
}

/** One measured phase (closed-loop maximum, or the fixed rate). */
export interface Phase {
  sent: number;
  accepted: number;
  rejected: number;
  errors: number;
  seconds: number;
  acceptedPerSec: number;
  /** Events whose router transaction committed inside the phase's window, per second. */
  committedPerSec: number;
  /** Accepted but not yet committed when the load stopped. */
  backlogAtEnd: number;
  /** Time until the last accepted event of the phase was committed, after the load stopped. */
  drainMs: number;
  /** Request sent -> committed (the embedded default answers after the commit: there it is the HTTP time). */
  latency: Summary;
  /** Request sent -> 202 received. */
  http: Summary;
  /** 202 received -> router transaction started (Kafka fetch, consumer queueing behind earlier batches). */
  toRouter?: Summary;
  /** Router transaction start -> commit observed. */
  transaction?: Summary;
  /** Events per router transaction. */
  batch?: Summary;
  transactionsPerSec?: number;
  /** Commit observed minus trigger time on the server: COMMIT + NOTIFY delivery + this process' event loop. */
  notifyLag?: Summary;
  cpu: CpuShares;
  /** Server-side histograms from the service's /metrics (bucket upper bounds). */
  serverHttpP50?: number;
  serverHttpP99?: number;
  routerLatencyP99?: number;
  /** The service's event-loop delay over the phase (prom-client's monitor, its 10 ms resolution subtracted). */
  eventLoopP50?: number;
  eventLoopP99?: number;
  eventLoopMax?: number;
  /** GC pause time in the service, ms per second of phase. */
  gcMsPerSec?: number;
  /** What the router's open transactions were doing (pg_stat_activity samples). */
  pgActivity?: { share: number; what: string }[];
  /** CPU per contact from the phase's start until its last accepted contact was committed (Kafka sections). */
  work?: WorkCpu;
}

/**
 * CPU milliseconds per accepted contact, counted from the start of a phase until every contact it accepted was
 * committed: the backlog the router drains after the load stops is paid for too, so the figure does not depend
 * on how far the router lagged (CPU in the load window ÷ contacts committed in it does).
 */
export interface WorkCpu {
  contacts: number;
  seconds: number;
  /** Each service process by role (split: connectors, router; otherwise the one process). */
  processes: { name: string; pid: number; ms: number }[];
  service: number;
  postgres: number;
  kafka: number;
  loadGenerator: number;
  /** service + PostgreSQL + Kafka: issue 11's "all processes" figure. */
  own: number;
  /** own + the load generator. */
  total: number;
}

export function workCpu(c: CpuShares, contacts: number, names: Map<number, string>): WorkCpu {
  const per = (share: number) => cpuMsPer(c, contacts, share);
  const processes = [...c.servicePids].map(([pid, share]) => ({
    name: names.get(pid) ?? `pid ${pid}`,
    pid,
    ms: per(share),
  }));
  const service = per(c.service);
  const postgres = per(c.postgres);
  const kafka = per(c.kafka);
  const loadGenerator = per(c.loadGenerator);
  return {
    contacts,
    seconds: c.seconds,
    processes,
    service,
    postgres,
    kafka,
    loadGenerator,
    own: service + postgres + kafka,
    total: service + postgres + kafka + loadGenerator,
  };
}

const accepted = (run: LoadRun) =>
  run.samples.filter((s): s is Sample & { id: string } => s.status === 202 && !!s.id);

function basePhase(run: LoadRun, cpu: CpuShares) {
  const ok = accepted(run);
  const seconds = (run.endedAt - run.startedAt) / 1000;
  return {
    sent: run.samples.length + run.errors,
    accepted: ok.length,
    rejected: run.samples.length - ok.length,
    errors: run.errors,
    seconds,
    acceptedPerSec: ok.length / seconds,
    http: summarise(ok.map((s) => s.ackAt - s.sentAt)),
    cpu,
  };
}

const gauge = (text: string, name: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
};
const counterSum = (text: string, prefix: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);

/** What the service processes said about a phase: scrape all of them before, then call with the texts. */
async function serverView(
  http: ChildService,
  router: ChildService,
  before: Map<ChildService, string>,
  seconds: number,
) {
  const httpAfter = await http.metrics();
  const routerAfter = router === http ? httpAfter : await router.metrics();
  const httpBefore = before.get(http) ?? '';
  const routerBefore = before.get(router) ?? '';
  // The router's event loop is the one its transactions wait on (in the single process it is also the HTTP one).
  const loop = (name: string) =>
    Math.max(0, gauge(routerAfter, `nodejs_eventloop_lag_${name}_seconds`) * 1000 - 10);
  const connectorRoutes = (l: string) => l.includes('route="/v1/');
  const h = (t: string) => buckets(t, 'http_request_duration_seconds', connectorRoutes);
  const r = (t: string) => buckets(t, 'router_event_latency_seconds');
  const gc = (a: string, b: string) =>
    counterSum(b, 'nodejs_gc_duration_seconds_sum') - counterSum(a, 'nodejs_gc_duration_seconds_sum');
  return {
    serverHttpP50: quantileBetween(h(httpBefore), h(httpAfter), 0.5) * 1000,
    serverHttpP99: quantileBetween(h(httpBefore), h(httpAfter), 0.99) * 1000,
    routerLatencyP99: quantileBetween(r(routerBefore), r(routerAfter), 0.99) * 1000,
    eventLoopP50: loop('p50'),
    eventLoopP99: loop('p99'),
    eventLoopMax: loop('max'),
    gcMsPerSec:
      ((gc(httpBefore, httpAfter) + (router === http ? 0 : gc(routerBefore, routerAfter))) * 1000) / seconds,
  };
}

async function scrape(svcs: ChildService[]): Promise<Map<ChildService, string>> {
  return new Map(await Promise.all(svcs.map(async (x) => [x, await x.metrics()] as const)));
}

// ---------------------------------------------------------------------------------------------------------
// Kafka + PostgreSQL: the production shape, the service in child processes (`node --import tsx app/main.ts`):
// one process with every role (the default), or split roles (one `connectors` and one `router` process).
// ---------------------------------------------------------------------------------------------------------

export interface KafkaPgResult {
  max: Phase;
  fixed: Phase;
  partitions: number;
  roles: 'all' | 'split';
  /** --profile: where the service processes' CPU went (V8 CPU profile over the whole run). */
  profile?: ProfileSummary;
}

export async function runKafkaPg(
  s: Settings & {
    pgUrl: string;
    brokers: string[];
    partitions: number;
    roles: 'all' | 'split';
    profile?: boolean;
  },
): Promise<KafkaPgResult> {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const schema = `bench_${id}`;
  const prefix = `bench-${id}-`;
  const schemaUrl = withSearchPath(s.pgUrl, schema);
  // Tagged connections: pg_stat_activity tells the service's sessions apart from anyone else's.
  const serviceUrl = `${schemaUrl}&application_name=${schema}`;
  const activity = new PgActivitySampler(s.pgUrl, schema);
  const adminPg = new pg.Client({ connectionString: s.pgUrl });
  await adminPg.connect();
  await adminPg.query(`CREATE SCHEMA ${schema}`);
  const pool = new pg.Pool({ connectionString: schemaUrl, max: 2 });
  const kafka = new kafkajs.Kafka({
    clientId: 'bench',
    brokers: s.brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const svcs: ChildService[] = [];
  let probe: CommitProbe | undefined;
  // BENCH_PROFILE_DIR keeps the .cpuprofile files (in a new folder under it) (to open in Chrome DevTools); else they are removed.
  const keepProfiles = process.env.BENCH_PROFILE_DIR;
  const profDir = s.profile ? mkdtempSync(join(keepProfiles ?? tmpdir(), 'bench-prof-')) : undefined;
  const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  return guarded(
    async () => {
      // The probe's trigger needs processed_events: apply the service's own migrations first (it finds them done).
      const db = createPgDatabase({ connectionString: schemaUrl, max: 1 });
      await migrate(db);
      await db.close();
      probe = await installCommitProbe(schemaUrl, schema);

      const env = (role: string, seed: boolean) => ({
        ROLE: role,
        DATABASE_URL: serviceUrl,
        KAFKA_BROKERS: s.brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: 'router',
        KAFKA_TOPIC_PARTITIONS: String(s.partitions),
        ADMIN_TOKEN,
        LOG_LEVEL: 'warn',
        DEMO_SEED: String(seed),
        FORM_RATE_LIMIT: '1000000',
        // A/B of where ROLE=all routes: `ROUTER_THREAD=inline npm run bench -- --only=kafka` (default: worker).
        ...(role === 'all' && process.env.ROUTER_THREAD ? { ROUTER_THREAD: process.env.ROUTER_THREAD } : {}),
      });
      s.log(
        `  starting ${s.roles === 'all' ? 'the service (ROLE=all)' : 'two processes (ROLE=router, ROLE=connectors)'}: schema ${schema}, topics ${prefix}* (${s.partitions} partitions)`,
      );
      let http: ChildService;
      let router: ChildService;
      if (s.roles === 'all') {
        http = router = await spawnChild(env('all', true), { nodeArgs: profArgs });
        svcs.push(http);
      } else {
        router = await spawnChild(env('router', true), { nodeArgs: profArgs }); // seeds the demo setup first
        svcs.push(router);
        http = await spawnChild(env('connectors', false), { nodeArgs: profArgs });
        svcs.push(http);
      }
      // Our sessions (tagged) and PostgreSQL's own background processes; other users' sessions are left out.
      const meter = () =>
        new CpuMeter(
          () => svcs.map((x) => x.pid),
          async () =>
            (
              await pool.query<{ pid: number }>(
                `SELECT pid FROM pg_stat_activity WHERE application_name = $1 OR backend_type <> 'client backend'`,
                [schema],
              )
            ).rows.map((r) => r.pid),
        );
      const cpu = meter();
      const roleOf = new Map(
        s.roles === 'all'
          ? [[http.pid, 'service (ROLE=all)']]
          : [
              [http.pid, 'connectors'],
              [router.pid, 'router'],
            ],
      );
      const mix = new RequestMix(0.7);
      await activity.start();

      s.log(`  warm-up ${s.warmupSec} s (consumer group join, JIT)`);
      const warm = await closedLoop(http.url, mix, { connections: 16, durationSec: s.warmupSec });
      await waitCommitted(
        pool,
        accepted(warm).map((x) => x.id),
        60_000,
      );

      const phase = async (name: string, run: () => Promise<LoadRun>, drainMs: number): Promise<Phase> => {
        s.log(name);
        const before = await scrape(svcs);
        const whole = meter();
        await whole.begin();
        await cpu.begin();
        activity.begin();
        const r = await run();
        const cpuShares = await cpu.end();
        const pgActivity = await activity.end();
        await waitCommitted(
          pool,
          accepted(r).map((x) => x.id),
          drainMs,
        );
        const work = workCpu(await whole.end(), accepted(r).length, roleOf);
        const phase = await analyse(pool, probe!, r, basePhase(r, cpuShares));
        return { ...phase, ...(await serverView(http, router, before, phase.seconds)), pgActivity, work };
      };
      const max = await phase(
        `  maximum: ${s.connections} connections, closed loop, ${s.loadSec} s`,
        () => closedLoop(http.url, mix, { connections: s.connections, durationSec: s.loadSec }),
        120_000,
      );
      const fixed = await phase(
        `  fixed rate: ${s.rate}/s open loop, ${s.rateSec} s`,
        () => openLoop(http.url, mix, { rate: s.rate, durationSec: s.rateSec }),
        60_000,
      );
      // The profile is written when the process exits.
      for (const x of svcs) await x.stop();
      const profile = profDir ? summariseProfiles(profDir) : undefined;
      return { max, fixed, partitions: s.partitions, roles: s.roles, profile };
    },
    async () => {
      for (const x of svcs.reverse()) await x.stop().catch(() => {});
      if (profDir && !keepProfiles) rmSync(profDir, { recursive: true, force: true });
      await probe?.close();
      await activity.close();
      await pool.end().catch(() => {});
      await adminPg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await adminPg.end().catch(() => {});
      try {
        await admin.connect();
        await admin.deleteGroups([`${prefix}router`]).catch(() => {});
        await admin
          .deleteTopics({ topics: [prefix + TOPIC_INBOUND, prefix + TOPIC_DEAD_LETTER] })
          .catch(() => {});
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
  );
}

async function waitCommitted(pool: pg.Pool, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    if (r.rows[0]!.n >= ids.length) return;
    if (Date.now() > deadline)
      throw new Error(`only ${r.rows[0]!.n} of ${ids.length} accepted events were routed in time`);
    await sleep(250);
  }
}

async function analyse(
  pool: pg.Pool,
  probe: CommitProbe,
  run: LoadRun,
  base: ReturnType<typeof basePhase>,
): Promise<Phase> {
  await sleep(300); // let the last notifications arrive
  const ok = accepted(run);
  const all = await processedRows(pool);
  const byId = new Map<string, ProcessedRow>(all.map((r) => [r.id, r]));
  const latency: number[] = [];
  const toRouter: number[] = [];
  const tx: number[] = [];
  let lastCommit = run.endedAt;
  let committedByEnd = 0;
  for (const smp of ok) {
    const row = byId.get(smp.id);
    const commit = row ? probe.commitAt(row.xid) : undefined;
    if (!row || commit === undefined) continue;
    latency.push(commit - smp.sentAt);
    toRouter.push(row.startedAt - smp.ackAt);
    tx.push(commit - row.startedAt);
    if (commit > lastCommit) lastCommit = commit;
    if (commit <= run.endedAt) committedByEnd++;
  }
  // Every routed event (whoever sent it) committed inside the window counts for the rate.
  const inWindow = all.filter((r) => {
    const c = probe.commitAt(r.xid);
    return c !== undefined && c >= run.startedAt && c <= run.endedAt;
  });
  const sizes = new Map<number, number>();
  for (const r of inWindow) sizes.set(r.xid, (sizes.get(r.xid) ?? 0) + 1);
  const lag = [...sizes.keys()].map(
    (x) => (probe.commitAt(x) ?? Number.NaN) - (probe.serverAt(x) ?? Number.NaN),
  );
  return {
    ...base,
    committedPerSec: inWindow.length / base.seconds,
    backlogAtEnd: ok.length - committedByEnd,
    drainMs: lastCommit - run.endedAt,
    latency: summarise(latency),
    toRouter: summarise(toRouter),
    transaction: summarise(tx),
    batch: summarise([...sizes.values()]),
    transactionsPerSec: sizes.size / base.seconds,
    notifyLag: summarise(lag),
  };
}

function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

// ---------------------------------------------------------------------------------------------------------
// Embedded default: PGlite + in-process bus, `npm start` with nothing configured. 202 comes after the commit.
// ---------------------------------------------------------------------------------------------------------

export interface EmbeddedResult {
  max: Phase;
  fixed: Phase;
  /** --profile: where the service's CPU went (its main thread and any worker threads, over the whole run). */
  profile?: ProfileSummary;
}

export async function runEmbedded(s: Settings & { profile?: boolean }): Promise<EmbeddedResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-embedded-'));
  const profDir = s.profile ? mkdtempSync(join(tmpdir(), 'bench-prof-')) : undefined;
  const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  let svc: ChildService | undefined;
  return guarded(
    async () => {
      s.log(`  starting the service (embedded PGlite in ${dir})`);
      svc = await spawnChild(
        { DATA_DIR: dir, ADMIN_TOKEN, LOG_LEVEL: 'warn', FORM_RATE_LIMIT: '1000000' },
        { nodeArgs: profArgs },
      );
      const cpu = new CpuMeter(() => [svc!.pid]);
      const mix = new RequestMix(0.7);
      s.log(`  warm-up ${s.warmupSec} s`);
      await closedLoop(svc.url, mix, { connections: 16, durationSec: s.warmupSec });

      s.log(`  maximum: ${s.connections} connections, closed loop, ${s.loadSec} s`);
      let m0 = await scrape([svc]);
      await cpu.begin();
      const load = await closedLoop(svc.url, mix, { connections: s.connections, durationSec: s.loadSec });
      const max = embeddedPhase(load, await cpu.end());
      Object.assign(max, await serverView(svc, svc, m0, max.seconds));

      s.log(`  fixed rate: ${s.rate}/s open loop, ${s.rateSec} s`);
      m0 = await scrape([svc]);
      await cpu.begin();
      const fixedRun = await openLoop(svc.url, mix, { rate: s.rate, durationSec: s.rateSec });
      const fixed = embeddedPhase(fixedRun, await cpu.end());
      Object.assign(fixed, await serverView(svc, svc, m0, fixed.seconds));
      // The profile is written when the process exits.
      await svc.stop();
      const profile = profDir ? summariseProfiles(profDir) : undefined;
      return { max, fixed, profile };
    },
    async () => {
      await svc?.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      if (profDir) rmSync(profDir, { recursive: true, force: true });
    },
  );
}

function embeddedPhase(run: LoadRun, cpu: CpuShares): Phase {
  const base = basePhase(run, cpu);
  // The in-process bus resolves publish() after the router's commit: a 202 means committed.
  const lastAck = Math.max(run.endedAt, ...accepted(run).map((x) => x.ackAt));
  const inWindow = accepted(run).filter((x) => x.ackAt <= run.endedAt).length;
  return {
    ...base,
    committedPerSec: inWindow / base.seconds,
    backlogAtEnd: base.accepted - inWindow,
    drainMs: lastAck - run.endedAt,
    latency: base.http,
  };
}
