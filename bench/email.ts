/**
 * Email channel benchmark: the real IMAP connector, router and CRM database, composed by app/service.ts.
 *
 *   tsx bench/email.ts [--quick]          standalone; `npm run bench` calls runEmailBench()
 *
 * 1. Pre-fills a fresh Dovecot folder (scripts/dovecot.sh, 127.0.0.1:10143, user inbox@example.test) with
 *    10,000 small real-looking messages over IMAP APPEND (--quick: 1,000).
 * 2. Starts the service (embedded default: PGlite + in-process bus, temp DATA_DIR) with one mailbox watching that
 *    folder (syncSince before the pre-fill, so all of it is taken), and measures messages ingested per second:
 *    service started -> the last activity committed.
 * 3. Under IDLE, APPENDs 200 messages spaced out at 20/s (--quick: 100) and measures APPEND -> committed activity
 *    (p50/p99): from just before the APPEND command to the activity being seen in the database (polled every
 *    20 ms, so the figures include up to 20 ms of polling).
 * 4. The same on PostgreSQL (a fresh schema on BENCH_DATABASE_URL / TEST_DATABASE_URL; in-process bus), reading
 *    the same folder again (it then holds the pre-fill plus phase 3's messages).
 * Loopback only; the temp directory, the schema and the folder are removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { loadConfig } from '../app/config.js';
import { type Service, startService } from '../app/service.js';
import type { MailboxSettings } from '../channels/settings.js';
import type { Database } from '../crm-core/db/database.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { createPgliteDatabase } from '../crm-core/db/pglite.js';
import { insertMailbox } from '../crm-core/repositories/channel-settings.repository.js';
import { createLogger } from '../lib/logger.js';

export interface EmailBenchRow {
  metric: string;
  value: string;
}

const IMAP_PORT = Number(process.env.BENCH_IMAP_PORT ?? process.env.TEST_IMAP_PORT ?? 10143);
const USER = 'inbox@example.test';
const PASSWORD = 'secret';
const PG_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const APPEND_BATCH = 250;
const POLL_MS = 20;

export async function runEmailBench(opts: { quick?: boolean } = {}): Promise<{ rows: EmailBenchRow[] }> {
  const total = opts.quick ? 1_000 : 10_000;
  const latencyCount = opts.quick ? 100 : 200;
  const ratePerSec = 20;
  const ingestTimeoutMs = opts.quick ? 20_000 : 60_000;
  const rows: EmailBenchRow[] = [];
  const log = (line: string) => console.log(`  [email] ${line}`);

  if (!(await reachable('127.0.0.1', IMAP_PORT))) {
    rows.push({
      metric: 'email',
      value: `skipped: Dovecot not reachable on 127.0.0.1:${IMAP_PORT} (bash scripts/dovecot.sh start)`,
    });
    return { rows };
  }
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const folder = `bench-${run}`;
  const address = `inbox+bench${run}@example.test`;
  const since = new Date(Date.now() - 2 * 86_400_000).toISOString();
  const messages = new Messages(run, address);

  try {
    log(`pre-filling ${folder} with ${fmtInt(total)} messages`);
    const fill = await prefill(folder, total, messages);
    rows.push({
      metric: `email pre-fill: IMAP MULTIAPPEND, ${APPEND_BATCH} per command`,
      value: `${fmtInt(total)} messages in ${fmtSec(fill.ms)} (${fmtInt((total * 1000) / fill.ms)}/s, ${fmtInt(fill.bytes / total)} B each)`,
    });

    const backends: { name: string; label: string; make: () => Promise<Backend | undefined> }[] = [
      { name: 'embedded', label: 'PGlite + in-process bus', make: () => pgliteBackend() },
      { name: 'PostgreSQL', label: 'PostgreSQL + in-process bus', make: () => pgBackend() },
    ];
    let expected = total;
    for (const b of backends) {
      const backend = await b.make();
      if (!backend) {
        rows.push({
          metric: `email ${b.name}`,
          value: `skipped: PostgreSQL not reachable (${redact(PG_URL)})`,
        });
        continue;
      }
      try {
        log(`${b.name}: ingesting ${fmtInt(expected)} messages`);
        const r = await measure(backend, {
          folder,
          address,
          since,
          expected,
          latencyCount,
          ratePerSec,
          ingestTimeoutMs,
          messages,
        });
        expected += r.appended;
        rows.push({
          metric: `email ingest, ${b.label}`,
          value: r.ingest.complete
            ? `${fmtInt(r.ingest.count)} messages in ${fmtSec(r.ingest.ms)} from service start: ${fmtInt((r.ingest.count * 1000) / r.ingest.ms)} msg/s (first activity after ${fmtMs(r.ingest.firstMs)}; ${fmtInt(r.ingest.steady)} msg/s from then on)`
            : `timed out: ${fmtInt(r.ingest.count)} of ${fmtInt(r.ingest.expected)} in ${fmtSec(r.ingest.ms)} (${fmtInt((r.ingest.count * 1000) / r.ingest.ms)} msg/s)`,
        });
        const l = r.latency;
        const p = (xs: number[]) =>
          xs.length ? `p50 ${fmtMs(pctl(xs, 50))}, p99 ${fmtMs(pctl(xs, 99))}` : 'n/a';
        rows.push({
          metric: `email APPEND -> committed activity under IDLE, ${b.label}`,
          value:
            l.samples.length === 0
              ? 'no samples'
              : `${p(l.samples)}, max ${fmtMs(pctl(l.samples, 100))} (${l.samples.length}/${l.sent} messages at ${ratePerSec}/s${l.missing ? `, ${l.missing} not seen in time` : ''})`,
        });
        rows.push({
          metric: '  floor: APPEND -> EXISTS seen by a bare IDLE client',
          value: `${p(l.notify)} (Dovecot batches mailbox notifications with a 500 ms timer; APPEND -> router transaction start ${p(l.toRouter)})`,
        });
        log(`${b.name}: ${rows.at(-3)!.value}; latency ${rows.at(-2)!.value}`);
      } finally {
        await backend.cleanup().catch((err) => log(`cleanup failed: ${(err as Error).message}`));
      }
    }
  } finally {
    await withImap(async (c) => {
      await c.mailboxDelete(folder).catch(() => undefined);
    }).catch(() => undefined);
  }
  return { rows };
}

// --- the two databases ------------------------------------------------------------------------------------

interface Backend {
  env: Record<string, string>;
  /** A database of its own, migrated, for inserting the mailbox before the service starts. */
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

async function pgliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'contact-ingest-email-bench-'));
  return {
    env: { DATA_DIR: dir },
    open: () => createPgliteDatabase({ dataDir: join(dir, 'pglite') }),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pgBackend(): Promise<Backend | undefined> {
  const u = new URL(PG_URL);
  if (!(await reachable(u.hostname || '127.0.0.1', Number(u.port || 5432)))) return undefined;
  const schema = `bench_email_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  u.searchParams.set('options', `-c search_path=${schema}`);
  const url = u.toString();
  const dir = mkdtempSync(join(tmpdir(), 'contact-ingest-email-bench-'));
  return {
    env: { DATABASE_URL: url, DATA_DIR: dir },
    open: async () => createPgDatabase({ connectionString: url, max: 2 }),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

// --- one measured run ---------------------------------------------------------------------------------------

interface MeasureOptions {
  folder: string;
  address: string;
  since: string;
  expected: number;
  latencyCount: number;
  ratePerSec: number;
  ingestTimeoutMs: number;
  messages: Messages;
}

async function measure(backend: Backend, o: MeasureOptions) {
  // The mailbox goes in before the service starts, so the connector takes it on its first listing.
  const setup = await backend.open();
  try {
    await migrate(setup);
    const mailbox: Omit<MailboxSettings, 'id'> = {
      name: 'Bench mailbox',
      address: o.address,
      imap: { host: '127.0.0.1', port: IMAP_PORT, secure: false, user: USER, password: PASSWORD },
      folders: [o.folder],
      syncSince: o.since,
      processed: { action: 'none' },
      attachmentMaxBytes: 1 << 20,
      active: true,
    };
    await insertMailbox(setup, mailbox);
  } finally {
    await setup.close();
  }

  const config = loadConfig({
    ...backend.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DEMO_SEED: 'true',
    ADMIN_TOKEN: 'email-bench-admin-token-0123456789',
  });
  const started = Date.now();
  const service = await startService(config, createLogger({ level: 'error' }));
  try {
    const ingest = await waitIngested(service, o.address, o.expected, started, o.ingestTimeoutMs);
    const latency = ingest.complete
      ? await idleLatency(service, o)
      : {
          samples: [] as number[],
          toRouter: [] as number[],
          notify: [] as number[],

          sent: 0,
          missing: 0,
        };
    return { ingest, latency, appended: latency.sent };
  } finally {
    await service.close();
  }
}

async function waitIngested(
  service: Service,
  address: string,
  expected: number,
  started: number,
  timeoutMs: number,
) {
  let first = 0;
  let firstCount = 0;
  let count = 0;
  while (Date.now() - started < timeoutMs) {
    count = (
      await service.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM activities WHERE source_key = $1',
        [address],
      )
    ).rows[0]!.n;
    const now = Date.now();
    if (count > 0 && !first) {
      first = now;
      firstCount = count;
    }
    const steady = () => (now > first ? ((count - firstCount) * 1000) / (now - first) : Number.NaN);
    if (count >= expected)
      return {
        complete: true,
        count,
        expected,
        ms: now - started,
        firstMs: first - started,
        steady: steady(),
      };
    await sleep(count > expected * 0.95 ? POLL_MS : 200);
  }
  return {
    complete: false,
    count,
    expected,
    ms: Date.now() - started,
    firstMs: first - started,
    steady: Number.NaN,
  };
}

/** APPENDs spaced out at ratePerSec on a connection of its own; the connector sits in IDLE between them. */
async function idleLatency(service: Service, o: MeasureOptions) {
  await sleep(500); // let the connector finish its last sync and enter IDLE
  const appendedAt = new Map<string, number>();
  const samples: number[] = [];
  const toRouter: number[] = [];
  // An IDLE connection of our own that does nothing else: when a bare IDLE client hears of each message. That is
  // the floor for any IDLE consumer of this server (Dovecot delays mailbox notifications by up to 500 ms).
  const witness = await idleWitness(o.folder);
  const sentAt: number[] = [];
  let sending = true;
  let lastAppend = Date.now();
  const poller = (async () => {
    while (sending || appendedAt.size > 0) {
      const ids = [...appendedAt.keys()];
      if (ids.length) {
        // processed_at is now() of the router's transaction: when it started, on the same clock.
        const r = await service.db.query<{ message_id: string; processed_at: Date }>(
          `SELECT a.message_id, p.processed_at FROM activities a JOIN processed_events p ON p.event_id = a.event_id
            WHERE a.message_id = ANY($1::text[])`,
          [ids],
        );
        const now = Date.now();
        for (const { message_id, processed_at } of r.rows) {
          const at = appendedAt.get(message_id);
          if (at === undefined) continue;
          samples.push(now - at);
          toRouter.push(new Date(processed_at).getTime() - at);
          appendedAt.delete(message_id);
        }
      }
      if (!sending && Date.now() - lastAppend > 10_000) break; // what is not in by now is reported missing
      await sleep(POLL_MS);
    }
  })();
  const interval = 1000 / o.ratePerSec;
  await withImap(async (c) => {
    const start = Date.now();
    for (let i = 0; i < o.latencyCount; i++) {
      const due = start + i * interval;
      if (due > Date.now()) await sleep(due - Date.now());
      const m = o.messages.next('idle');
      const now = Date.now();
      appendedAt.set(m.messageId, now);
      sentAt.push(now);
      await c.append(o.folder, m.raw);
      lastAppend = Date.now();
    }
  });
  sending = false;
  await poller;
  await witness.close();
  const notify = sentAt.flatMap((at, i) => {
    const n = witness.notifiedAt(witness.base + i + 1);
    return n === undefined ? [] : [n - at];
  });
  return { samples, toRouter, notify, sent: o.latencyCount, missing: appendedAt.size };
}

/** An IDLE connection recording when each EXISTS count was first announced. */
async function idleWitness(folder: string) {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: IMAP_PORT,
    secure: false,
    auth: { user: USER, pass: PASSWORD },
    logger: false,
    disableAutoIdle: true,
    maxIdleTime: 600_000,
  });
  c.on('error', () => undefined);
  await c.connect();
  const box = await c.mailboxOpen(folder, { readOnly: true });
  const announced: { count: number; at: number }[] = [];
  c.on('exists', (e: { count: number }) => announced.push({ count: e.count, at: Date.now() }));
  const idling = c.idle().catch(() => undefined);
  return {
    base: box.exists,
    notifiedAt: (seq: number) => announced.find((a) => a.count >= seq)?.at,
    async close() {
      await c.logout().catch(() => c.close());
      await idling;
    },
  };
}

// --- mail ---------------------------------------------------------------------------------------------------

async function prefill(folder: string, total: number, messages: Messages) {
  await withImap(async (c) => {
    await c.mailboxCreate(folder);
  });
  const raws = Array.from({ length: total }, () => messages.next('fill').raw);
  const bytes = raws.reduce((a, r) => a + Buffer.byteLength(r), 0);
  const started = Date.now();
  // Parallel APPENDs into one maildir folder fight over Dovecot's uidlist lock (8 connections: ~120/s); one
  // MULTIAPPEND command per 250 messages takes the lock once for all of them.
  const imap = await RawImap.connect(IMAP_PORT);
  try {
    await imap.command(`LOGIN "${USER}" "${PASSWORD}"`);
    for (let i = 0; i < total; i += APPEND_BATCH) {
      const parts = raws.slice(i, i + APPEND_BATCH).map((r) => ` {${Buffer.byteLength(r)}+}\r\n${r}`);
      await imap.command(`APPEND "${folder}"${parts.join('')}`);
    }
    await imap.command('LOGOUT').catch(() => undefined);
  } finally {
    imap.close();
  }
  return { ms: Date.now() - started, bytes };
}

/** Just enough IMAP for a bulk MULTIAPPEND (RFC 3502) with non-synchronising literals (LITERAL+, RFC 7888). */
class RawImap {
  private buffer = '';
  private waiting: { tag: string; resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private n = 0;
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf('\r\n'); i >= 0; i = this.buffer.indexOf('\r\n')) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 2);
        const w = this.waiting;
        if (w && line.startsWith(`${w.tag} `)) {
          this.waiting = undefined;
          if (line.startsWith(`${w.tag} OK`)) w.resolve(line);
          else w.reject(new Error(`IMAP: ${line}`));
        }
      }
    });
    socket.on('error', (err) => this.waiting?.reject(err));
  }

  static async connect(port: number): Promise<RawImap> {
    const socket = new Socket();
    socket.setNoDelay(true);
    const greeting = new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n')) {
          socket.off('data', onData);
          resolve(text);
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
    socket.connect(port, '127.0.0.1');
    const line = await greeting;
    if (!/LITERAL\+/.test(line)) throw new Error(`IMAP server without LITERAL+: ${line.trim()}`);
    return new RawImap(socket);
  }

  command(text: string): Promise<string> {
    const tag = `b${++this.n}`;
    return new Promise((resolve, reject) => {
      this.waiting = { tag, resolve, reject };
      this.socket.write(`${tag} ${text}\r\n`, 'latin1');
    });
  }

  close() {
    this.socket.destroy();
  }
}

const FIRST = ['Olga', 'Ivan', 'Maria', 'Pavel', 'Elena', 'Sergey', 'Anna', 'Dmitry', 'Irina', 'Alexey'];
const LAST = ['Petrova', 'Smirnov', 'Volkova', 'Kuznetsov', 'Sokolova', 'Popov', 'Lebedeva', 'Novikov'];
const TOPICS = [
  'Question about my order',
  'Price list request',
  'Delivery to Saint Petersburg',
  'Invoice for March',
  'Warranty repair',
  'Partnership proposal',
  'Cannot log in to my account',
  'Wholesale discount',
];
const LINES = [
  'Good afternoon!',
  'Could you please tell me when the order will be shipped?',
  'We are interested in a bulk purchase for our office.',
  'Please send the invoice with VAT to the address below.',
  'The device stopped working after two weeks, what should I do?',
  'Is delivery possible on Saturday morning?',
  'Thank you in advance for a quick answer.',
  'Best regards,',
];

/**
 * Small real-looking client mail: 2,000 distinct senders (repeat clients), a quarter of them answers in an
 * existing thread, a third multipart/alternative with an HTML part, UTF-8 names and quoted-printable bodies.
 */
class Messages {
  private n = 0;
  private readonly sent: string[] = [];
  constructor(
    private readonly run: string,
    private readonly to: string,
  ) {}

  next(kind: string): { messageId: string; raw: string } {
    const i = this.n++;
    const client = i % 2_000;
    const name = `${FIRST[client % FIRST.length]} ${LAST[(client >> 3) % LAST.length]}`;
    const from = `client${client}.${this.run}@bench-client.test`;
    const messageId = `<${kind}.${i}.${this.run}@bench-client.test>`;
    const parent = i % 4 === 3 && this.sent.length ? this.sent[(i * 7919) % this.sent.length] : undefined;
    const topic = TOPICS[i % TOPICS.length]!;
    const subject = parent ? `Re: ${topic}` : `${topic} #${i}`;
    const text = [
      LINES[0],
      '',
      LINES[1 + (i % 5)],
      LINES[1 + ((i + 2) % 5)],
      `Order number ${100_000 + i}, phone +7 (495) ${String(1_000_000 + (i % 9_000_000)).slice(-7)}.`,
      '',
      LINES[6],
      LINES[7],
      name,
    ].join('\r\n');
    const date = new Date(Date.now() - (i % 600) * 1000).toUTCString().replace('GMT', '+0000');
    const headers = [
      `From: =?UTF-8?B?${Buffer.from(name).toString('base64')}?= <${from}>`,
      `To: Sales <${this.to}>`,
      `Subject: ${subject}`,
      `Date: ${date}`,
      `Message-ID: ${messageId}`,
      ...(parent ? [`In-Reply-To: ${parent}`, `References: ${parent}`] : []),
      'MIME-Version: 1.0',
    ];
    let body: string;
    if (i % 3 === 0) {
      const b = `----=_Part_${i}_${this.run}`;
      const html = `<html><body><p>${text.split('\r\n').join('<br>\r\n')}</p></body></html>`;
      headers.push(`Content-Type: multipart/alternative; boundary="${b}"`);
      body = [
        `--${b}`,
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        text,
        `--${b}`,
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        html,
        `--${b}--`,
        '',
      ].join('\r\n');
    } else {
      headers.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit');
      body = `${text}\r\n`;
    }
    if (this.sent.length < 5_000) this.sent.push(messageId);
    return { messageId, raw: `${headers.join('\r\n')}\r\n\r\n${body}` };
  }
}

async function withImap<T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: IMAP_PORT,
    secure: false,
    auth: { user: USER, pass: PASSWORD },
    logger: false,
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => c.close());
  }
}

// --- small helpers ------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

/** Nearest-rank percentile; 100 is the maximum. */
function pctl(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const fmtInt = (v: number) => Math.round(v).toLocaleString('en-US');
const fmtMs = (v: number) => (v < 10 ? `${v.toFixed(1)} ms` : `${fmtInt(v)} ms`);
const fmtSec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const t0 = Date.now();
  runEmailBench({ quick })
    .then(({ rows }) => {
      const width = Math.max(...rows.map((r) => r.metric.length));
      console.log(`\nEmail benchmark${quick ? ' (quick)' : ''}, ${fmtSec(Date.now() - t0)}:`);
      for (const r of rows) console.log(`  ${r.metric.padEnd(width)}  ${r.value}`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
