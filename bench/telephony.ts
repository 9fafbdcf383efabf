/**
 * Telephony bench: call events per second end to end (HTTP -> Kafka -> router -> PostgreSQL commit) through the
 * generic and Twilio endpoints, and the PBX routing answer's latency at a fixed request rate.
 *
 *   tsx bench/telephony.ts                 ≈ 70 s
 *   tsx bench/telephony.ts --quick         ≈ 30 s
 *   tsx bench/telephony.ts --base-url=http://127.0.0.1:3000   drive a running service instead (see below)
 *
 * By default the real service is started as a child process (`node --import tsx app/main.ts`, as `npm start`)
 * on a fresh PostgreSQL schema and its own Kafka topics (BENCH_DATABASE_URL / BENCH_KAFKA_BROKERS, defaults
 * postgres://postgres@127.0.0.1:5432/test and 127.0.0.1:19092); schema, topics and consumer group are removed at
 * the end. "Committed" is counted in processed_events (one row per routed event, written in the router's
 * transaction). With a base URL the service must run ROLE=all with DEMO_SEED (line `demo`, secret
 * `demo-line-secret`), PUBLIC_URL equal to that URL (BENCH_PUBLIC_URL otherwise), and commits are counted from
 * its /metrics (router_events_total, channel phone); the in-process query breakdown is then skipped.
 * Loopback only; prints figures, never asserts.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../bus/bus.js';
import type { Queryable } from '../crm-core/db/database.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { getLine } from '../crm-core/repositories/channel-settings.repository.js';
import { lookupClient } from '../router/client-lookup.js';
import { BROKERS, buckets, PG_URL, quantileBetween, ROOT } from './service-process.js';
import { atMost, type TargetCheck } from './targets.js';

export interface TelephonyBenchOptions {
  quick?: boolean;
  /** A running service to drive instead of starting one (see the header). */
  baseUrl?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}
export interface BenchRow {
  metric: string;
  value: string;
}

const LINE = 'demo';
const LINE_SECRET = 'demo-line-secret';
const ROUTE_RATE = 500;
const ROUTE_TARGET_P99_MS = 10;
/** Issue 11: the answer's CPU, service and PostgreSQL together. */
const ROUTE_TARGET_CPU_MS = 0.5;
const CONNECTIONS = 32;

// --- small helpers ------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const sortNum = (xs: number[]) => [...xs].sort((a, b) => a - b);
const fmtInt = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const fmtMs = (v: number) =>
  !Number.isFinite(v) ? 'n/a' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v).toLocaleString('en-US')} ms`;

function tcpReachable(hostPort: string, timeoutMs = 1_000): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(Number(port), host ?? '127.0.0.1', () => done(true));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** One HTTP request over a keep-alive agent; resolves with the status, body and duration (never rejects). */
function request(
  agent: http.Agent,
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - t0,
          }),
        );
        res.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - t0 }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - t0 }));
    req.end(body);
  });
}

/** Twilio's X-Twilio-Signature: base64 HMAC-SHA1 over the URL and the sorted POST parameters. */
function twilioSignature(token: string, url: string, params: URLSearchParams): string {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const pairs = [...params].sort(([ak, av], [bk, bv]) => cmp(ak, bk) || cmp(av, bv));
  return createHmac('sha1', token)
    .update(url + pairs.map(([k, v]) => k + v).join(''))
    .digest('base64');
}

/** Prometheus text: the sum of a counter's samples whose label set passes `keep`. */
function counterSum(text: string, name: string, keep: (labels: string) => boolean): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length, line.lastIndexOf('}') + 1);
    if (keep(labels)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** Cumulative histogram buckets of one route, from Prometheus text. */
const routeBuckets = (text: string, route: string) =>
  buckets(text, 'http_request_duration_seconds', (line) => line.includes(`route="${route}"`));

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

// --- the service under test -----------------------------------------------------------------------------------

interface Target {
  url: string;
  publicUrl: string;
  /** Events the router has committed so far (monotonic). */
  committed(): Promise<number>;
  metrics(): Promise<string>;
  /** The service's database, when this bench started it (for the in-process query breakdown). */
  schemaUrl?: string;
  /** The service's process, when this bench started it (for its CPU time). */
  pid?: number;
  /** CPU seconds so far of each PostgreSQL backend serving the service (Linux, own service only). */
  pgBackendCpu(): Promise<Map<number, number> | undefined>;
  close(): Promise<void>;
}

async function startOwnService(log: (l: string) => void): Promise<Target> {
  const id = randomBytes(4).toString('hex');
  const schema = `bench_tel_${id}`;
  const prefix = `bench-tel-${id}-`;
  const groupId = 'router';
  const adminPg = new pg.Client({ connectionString: PG_URL });
  await adminPg.connect();
  await adminPg.query(`CREATE SCHEMA ${schema}`);
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  // The service's connections carry the schema as application_name, so their backends can be found.
  u.searchParams.set('application_name', schema);
  const schemaUrl = u.toString();
  const reader = new pg.Client({ connectionString: schemaUrl });

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let tail = '';
  let exited: number | null | undefined;
  const cleanup = async () => {
    if (child && exited === undefined) {
      const exit = new Promise<void>((r) => child!.once('exit', () => r()));
      child.kill('SIGTERM');
      const kill = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(kill);
    }
    await reader.end().catch(() => {});
    const kafka = new kafkajs.Kafka({
      clientId: 'bench-telephony-cleanup',
      brokers: BROKERS,
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([prefix + groupId]).catch(() => {});
      await admin
        .deleteTopics({ topics: [prefix + TOPIC_INBOUND, prefix + TOPIC_DEAD_LETTER] })
        .catch(() => {});
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await adminPg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await adminPg.end().catch(() => {});
  };

  try {
    log(`telephony: starting the service (schema ${schema}, topics ${prefix}*)`);
    child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        DATABASE_URL: schemaUrl,
        KAFKA_BROKERS: BROKERS.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: groupId,
        ADMIN_TOKEN: `bench-admin-${randomBytes(12).toString('hex')}`,
        DEMO_SEED: 'true',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      tail = (tail + b.toString('utf8')).slice(-4_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code) => {
      exited = code;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== undefined) throw new Error(`service exited with ${exited} during start-up:\n${tail}`);
      const ok = await fetch(`${url}/readyz`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`service not ready within 60 s:\n${tail}`);
      await sleep(200);
    }
    await reader.connect();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    url,
    publicUrl: url,
    schemaUrl,
    pid: child.pid,
    pgBackendCpu: async () => {
      const r = await reader.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [schema],
      );
      const out = new Map<number, number>();
      for (const { pid } of r.rows) {
        const cpu = cpuSeconds(pid);
        if (Number.isFinite(cpu)) out.set(pid, cpu);
      }
      return out.size ? out : undefined;
    },
    committed: async () =>
      (await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events')).rows[0]!.n,
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    close: cleanup,
  };
}

function externalService(baseUrl: string): Target {
  const url = baseUrl.replace(/\/+$/, '');
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  return {
    url,
    publicUrl: (process.env.BENCH_PUBLIC_URL ?? url).replace(/\/+$/, ''),
    metrics,
    committed: async () =>
      counterSum(await metrics(), 'router_events_total', (l) => l.includes('channel="phone"')),
    pgBackendCpu: async () => undefined,
    close: async () => {},
  };
}

// --- load ---------------------------------------------------------------------------------------------------

/** Caller numbers: unique Moscow numbers per run, so every generic call is a new client (a lead is created). */
function numbers() {
  const base = 1_000_000 + Math.floor(Math.random() * 7_000_000);
  let n = 0;
  return () => `+7495${String((base + n++) % 10_000_000).padStart(7, '0')}`;
}

interface LoadResult {
  accepted: number;
  failed: number;
  sendSec: number;
  /** From the first request to the moment every accepted event was committed (NaN if not within the bound). */
  endToEndSec: number;
  commitLagMs: number;
  committed: number;
  latencies: number[];
}

/**
 * Closed loop: `connections` workers send back to back for `seconds`; each iteration is one call (one or
 * several requests, in order). Then waits (bounded) until the router has committed every accepted event.
 */
async function closedLoop(
  target: Target,
  o: { seconds: number; connections: number; drainSec: number },
  call: (agent: http.Agent) => Promise<{ accepted: number; failed: number; latencies: number[] }>,
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const before = await target.committed();
  const latencies: number[] = [];
  let accepted = 0;
  let failed = 0;
  const start = performance.now();
  const end = start + o.seconds * 1_000;
  await Promise.all(
    Array.from({ length: o.connections }, async () => {
      while (performance.now() < end) {
        const r = await call(agent);
        accepted += r.accepted;
        failed += r.failed;
        latencies.push(...r.latencies);
      }
    }),
  );
  const sentAt = performance.now();
  let committed = (await target.committed()) - before;
  const drainEnd = sentAt + o.drainSec * 1_000;
  while (committed < accepted && performance.now() < drainEnd) {
    await sleep(50);
    committed = (await target.committed()) - before;
  }
  const doneAt = performance.now();
  agent.destroy();
  return {
    accepted,
    failed,
    sendSec: (sentAt - start) / 1_000,
    endToEndSec: committed >= accepted ? (doneAt - start) / 1_000 : Number.NaN,
    commitLagMs: committed >= accepted ? doneAt - sentAt : Number.NaN,
    committed,
    latencies,
  };
}

function genericCall(target: Target, nextNumber: () => string) {
  const url = new URL('/v1/telephony/generic', target.url);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${LINE_SECRET}` };
  const extensions = ['101', '102', '201'];
  let i = 0;
  return async (agent: http.Agent) => {
    const n = i++;
    const from = nextNumber();
    const start = Date.now() - 120_000;
    const missed = n % 5 === 4; // one call in five is missed: it plans a callback
    const body = JSON.stringify({
      line: LINE,
      direction: 'inbound',
      from,
      to: '+74950000000',
      startedAt: new Date(start).toISOString(),
      ...(missed
        ? { endedAt: new Date(start + 25_000).toISOString(), status: 'missed' }
        : {
            answeredAt: new Date(start + 8_000).toISOString(),
            endedAt: new Date(start + 98_000).toISOString(),
            status: 'answered',
            operatorExtension: extensions[n % 3],
            recordingUrl: `https://pbx.example.ru/rec/${n}.mp3`,
          }),
      externalCallId: `bench-${randomUUID()}`,
    });
    const r = await request(agent, url, 'POST', headers, body);
    return { accepted: r.status === 202 ? 1 : 0, failed: r.status === 202 ? 0 : 1, latencies: [r.ms] };
  };
}

/** One Twilio call per iteration: ringing, in-progress and completed status callbacks, in order, signed. */
function twilioCall(target: Target, nextNumber: () => string) {
  const path = `/v1/telephony/twilio/${LINE}`;
  const url = new URL(path, target.url);
  const signedUrl = target.publicUrl + path;
  const stamp = (d: Date) => d.toUTCString().replace('GMT', '+0000');
  return async (agent: http.Agent) => {
    const sid = `CA${randomBytes(16).toString('hex')}`;
    const from = nextNumber();
    const t0 = Date.now() - 200_000;
    const out = { accepted: 0, failed: 0, latencies: [] as number[] };
    for (const [status, offset] of [
      ['ringing', 0],
      ['in-progress', 7_000],
      ['completed', 97_000],
    ] as const) {
      const p = new URLSearchParams({
        AccountSid: 'AC3f6b2a9e0d4c1b7a8e5f2d9c6b3a0e17',
        ApiVersion: '2010-04-01',
        CallSid: sid,
        CallStatus: status,
        Called: '+74950000000',
        Caller: from,
        Direction: 'inbound',
        From: from,
        To: '+74950000000',
        Timestamp: stamp(new Date(t0 + offset)),
        ...(status === 'completed' ? { CallDuration: '97' } : {}),
      });
      const r = await request(
        agent,
        url,
        'POST',
        {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(LINE_SECRET, signedUrl, p),
        },
        p.toString(),
      );
      if (r.status === 200) out.accepted++;
      else out.failed++;
      out.latencies.push(r.ms);
    }
    return out;
  };
}

/**
 * Open loop at a fixed rate: requests are started on schedule whatever the answers do (no coordinated
 * omission). Latency from the request's start; "scheduled" adds the client's own scheduling delay.
 */
async function fixedRate(
  target: Target,
  o: { rate: number; seconds: number },
  next: (i: number) => { path: string; known: boolean },
) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const headers = { authorization: `Bearer ${LINE_SECRET}` };
  const total = Math.round(o.rate * o.seconds);
  const samples: { ms: number; sched: number; known: boolean; ok: boolean; answerOk: boolean }[] = [];
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1_000) * o.rate));
      while (sent < due) {
        const i = sent++;
        const scheduledAt = start + (i / o.rate) * 1_000;
        const q = next(i);
        inflight.push(
          request(agent, new URL(q.path, target.url), 'GET', headers).then((r) => {
            let answerOk = false;
            try {
              answerOk = r.status === 200 && (JSON.parse(r.body) as { known: boolean }).known === q.known;
            } catch {
              answerOk = false;
            }
            samples.push({
              ms: r.ms,
              sched: performance.now() - scheduledAt,
              known: q.known,
              ok: r.status === 200,
              answerOk,
            });
          }),
        );
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1_000;
  agent.destroy();
  return { samples, achievedRate: total / elapsed };
}

// --- where the routing answer's time goes -------------------------------------------------------------------

const QUERY_NAMES: [RegExp, string][] = [
  [/FROM telephony_lines/, 'getLine'],
  [/FROM identities/, 'findIdentities'],
  [/FROM leads l LEFT JOIN operators/, 'findOwners'],
  [/FROM regions g/, 'listRegions'],
  [/FROM operator_regions/, 'regionCandidates'],
  [/FROM assignment_state/, 'assignmentPointers'],
  [/FROM app_settings/, 'getSetting'],
  [/SELECT id FROM operators WHERE id = ANY/, 'activeOperatorIds'],
  [/SELECT id, name, extension FROM operators/, 'operatorsBrief'],
];
const queryName = (sql: string) => QUERY_NAMES.find(([re]) => re.test(sql))?.[1] ?? sql.slice(0, 40);

/**
 * The handler's database work, replayed in-process against the bench's database (idle service): the route
 * handler's getLine + lookupClient, each query timed. Shows how many round trips each kind of caller costs.
 */
async function queryBreakdown(schemaUrl: string, known: string[], unknown: string[]) {
  const db = createPgDatabase({ connectionString: schemaUrl, max: 2 });
  try {
    const run = async (phones: string[]) => {
      const perQuery = new Map<string, number[]>();
      const totals: number[] = [];
      let queries = 0;
      for (const phone of phones) {
        const timed: Queryable = {
          async query(text, params) {
            const t0 = performance.now();
            try {
              return await db.query(text, params);
            } finally {
              const name = queryName(text);
              const list = perQuery.get(name) ?? [];
              list.push(performance.now() - t0);
              perQuery.set(name, list);
              queries++;
            }
          },
        };
        const t0 = performance.now();
        const line = await getLine(timed, LINE);
        await lookupClient(timed, { phone }, 'RU', {
          explicitRegionId: line?.regionId,
          calledLine: line?.number ?? LINE,
        });
        totals.push(performance.now() - t0);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const parts = [...perQuery]
        .map(([name, xs]) => ({ name, each: mean(xs), n: xs.length / phones.length }))
        .sort((a, b) => b.each * b.n - a.each * a.n);
      return {
        queriesPerLookup: queries / phones.length,
        meanMs: mean(totals),
        p99Ms: percentile(sortNum(totals), 99),
        parts: parts
          .map((p) => `${p.name}${p.n > 1.01 ? `×${p.n.toFixed(1)}` : ''} ${p.each.toFixed(2)}`)
          .join(', '),
      };
    };
    await run(known.slice(0, 10)); // warm the pool and the plans
    return { known: await run(known), unknown: await run(unknown) };
  } finally {
    await db.close();
  }
}

// --- the bench ----------------------------------------------------------------------------------------------

export async function runTelephonyBench(
  opts: TelephonyBenchOptions = {},
): Promise<{ rows: BenchRow[]; targets?: TargetCheck[] }> {
  const log = opts.log ?? (() => {});
  const quick = opts.quick ?? false;
  const phase = { loadSec: quick ? 4 : 10, routeSec: quick ? 5 : 10, drainSec: quick ? 15 : 30 };
  const rows: BenchRow[] = [];
  const bounded = Date.now() + (quick ? 40_000 : 120_000);

  if (!opts.baseUrl) {
    const pgHost = new URL(PG_URL).host || '127.0.0.1:5432';
    for (const [name, hp] of [
      ['PostgreSQL', pgHost],
      ['Kafka', BROKERS[0]!],
    ] as const) {
      if (!(await tcpReachable(hp))) {
        return {
          rows: [{ metric: 'telephony', value: `skipped: ${name} is not reachable at ${hp}` }],
        };
      }
    }
  }
  const load = loadavg().map((l) => l.toFixed(1));
  rows.push({
    metric: 'telephony: machine',
    value: `${cpus().length} cores, load average ${load.join(' / ')} at start (PostgreSQL, Kafka, service and load generator share them)`,
  });
  const target = opts.baseUrl ? externalService(opts.baseUrl) : await startOwnService(log);
  try {
    const nextNumber = numbers();
    // Warm-up: the consumer group's first join and the first batches' plans are not part of the figures.
    log('telephony: warm-up');
    const warm = await closedLoop(
      target,
      { seconds: 1, connections: 4, drainSec: 30 },
      genericCall(target, numbers()),
    );
    if (warm.failed > 0 || Number.isNaN(warm.endToEndSec)) {
      throw new Error(`warm-up failed: ${warm.failed} refused, ${warm.committed}/${warm.accepted} committed`);
    }

    const knownCallers: string[] = [];
    const recording = () => {
      const n = nextNumber();
      knownCallers.push(n);
      return n;
    };
    const report = (name: string, unit: string, r: LoadResult) => {
      const lat = sortNum(r.latencies);
      rows.push({
        metric: `telephony ${name}: HTTP accepted`,
        value: `${fmtInt(r.accepted / r.sendSec)} ${unit}/s (p50 ${fmtMs(percentile(lat, 50))}, p99 ${fmtMs(percentile(lat, 99))}, ${CONNECTIONS} conn, ${r.failed} refused)`,
      });
      rows.push({
        metric: `telephony ${name}: end to end, committed`,
        value: Number.isNaN(r.endToEndSec)
          ? `not drained: ${fmtInt(r.committed)} of ${fmtInt(r.accepted)} committed ${phase.drainSec} s after the load`
          : `${fmtInt(r.accepted / r.endToEndSec)} events/s (${fmtInt(r.accepted)} events; last commit ${fmtMs(r.commitLagMs)} after the last answer)`,
      });
    };

    log(`telephony: generic call records, ${phase.loadSec} s`);
    const generic = await closedLoop(
      target,
      { seconds: phase.loadSec, connections: CONNECTIONS, drainSec: phase.drainSec },
      genericCall(target, recording),
    );
    report('generic', 'calls', generic);

    log(`telephony: Twilio status callbacks (3 per call, signed), ${phase.loadSec} s`);
    const twilio = await closedLoop(
      target,
      { seconds: phase.loadSec, connections: CONNECTIONS, drainSec: phase.drainSec },
      twilioCall(target, nextNumber),
    );
    report('twilio', 'callbacks', twilio);

    // Routing answer: half known callers (clients the generic phase created), half unknown ones in a region
    // with rules (+7812, Saint Petersburg), a region without (+7383) and Moscow.
    const unknownPrefixes = ['+7812', '+7383', '+7495'];
    const unknownOf = (i: number) =>
      `${unknownPrefixes[i % 3]}${String(9_000_000 + ((i * 7_919) % 999_999)).padStart(7, '0')}`;
    const known = knownCallers.slice(0, Math.min(knownCallers.length, 5_000));
    if (known.length === 0) throw new Error('no known callers: the generic phase committed nothing');
    const routeQuery = (i: number) => {
      const isKnown = i % 2 === 0;
      const from = isKnown ? known[(i / 2) % known.length]! : unknownOf(i);
      return { path: `/v1/telephony/route?from=${encodeURIComponent(from)}&line=${LINE}`, known: isKnown };
    };

    /** One fixed-rate phase, with the CPU each party spent on it. */
    const routingPhase = async (rate: number, seconds: number) => {
      const metricsBefore = routeBuckets(await target.metrics(), '/v1/telephony/route');
      const cpu0 = {
        service: cpuSeconds(target.pid),
        pg: await target.pgBackendCpu(),
        bench: process.cpuUsage(),
      };
      const r = await fixedRate(target, { rate, seconds }, routeQuery);
      const pgAfter = await target.pgBackendCpu();
      let pgCpu = Number.NaN;
      if (cpu0.pg && pgAfter) {
        pgCpu = 0;
        for (const [pid, cpu] of pgAfter) pgCpu += cpu - (cpu0.pg.get(pid) ?? 0);
      }
      const bench = process.cpuUsage(cpu0.bench);
      const metricsAfter = routeBuckets(await target.metrics(), '/v1/telephony/route');
      const all = sortNum(r.samples.map((x) => x.ms));
      const byKind = (k: boolean) => sortNum(r.samples.filter((x) => x.known === k).map((x) => x.ms));
      return {
        ...r,
        seconds,
        all,
        known: byKind(true),
        unknown: byKind(false),
        sched: sortNum(r.samples.map((x) => x.sched)),
        errors: r.samples.filter((x) => !x.ok).length,
        wrong: r.samples.filter((x) => x.ok && !x.answerOk).length,
        serverP50: quantileBetween(metricsBefore, metricsAfter, 0.5) * 1_000,
        serverP99: quantileBetween(metricsBefore, metricsAfter, 0.99) * 1_000,
        /** CPU ms per answer: service process, its PostgreSQL backends, this load generator. */
        cpuMs: {
          service: ((cpuSeconds(target.pid) - cpu0.service) * 1_000) / r.samples.length,
          pg: (pgCpu * 1_000) / r.samples.length,
          bench: (bench.user + bench.system) / 1_000 / r.samples.length,
        },
      };
    };
    const describePhase = (x: Awaited<ReturnType<typeof routingPhase>>) =>
      `${fmtInt(x.achievedRate)} req/s achieved, ${x.samples.length} requests, ${x.errors} errors, ${x.wrong} wrong known/unknown answers; server-side (Fastify histogram) p50 ≤ ${fmtMs(x.serverP50)}, p99 ≤ ${fmtMs(x.serverP99)}`;

    const remaining = () => (bounded - Date.now()) / 1_000;
    const calmSec = quick ? 2 : 4;
    log(`telephony: routing answer at 100 req/s for ${calmSec} s (below saturation)`);
    const calm = await routingPhase(100, calmSec);
    rows.push({
      metric: 'routing answer @ 100 req/s, p50 / p99',
      value: `${fmtMs(percentile(calm.all, 50))} / ${fmtMs(percentile(calm.all, 99))} (known p99 ${fmtMs(percentile(calm.known, 99))}, unknown p99 ${fmtMs(percentile(calm.unknown, 99))})`,
    });

    const routeSec = Math.max(2, Math.min(phase.routeSec, remaining() - (quick ? 6 : 10)));
    log(`telephony: routing answer at ${ROUTE_RATE} req/s for ${routeSec.toFixed(0)} s`);
    const route = await routingPhase(ROUTE_RATE, routeSec);
    const p99 = percentile(route.all, 99);
    rows.push({
      metric: `routing answer @ ${ROUTE_RATE} req/s, p50 / p99`,
      value: `${fmtMs(percentile(route.all, 50))} / ${fmtMs(p99)} (target p99 ≤ ${ROUTE_TARGET_P99_MS} ms: ${p99 <= ROUTE_TARGET_P99_MS ? 'met' : 'MISSED'}; max ${fmtMs(route.all.at(-1) ?? Number.NaN)}; incl. client scheduling delay ${fmtMs(percentile(route.sched, 99))})`,
    });
    rows.push({
      metric: `routing answer @ ${ROUTE_RATE} req/s: known / unknown caller`,
      value: `p50 ${fmtMs(percentile(route.known, 50))} / ${fmtMs(percentile(route.unknown, 50))}, p99 ${fmtMs(percentile(route.known, 99))} / ${fmtMs(percentile(route.unknown, 99))}`,
    });
    rows.push({ metric: `routing answer @ ${ROUTE_RATE} req/s: run`, value: describePhase(route) });
    const c = route.cpuMs;
    if (Number.isFinite(c.service)) {
      const total = c.service + (Number.isFinite(c.pg) ? c.pg : 0) + c.bench;
      rows.push({
        metric: 'routing answer: CPU per answer',
        value: `service ${c.service.toFixed(2)} ms + PostgreSQL ${Number.isFinite(c.pg) ? `${c.pg.toFixed(2)} ms` : 'n/a'} + load generator ${c.bench.toFixed(2)} ms = ${total.toFixed(2)} ms → at most ≈ ${fmtInt((cpus().length * 1_000) / total)} answers/s on ${cpus().length} idle cores`,
      });
    }
    if (target.schemaUrl) {
      const n = quick ? 100 : 300;
      const b = await queryBreakdown(
        target.schemaUrl,
        known.slice(0, n),
        Array.from({ length: n }, (_, i) => unknownOf(i + 1)),
      );
      for (const [kind, r] of [
        ['known', b.known],
        ['unknown', b.unknown],
      ] as const) {
        rows.push({
          metric: `routing answer, ${kind} caller: DB work (idle, in-process)`,
          value: `${r.queriesPerLookup.toFixed(1)} queries in sequence, mean ${fmtMs(r.meanMs)}, p99 ${fmtMs(r.p99Ms)}; ms each: ${r.parts}`,
        });
      }
    }
    const answerCpu = c.service + c.pg;
    const targets: TargetCheck[] = [
      atMost(`PBX routing answer p99 at ${ROUTE_RATE} req/s`, p99, ROUTE_TARGET_P99_MS, fmtMs),
      atMost(
        'PBX routing answer CPU (service + PostgreSQL)',
        answerCpu,
        ROUTE_TARGET_CPU_MS,
        (v) => `${v.toFixed(2)} ms`,
      ),
    ];
    return { rows, targets };
  } finally {
    log('telephony: cleaning up');
    await target.close();
  }
}

// Standalone: `tsx bench/telephony.ts [--quick] [--base-url=URL]`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const baseUrl = args.find((a) => a.startsWith('--base-url='))?.slice('--base-url='.length);
  const started = Date.now();
  runTelephonyBench({
    quick: args.includes('--quick'),
    baseUrl,
    log: (l) => console.error(`[${Math.round((Date.now() - started) / 1_000)} s] ${l}`),
  })
    .then(({ rows }) => {
      const w = Math.max(...rows.map((r) => r.metric.length));
      for (const r of rows) console.log(`${r.metric.padEnd(w)}  ${r.value}`);
      console.log(`(${Math.round((Date.now() - started) / 1_000)} s)`);
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
