import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import type { LoadCommand, OperatorResults, VisitorResults } from './chat-load.js';
import { browserFirstLoad, httpFirstLoad } from './console-load.js';
import { CpuMeter, type CpuShares } from './cpu.js';
import {
  BROKERS,
  type Buckets,
  buckets,
  type ChildService,
  guarded,
  PG_URL,
  quantileBetween,
  ROOT,
  removeBenchTraces,
  spawnChild,
} from './service-process.js';
import { int, ms, sleep, summarise } from './stats.js';
import { atMost, type TargetCheck } from './targets.js';

/**
 * Operators' console and website live chat in real time (issue 9, item 6): two API instances (ROLE=all) on Kafka
 * + PostgreSQL with a fresh schema, topics and NOTIFY channel; visitors (GET /v1/widget/ws) and operators
 * (signed in with passwords set through the admin API, one console socket each) spread over both, so a visitor
 * and the operator answering them are on different instances half the time (the PostgreSQL LISTEN/NOTIFY hub's
 * fan-out). At a steady rate of visitor messages it times visitor message → the responsible operator's socket
 * (`message.created`) and operator reply (REST) → the visitor's socket; memory per connection from the services'
 * RSS; and the console's first load over HTTP and in Chromium. Prints figures; never asserts.
 *
 * The sockets live in child processes (bench/chat-load.ts): two for visitors, one for operators.
 */
export interface ChatBenchOptions {
  quick?: boolean;
  visitors?: number;
  operators?: number;
  /** Visitor messages per second in the measured phase. */
  rate?: number;
  /** Operator replies per second (operators answer that share of the messages they receive). */
  replies?: number;
  seconds?: number;
  /** false: operators stop refetching their work list on `work.changed` once subscribed (isolates the chat path). */
  workList?: boolean;
  log?: (line: string) => void;
}

export interface ChatRow {
  metric: string;
  value: string;
  target: string;
}

export const CHAT_TARGET_P99_MS = 200;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const ORIGIN = 'https://shop.bench.example';
const WIDGET = 'bench-chat';
const PASSWORD = 'bench-operator-password';

/** A load-generator child (bench/chat-load.ts): commands over IPC, one answer each. */
class LoadProcess {
  private next = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private tail = '';
  private constructor(private readonly child: ChildProcess) {
    const keep = (b: Buffer) => {
      this.tail = (this.tail + b.toString('utf8')).slice(-4_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error) w?.reject(new Error(m.error));
      else w?.resolve(m.result);
    });
    child.once('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load process exited ${code}: ${this.tail}`));
      this.waiting.clear();
    });
  }

  static start(): LoadProcess {
    return new LoadProcess(
      spawn(process.execPath, ['--import', 'tsx', 'bench/chat-load.ts'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<T>(command: LoadCommand, timeoutMs = 120_000): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`load process: ${command.cmd} took over ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, command });
    });
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Resident memory of a process, bytes (Linux; NaN elsewhere). */
function rss(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function admin(url: string, method: string, path: string, body?: unknown) {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** One histogram over all instances: their buckets added. */
function merged(texts: string[], name: string): Buckets {
  const out: Buckets = new Map();
  for (const t of texts) for (const [le, n] of buckets(t, name)) out.set(le, (out.get(le) ?? 0) + n);
  return out;
}

/** prom-client's event-loop delay gauge, less its 10 ms sampling resolution, worst instance. */
const loopDelay = (texts: string[], q: string) =>
  Math.max(
    ...texts.map((t) => {
      const line = t.split('\n').find((l) => l.startsWith(`nodejs_eventloop_lag_${q}_seconds `));
      return line ? Math.max(0, Number(line.split(' ').pop()) * 1000 - 10) : Number.NaN;
    }),
  );

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const kb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KB` : 'n/a');
const p50p99 = (xs: number[]) => {
  const s = summarise(xs);
  return `${ms(s.p50)} / ${ms(s.p99)}`;
};
const cpuCell = (c: CpuShares) => {
  const f = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}%` : 'n/a');
  return `${f(c.service)} / ${f(c.postgres)} / ${f(c.kafka)} / ${f(c.loadGenerator)} / ${f(c.other)}`;
};

export async function runChatBench(
  opts: ChatBenchOptions = {},
): Promise<{ rows: ChatRow[]; targets: TargetCheck[] }> {
  const log = opts.log ?? (() => {});
  const visitors = opts.visitors ?? (opts.quick ? 500 : 2_000);
  const operatorCount = opts.operators ?? (opts.quick ? 20 : 50);
  const rate = opts.rate ?? (opts.quick ? 50 : 200);
  const replies = Math.min(rate, opts.replies ?? Math.max(1, Math.round(rate / 4)));
  const seconds = opts.seconds ?? (opts.quick ? 15 : 60);
  const warmupSec = opts.quick ? 5 : 10;

  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const schema = `bench_chat_${id}`;
  const prefix = `bench-chat-${id}-`;
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const schemaUrl = u.toString();
  u.searchParams.set('application_name', schema);
  const serviceUrl = u.toString();
  const adminPg = new pg.Client({ connectionString: PG_URL });
  try {
    await adminPg.connect();
  } catch (e) {
    return {
      rows: [{ metric: 'skipped', value: `PostgreSQL unreachable: ${(e as Error).message}`, target: '' }],
      targets: [],
    };
  }
  await adminPg.query(`CREATE SCHEMA ${schema}`);
  const services: ChildService[] = [];
  // The bench listens on the instances' NOTIFY channel too: when a notice was heard splits the latencies into
  // "until PostgreSQL delivered the notice" and "from there to the socket".
  const listener = new pg.Client({ connectionString: PG_URL });
  const heard = { message: [] as number[], reply: [] as number[] };
  const loads: LoadProcess[] = [];
  // Each visitor may send this many a minute at the offered rate; the limits are raised only above it.
  const perVisitorPerMin = Math.ceil((rate * 60) / visitors);
  const limit = String(Math.max(20, 3 * perVisitorPerMin + 5));

  return guarded(
    async () => {
      const db = createPgDatabase({ connectionString: schemaUrl, max: 1 });
      await migrate(db);
      await db.close();
      await listener.connect();
      listener.on('notification', (n) => {
        if (!n.payload?.includes('message.created')) return;
        const at = performance.timeOrigin + performance.now();
        const text = (JSON.parse(n.payload) as { data?: { message?: { text?: string } } }).data?.message
          ?.text;
        const [kind, phase, sentAt] = (text ?? '').split(' ');
        if (phase !== 'm') return;
        if (kind === 'msg') heard.message.push(at - Number(sentAt));
        else if (kind === 'reply') heard.reply.push(at - Number(sentAt));
      });
      await listener.query(`LISTEN ${schema}`);
      log(
        `chat: two API instances (ROLE=all), schema ${schema}, topics ${prefix}*, NOTIFY channel ${schema}`,
      );
      const env = {
        ROLE: 'all',
        DATABASE_URL: serviceUrl,
        KAFKA_BROKERS: BROKERS.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: 'router',
        REALTIME_CHANNEL: schema,
        ADMIN_TOKEN,
        DEMO_SEED: 'false',
        LOG_LEVEL: 'warn',
        // A/B of where each instance routes: `ROUTER_THREAD=inline npm run bench -- --only=chat` (default: worker).
        ...(process.env.ROUTER_THREAD ? { ROUTER_THREAD: process.env.ROUTER_THREAD } : {}),
        // Visitors come from distinct addresses in X-Forwarded-For, as from the web behind a proxy.
        TRUST_PROXY: 'true',
        LIVECHAT_RATE_LIMIT: limit,
        LIVECHAT_IP_RATE_LIMIT: limit,
      };
      // The first creates the topics; the second joins the router group beside it.
      services.push(await spawnChild(env, { timeoutMs: 120_000 }));
      services.push(await spawnChild(env, { timeoutMs: 120_000 }));
      const urls = services.map((s) => s.url);
      const [a, b] = urls as [string, string];

      // Console first load: instance B has served nothing yet (cold); the browser goes to A, also cold.
      log('chat: console first load over HTTP (cold)');
      const http = await httpFirstLoad(b).catch((e: Error) => e.message);

      log(`chat: admin set-up: a region, ${operatorCount} operators with passwords, the widget`);
      const region = (await admin(a, 'POST', '/v1/admin/regions', {
        code: 'bench-chat',
        name: 'Bench chat',
        strategy: 'round_robin',
      })) as { id: number };
      const accounts: { login: string; password: string }[] = [];
      for (let i = 0; i < operatorCount; i++) {
        const login = `bench.op${i + 1}`;
        await admin(a, 'POST', '/v1/admin/operators', {
          login,
          name: `Bench operator ${i + 1}`,
          regionIds: [region.id],
          role: 'operator',
          password: PASSWORD,
        });
        accounts.push({ login, password: PASSWORD });
      }
      await admin(a, 'PUT', `/v1/admin/widgets/${WIDGET}`, {
        name: 'Bench shop',
        allowedOrigins: [ORIGIN],
        regionId: region.id,
        source: 'Bench shop chat',
      });

      log('chat: console in Chromium (fresh context): navigation → sign-in form, sign-in → My work');
      const browser = await browserFirstLoad(a, accounts[0]!).catch((e: Error) => `failed: ${e.message}`);

      const ops = LoadProcess.start();
      const vis = [LoadProcess.start(), LoadProcess.start()];
      loads.push(ops, ...vis);
      log(`chat: ${operatorCount} operators sign in and open their console sockets (both instances)`);
      const opsUp = await ops.call<{ connected: number }>({ cmd: 'operators', urls, accounts });
      await sleep(2_000);
      const rssBefore = services.map((s) => rss(s.pid));
      const connectPerSec = opts.quick ? 200 : 250;
      log(`chat: ${int(visitors)} visitors connect (${connectPerSec}/s over ${vis.length} load processes)`);
      const half = Math.ceil(visitors / vis.length);
      const connected = (
        await Promise.all(
          vis.map((p, i) =>
            p.call<{ connected: number }>(
              {
                cmd: 'visitors',
                urls,
                widget: WIDGET,
                origin: ORIGIN,
                count: Math.min(half, visitors - i * half),
                firstIndex: i * half,
                connectPerSec: connectPerSec / vis.length,
              },
              300_000,
            ),
          ),
        )
      ).reduce((n, r) => n + r.connected, 0);
      await sleep(3_000);
      const rssConnected = services.map((s) => rss(s.pid));
      const perConnection =
        (rssConnected.reduce((x, y) => x + y, 0) - rssBefore.reduce((x, y) => x + y, 0)) / connected;
      log(
        `chat: ${int(connected)} visitors connected; service RSS ${rssBefore.map(mb).join(' + ')} → ${rssConnected.map(mb).join(' + ')}`,
      );

      log(`chat: every visitor opens a conversation (first message, ${rate}/s)`);
      const opened = (
        await Promise.all(
          vis.map((p) => p.call<{ acked: number }>({ cmd: 'open', perSec: rate / vis.length }, 300_000)),
        )
      ).reduce((n, r) => n + r.acked, 0);
      log(`chat: ${int(opened)} conversations opened; waiting for the operators to subscribe to them`);
      const subscribeDeadline = Date.now() + 180_000;
      let subscribed = 0;
      while (Date.now() < subscribeDeadline) {
        subscribed = (await ops.call<{ subscribed: number }>({ cmd: 'status' })).subscribed;
        if (subscribed >= opened) break;
        await sleep(500);
      }
      log(`chat: operators subscribed to ${int(subscribed)} conversations`);
      await sleep(1_000);

      await ops.call({ cmd: 'reply', probability: replies / rate });
      const workList = opts.workList ?? true;
      if (!workList) await ops.call({ cmd: 'worklist', on: false });
      log(
        `chat: ${rate} visitor messages/s, operators answer ${replies}/s: warm-up ${warmupSec} s, measured ${seconds} s`,
      );
      const fetchesBefore = (await ops.call<{ workFetches: number }>({ cmd: 'status' })).workFetches;
      const runStart = Date.now();
      const cpu = new CpuMeter(
        () => services.map((s) => s.pid),
        async () =>
          (
            await adminPg.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity WHERE application_name = $1 OR backend_type <> 'client backend'`,
              [schema],
            )
          ).rows.map((r) => r.pid),
        () => loads.map((l) => l.pid),
      );
      const scrape = () => Promise.all(services.map((s) => s.metrics().catch(() => '')));
      let metricsBefore: string[] = [];
      const cpuTimer = setTimeout(() => {
        void cpu.begin();
        void scrape().then((t) => {
          metricsBefore = t;
        });
      }, warmupSec * 1_000);
      const sent = (
        await Promise.all(
          vis.map((p) =>
            p.call<{ sent: number }>(
              { cmd: 'run', perSec: rate / vis.length, warmupSec, seconds },
              (warmupSec + seconds + 60) * 1_000,
            ),
          ),
        )
      ).reduce((n, r) => n + r.sent, 0);
      clearTimeout(cpuTimer);
      const fetchesPerSec =
        ((await ops.call<{ workFetches: number }>({ cmd: 'status' })).workFetches - fetchesBefore) /
        ((Date.now() - runStart) / 1_000);
      const shares = await cpu.end();
      const metricsAfter = await scrape();
      const routerLatency = (q: number) =>
        quantileBetween(
          merged(metricsBefore, 'router_event_latency_seconds'),
          merged(metricsAfter, 'router_event_latency_seconds'),
          q,
        ) * 1_000;
      const rssEnd = services.map((s) => rss(s.pid));

      // Let the messages and replies under way arrive (operators still answer measured messages that arrive late,
      // so a backlog cannot hide the reply path): until all have, or nothing more arrived for 20 s, at most 60 s.
      // What has not arrived by then counts as not shown (and the p99 is a lower bound).
      const drainUntil = Date.now() + 60_000;
      for (let last = -1, movedAt = Date.now(); Date.now() < drainUntil; await sleep(500)) {
        const s = await ops.call<{ received: number; repliesSent: number }>({ cmd: 'status' });
        const v = await Promise.all(vis.map((p) => p.call<{ replies: number }>({ cmd: 'status' })));
        const shownNow = v.reduce((n, x) => n + x.replies, 0);
        if (s.received >= sent && shownNow >= s.repliesSent) break;
        if (s.received + shownNow !== last) movedAt = Date.now();
        else if (Date.now() - movedAt > 20_000) break;
        last = s.received + shownNow;
      }
      await ops.call({ cmd: 'reply', probability: 0 });
      const o = await ops.call<OperatorResults>({ cmd: 'results' });
      const vs = await Promise.all(vis.map((p) => p.call<VisitorResults>({ cmd: 'results' })));
      const ack = vs.flatMap((v) => v.ack);
      const shown = vs.flatMap((v) => v.reply);
      const errors = { ...o.errors };
      for (const v of vs) for (const [k, n] of Object.entries(v.errors)) errors[k] = (errors[k] ?? 0) + n;
      const closed = o.closed + vs.reduce((n, v) => n + v.closed, 0);
      const ok = (o.replies.byStatus['201'] ?? 0) + (o.replies.byStatus['202'] ?? 0);
      const latency = (xs: number[], expected: number) =>
        !xs.length && expected
          ? `none of ${int(expected)} arrived by the end of the drain ✗`
          : p50p99(xs) +
            (xs.length ? (summarise(xs).p99 <= CHAT_TARGET_P99_MS ? ' ✓' : ' ✗') : '') +
            (xs.length < expected ? ` (${int(expected - xs.length)} not shown: a lower bound)` : '');
      const work = summarise(o.work.latency);
      for (const [k, n] of Object.entries(errors).slice(0, 10)) log(`chat: ${n} × ${k}`);

      const rows: ChatRow[] = [
        {
          metric: 'Connected: visitors / operators (over 2 API instances)',
          value: `${int(connected)} of ${int(visitors)} / ${opsUp.connected} of ${operatorCount}`,
          target: '2,000 / 50',
        },
        {
          metric: `Visitor message → responsible operator's socket (message.created), p50 / p99 at ${rate} msg/s`,
          value: latency(o.message, sent),
          target: `p99 ≤ ${CHAT_TARGET_P99_MS} ms`,
        },
        {
          metric: '  messages shown to an operator / sent (measured phase)',
          value: `${int(o.message.length)} / ${int(sent)}`,
          target: 'all',
        },
        {
          metric: '  visitor message → ack (durable on Kafka), p50 / p99; acks / sent',
          value: `${p50p99(ack)}; ${int(ack.length)} / ${int(sent)}`,
          target: '',
        },
        {
          metric: '  visitor message → its message.created NOTIFY heard by a listener, p50 / p99',
          value: p50p99(heard.message),
          target: '',
        },
        {
          metric: '  visitor frame received → router commit (router metric, bucket bounds) p50 / p99',
          value: `≤ ${ms(routerLatency(0.5))} / ≤ ${ms(routerLatency(0.99))}`,
          target: '',
        },
        {
          metric: '  service event loop delay p50 / p99 (worst instance, end of the run)',
          value: `${ms(loopDelay(metricsAfter, 'p50'))} / ${ms(loopDelay(metricsAfter, 'p99'))}`,
          target: '',
        },
        {
          metric: `Operator reply (REST) → visitor's socket (message frame), p50 / p99 at ${replies} replies/s`,
          value: latency(shown, o.replies.sent),
          target: `p99 ≤ ${CHAT_TARGET_P99_MS} ms`,
        },
        {
          metric: '  replies shown to the visitor / accepted (201, 202) / sent',
          value: `${int(shown.length)} / ${int(ok)} / ${int(o.replies.sent)}`,
          target: 'all',
        },
        {
          metric: '  reply sent → its message.created NOTIFY heard by a listener, p50 / p99',
          value: p50p99(heard.reply),
          target: '',
        },
        { metric: '  reply REST answer p50 / p99', value: p50p99(o.replies.rest), target: '' },
        {
          metric: '  work list refetches on work.changed (throttled as the console does): per s, p50 / p99',
          value: workList
            ? `${fetchesPerSec.toFixed(0)}/s, ${ms(work.p50)} / ${ms(work.p99)}`
            : 'off (--chat-no-worklist)',
          target: '',
        },
        {
          metric:
            'Service memory per visitor connection (RSS of both instances after − before, / connections)',
          value: kb(perConnection),
          target: '',
        },
        {
          metric: 'Service RSS: before visitors / connected / after the run (both instances)',
          value: [rssBefore, rssConnected, rssEnd].map((x) => mb(x.reduce((p, q) => p + q, 0))).join(' / '),
          target: '',
        },
        {
          metric: 'CPU, measured phase: service / PostgreSQL / Kafka / load generators / other users',
          value: cpuCell(shares),
          target: '200% = 2 cores',
        },
        {
          metric: 'Sockets closed during the run / errors',
          value: `${int(closed)} / ${int(Object.values(errors).reduce((x, y) => x + y, 0))}`,
          target: '0 / 0',
        },
        {
          metric: 'Console first load over HTTP, cold: page, then app.js + app.css',
          value:
            typeof http === 'string'
              ? http
              : `${ms(http.totalMs)} (page ${ms(http.pageMs)}; ${kb(http.bytes.page + http.bytes.js + http.bytes.css)}, script ${kb(http.bytes.js)}, ${http.encoding === 'none' ? 'uncompressed' : http.encoding})`,
          target: '',
        },
        {
          metric: 'Console in Chromium, fresh context: navigation → sign-in form takes input',
          value:
            typeof browser === 'string'
              ? browser
              : `${ms(browser.formMs)} (page clock ${ms(browser.formInPageMs)}, DOMContentLoaded ${ms(browser.domContentLoadedMs)})`,
          target: '',
        },
        {
          metric: 'Console in Chromium: "Sign in" → My work shown',
          value: typeof browser === 'string' ? 'n/a' : ms(browser.signInMs),
          target: '',
        },
      ];
      // A message never shown is worse than a slow one: the target is missed whenever one is missing.
      const p99Check = (figure: string, xs: number[], expected: number): TargetCheck => {
        const c = atMost(figure, summarise(xs).p99, CHAT_TARGET_P99_MS, ms);
        return xs.length < expected
          ? { ...c, measured: `${c.measured}; ${int(expected - xs.length)} not shown`, met: false }
          : c;
      };
      const targets = [
        p99Check(`Live chat: visitor message → operator's socket, p99 at ${rate} msg/s`, o.message, sent),
        p99Check(
          `Live chat: operator reply → visitor's socket, p99 at ${replies} replies/s`,
          shown,
          o.replies.sent,
        ),
      ];
      return { rows, targets };
    },
    async () => {
      for (const l of loads) l.stop();
      await listener.end().catch(() => {});
      await Promise.all(services.map((s) => s.stop()));
      await removeBenchTraces({ prefix, schema, adminPg });
    },
  );
}
