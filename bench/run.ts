/**
 * `npm run bench` — throughput and latency of the whole service on this machine, next to the raw ceilings of
 * its parts, measured in the same run. Prints figures; never asserts.
 *
 *   npm run bench                         everything, the channels and the live chat included (≈ 8 min)
 *   npm run bench -- --quick              shorter phases, sections raw, kafka, embedded, telephony, email, whatsapp, telegram, chat
 *   npm run bench -- --only=kafka,raw     sections (comma-separated):
 *       raw       ceilings: empty Fastify route, kafkajs produce, PostgreSQL unnest inserts, the router alone
 *       kafka     Kafka + PostgreSQL, one service process with the defaults (ROLE=all, --partitions, default 6)
 *       kafka1    the same with a 1-partition topic (one router transaction at a time)
 *       split     two processes, ROLE=connectors and ROLE=router, 1-partition topic
 *       embedded  the embedded default: PGlite + in-process bus
 *       telephony call events end to end and the PBX routing answer's latency (bench/telephony.ts)
 *       email     the IMAP channel: ingestion rate and APPEND -> committed latency (bench/email.ts; needs Dovecot)
 *       whatsapp  signed WhatsApp Cloud API webhooks -> committed messages/s (bench/whatsapp.ts)
 *       chat      live chat and operator console in real time on two API instances (bench/chat.ts)
 *   npm run bench -- --only=chat --chat-visitors=200 --chat-operators=10 --chat-rate=20 --chat-replies=5 --chat-seconds=20
 *       (--chat-no-worklist: operators do not refetch their work list on every work.changed once subscribed)
 *   npm run bench -- --connections=64 --rate=1000 --partitions=6
 *   npm run bench -- --only=kafka --profile   + V8 CPU profile of the service: self time by package and function
 *                                             (kafka, kafka1, split and embedded sections)
 *
 * Needs for the kafka and raw sections: PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)
 * and Kafka (BENCH_KAFKA_BROKERS, default 127.0.0.1:19092; `bash scripts/kafka.sh start`). Loopback only; the
 * bench's schemas, topics and consumer groups are removed at the end. See bench/README.md for the method.
 */
import { cpus } from 'node:os';
import pg from 'pg';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import {
  type FastifyCeiling,
  fastifyCeiling,
  type KafkaCeiling,
  kafkaProduceCeiling,
  type PgCeiling,
  pgInsertCeiling,
  type RouterCeiling,
  routerCeiling,
} from './ceilings.js';
import { CpuMeter, cpuPerContact, formatCpu } from './cpu.js';
import type { ProfileSummary } from './profile.js';
import {
  type EmbeddedResult,
  type KafkaPgResult,
  type Phase,
  runEmbedded,
  runKafkaPg,
  type Settings,
  type WorkCpu,
} from './scenarios.js';
import { BROKERS, cleanUpOnInterrupt, guarded, PG_URL } from './service-process.js';
import { int, ms, pct, table } from './stats.js';
import { atLeast, atMost, type TargetCheck, targetsTable } from './targets.js';

const TARGET_RATE = 2_000;
const TARGET_P99_MS = 250;
/** Issue 11's targets for the shapes measured here. */
const TARGET_SPLIT_SHARE_OF_FASTIFY = 0.25;
const TARGET_CPU_MS_PER_CONTACT = 0.35;
const TARGET_ALL_KAFKA_P99_MS = 100;
/** Every figure with a target, from every section run, printed together at the end. */
const checks: TargetCheck[] = [];

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = args.includes('--quick');
/** V8 CPU profile of the service processes (Kafka and embedded sections; adds some overhead, figures are then a bit lower). */
const profile = args.includes('--profile');
/** Channel sections: [section, file in bench/, exported function, title]. */
const CHANNEL_BENCHES = [
  ['email', 'email', 'runEmailBench', 'Email channel'],
  ['telephony', 'telephony', 'runTelephonyBench', 'Telephony channel'],
  ['whatsapp', 'whatsapp', 'runWhatsAppBench', 'WhatsApp channel'],
  ['telegram', 'telegram', 'runTelegramBench', 'Telegram channel'],
] as const;
const SECTIONS = [
  'raw',
  'kafka',
  'kafka1',
  'split',
  'embedded',
  ...CHANNEL_BENCHES.map((c) => c[0] as string),
  'chat',
];
const only = new Set(
  (
    flag('only') ??
    (quick
      ? 'raw,kafka,embedded,telephony,email,whatsapp,telegram,chat'
      : 'raw,kafka,kafka1,split,embedded,telephony,email,whatsapp,telegram,chat')
  )
    .split(',')
    .map((s) => s.trim()),
);
for (const o of only)
  if (!SECTIONS.includes(o)) throw new Error(`--only: unknown section "${o}" (${SECTIONS.join(', ')})`);

const settings: Settings & { partitions: number } = {
  connections: Number(flag('connections') ?? 64),
  warmupSec: quick ? 2 : 3,
  loadSec: quick ? 4 : 12,
  rate: Number(flag('rate') ?? 1_000),
  rateSec: quick ? 3 : 10,
  /** The service's default KAFKA_TOPIC_PARTITIONS. */
  partitions: Number(flag('partitions') ?? 6),
  log: (line) => console.log(line),
};
const raw = {
  fastifySec: quick ? 2 : 4,
  kafkaSec: quick ? 2 : 4,
  pgSec: quick ? 2 : 4,
  routerSec: quick ? 1.5 : 3,
};

/** The Kafka + PostgreSQL shapes measured, in table order. */
const VARIANTS = [
  {
    section: 'kafka',
    roles: 'all',
    partitions: settings.partitions,
    title: `Kafka + PG: 1 process, ${settings.partitions} partitions${settings.partitions === 6 ? ' (defaults)' : ''}`,
  },
  { section: 'kafka1', roles: 'all', partitions: 1, title: 'Kafka + PG: 1 process, 1 partition' },
  {
    section: 'split',
    roles: 'split',
    partitions: 1,
    title: 'Kafka + PG: connectors + router processes, 1 partition',
  },
] as const;

const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;

async function reachable(hostPort: string): Promise<boolean> {
  const { Socket } = await import('node:net');
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('error', () => done(false));
    s.connect(Number(port), host ?? '127.0.0.1', () => done(true));
  });
}

interface Ceilings {
  fastify?: FastifyCeiling;
  kafka?: KafkaCeiling;
  pg?: PgCeiling;
  router: RouterCeiling[];
}

async function runCeilings(pgUp: boolean, kafkaUp: boolean): Promise<Ceilings> {
  const out: Ceilings = { router: [] };
  console.log(`\n# Raw ceilings (${elapsed()})`);
  out.fastify = await fastifyCeiling({ connections: settings.connections, durationSec: raw.fastifySec });
  console.log(
    `  Fastify empty POST route: ${int(out.fastify.requestsPerSec)} req/s (p50 ${ms(out.fastify.p50)}, p99 ${ms(out.fastify.p99)})`,
  );
  if (kafkaUp) {
    out.kafka = await kafkaProduceCeiling({ brokers: BROKERS, durationSec: raw.kafkaSec });
    console.log(
      `  kafkajs produce: ${int(out.kafka.messagesPerSec)} msg/s, ${out.kafka.mbPerSec.toFixed(1)} MB/s (${int(out.kafka.avgMessageBytes)} B/msg, ${ms(out.kafka.batchMs)} per 500-message batch)`,
    );
  }
  if (pgUp) {
    const schema = `bench_raw_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const u = new URL(PG_URL);
    u.searchParams.set('options', `-c search_path=${schema}`);
    const db = createPgDatabase({ connectionString: u.toString(), max: 2 });
    const dropSchema = async () => {
      await db.close().catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await admin.end().catch(() => {});
    };
    await guarded(async () => {
      out.pg = await pgInsertCeiling({ schemaUrl: u.toString(), durationSec: raw.pgSec });
      console.log(
        `  PostgreSQL unnest insert (500 rows/statement): ${int(out.pg.rowsPerSec1)} rows/s on 1 connection (${ms(out.pg.statementMs)}/statement), ${int(out.pg.rowsPerSec4)} rows/s on 4`,
      );
      await migrate(db);
      for (const batchSize of [500, 50]) {
        const r = await routerCeiling({ schemaUrl: u.toString(), durationSec: raw.routerSec, batchSize, db });
        out.router.push(r);
        console.log(
          `  router alone, batch ${batchSize}: ${int(r.eventsPerSec)} events/s (${ms(r.batchMs)}/batch, ${r.statementsPerBatch.toFixed(0)} statements/batch, ${pct(r.dbShare)} waiting on PostgreSQL)`,
        );
        for (const t of r.top.slice(0, 4))
          console.log(`      ${ms(t.ms).padStart(8)}/batch  ${t.calls.toFixed(1)}×  ${t.sql}`);
      }
    }, dropSchema);
  }
  return out;
}

function describePhase(name: string, p: Phase) {
  console.log(`  ${name}:`);
  console.log(
    `    sent ${int(p.sent)}, accepted ${int(p.accepted)} (${int(p.acceptedPerSec)}/s), refused ${int(p.rejected)}, errors ${int(p.errors)} in ${p.seconds.toFixed(1)} s`,
  );
  console.log(
    `    committed ${int(p.committedPerSec)}/s inside the window; backlog at the end ${int(p.backlogAtEnd)}, drained ${ms(p.drainMs)} later`,
  );
  console.log(
    `    sent -> committed  p50 ${ms(p.latency.p50)}  p90 ${ms(p.latency.p90)}  p99 ${ms(p.latency.p99)}  max ${ms(p.latency.max)}`,
  );
  console.log(
    `    sent -> 202        p50 ${ms(p.http.p50)}  p90 ${ms(p.http.p90)}  p99 ${ms(p.http.p99)}  (server side: p50 ≤ ${ms(p.serverHttpP50)}, p99 ≤ ${ms(p.serverHttpP99)})`,
  );
  if (p.toRouter)
    console.log(
      `    202 -> tx start    p50 ${ms(p.toRouter.p50)}  p90 ${ms(p.toRouter.p90)}  p99 ${ms(p.toRouter.p99)}`,
    );
  if (p.transaction)
    console.log(
      `    tx start -> commit p50 ${ms(p.transaction.p50)}  p90 ${ms(p.transaction.p90)}  p99 ${ms(p.transaction.p99)}`,
    );
  if (p.batch)
    console.log(
      `    router batches: ${int(p.transactionsPerSec)} transactions/s, events per transaction mean ${p.batch.mean.toFixed(1)}, p50 ${int(p.batch.p50)}, p90 ${int(p.batch.p90)}, max ${int(p.batch.max)}`,
    );
  if (p.notifyLag)
    console.log(
      `    commit probe lag (trigger -> notification seen here) p50 ${ms(p.notifyLag.p50)}, p99 ${ms(p.notifyLag.p99)}`,
    );
  console.log(`    router metric (receivedAt -> commit) p99 ≤ ${ms(p.routerLatencyP99)}`);
  console.log(
    `    service event loop delay p50 ${ms(p.eventLoopP50)}, p99 ${ms(p.eventLoopP99)}, max ${ms(p.eventLoopMax)}; GC ${ms(p.gcMsPerSec)} per second`,
  );
  if (p.pgActivity?.length) {
    console.log('    router transactions in PostgreSQL (share of samples):');
    for (const a of p.pgActivity.slice(0, 6)) console.log(`      ${pct(a.share).padStart(4)}  ${a.what}`);
  }
  console.log(`    CPU: ${formatCpu(p.cpu)}`);
  if (p.work) console.log(`    ${workLine(p.work)}`);
  const k = cpuPerContact(p.cpu, p.committedPerSec, cpus().length);
  console.log(
    `    CPU in the load window per contact committed in it: service ${k.service.toFixed(2)} ms, PostgreSQL ${k.postgres.toFixed(2)} ms, Kafka ${k.kafka.toFixed(2)} ms, load generator ${k.loadGenerator.toFixed(2)} ms = ${k.total.toFixed(2)} ms -> at most ${int(k.capacity)} contacts/s on ${cpus().length} idle cores`,
  );
}

function workLine(w: WorkCpu): string {
  const f = (v: number) => `${v.toFixed(3)} ms`;
  const procs = w.processes.map((x) => `${x.name} ${f(x.ms)}`).join(', ');
  return `CPU per contact, phase start → its last contact committed (${int(w.contacts)} contacts, ${w.seconds.toFixed(1)} s): ${procs}, PostgreSQL ${f(w.postgres)}, Kafka ${f(w.kafka)} = ${f(w.own)} (target ≤ ${TARGET_CPU_MS_PER_CONTACT} ms, split roles); load generator ${f(w.loadGenerator)} more`;
}

interface Column {
  title: string;
  kafka: boolean;
  result: KafkaPgResult | EmbeddedResult;
}

function report(c: Ceilings | undefined, cols: Column[]) {
  const p50p99 = (p: Phase) => `${ms(p.latency.p50)} / ${ms(p.latency.p99)}`;
  const mark = (col: Column, ok: boolean) => (col.kafka ? (ok ? ' ✓' : ' ✗') : '');
  const each = (f: (col: Column) => string) => cols.map(f);
  const rows = [
    [
      `End-to-end contacts/s (${settings.connections} connections, 70% new clients)`,
      ...each(
        (x) => int(x.result.max.committedPerSec) + mark(x, x.result.max.committedPerSec >= TARGET_RATE),
      ),
      `≥ ${int(TARGET_RATE)} (Kafka + PG)`,
    ],
    ['HTTP accepted/s at that load', ...each((x) => int(x.result.max.acceptedPerSec)), ''],
    ['Latency p50 / p99 at that load (sent → committed)', ...each((x) => p50p99(x.result.max)), ''],
    [
      `Latency p50 / p99 at ${int(settings.rate)} contacts/s (sent → committed)`,
      ...each((x) => p50p99(x.result.fixed) + mark(x, x.result.fixed.latency.p99 <= TARGET_P99_MS)),
      `p99 ≤ ${TARGET_P99_MS} ms (Kafka + PG)`,
    ],
    [
      `Committed/s while offered ${int(settings.rate)}/s`,
      ...each((x) => int(x.result.fixed.committedPerSec)),
      '',
    ],
    [
      'Events per router transaction at maximum (mean / max)',
      ...each((x) =>
        x.result.max.batch ? `${x.result.max.batch.mean.toFixed(0)} / ${int(x.result.max.batch.max)}` : 'n/a',
      ),
      '',
    ],
    [
      'CPU at maximum: service / PostgreSQL / Kafka / load generator / other users',
      ...each((x) => cpuCell(x.result.max)),
      `${cpus().length * 100}% = ${cpus().length} cores`,
    ],
    [
      'CPU ms per contact, start → all committed: service processes + PostgreSQL + Kafka (load generator apart)',
      ...each((x) => {
        const w = x.result.max.work;
        if (!w) return 'n/a';
        const mark = x.kafka && (x.result as KafkaPgResult).roles === 'split';
        return `${w.processes.map((p) => p.ms.toFixed(2)).join(' + ')} + ${w.postgres.toFixed(2)} + ${w.kafka.toFixed(2)} = ${w.own.toFixed(2)}${mark ? (w.own <= TARGET_CPU_MS_PER_CONTACT ? ' ✓' : ' ✗') : ''} (+ ${w.loadGenerator.toFixed(2)})`;
      }),
      `≤ ${TARGET_CPU_MS_PER_CONTACT} ms (split roles)`,
    ],
    [
      'CPU ms per contact in the load window (all of the above but other users) → contacts/s the cores allow',
      ...each((x) => {
        const k = cpuPerContact(x.result.max.cpu, x.result.max.committedPerSec, cpus().length);
        return `${k.total.toFixed(2)} ms → ${int(k.capacity)}/s`;
      }),
      '',
    ],
  ];
  const kafkaRuns = cols.filter((x) => x.kafka).map((x) => x.result as KafkaPgResult);
  const e2e = kafkaRuns.length ? Math.max(...kafkaRuns.map((x) => x.max.committedPerSec)) : undefined;
  const ratio = (ceiling?: number) => (e2e && ceiling ? pct(e2e / ceiling) : 'n/a');
  const ceilings = [
    [
      `Fastify, empty POST route (same generator, ${settings.connections} connections)`,
      c?.fastify ? `${int(c.fastify.requestsPerSec)} req/s` : 'not run',
      ratio(c?.fastify?.requestsPerSec),
    ],
    [
      'kafkajs produce, idempotent, acks -1, 500 events/batch',
      c?.kafka ? `${int(c.kafka.messagesPerSec)} msg/s` : 'not run',
      ratio(c?.kafka?.messagesPerSec),
    ],
    [
      'PostgreSQL insert via unnest, 500 rows/statement, 1 connection',
      c?.pg ? `${int(c.pg.rowsPerSec1)} rows/s` : 'not run',
      ratio(c?.pg?.rowsPerSec1),
    ],
    [
      'PostgreSQL insert via unnest, 500 rows/statement, 4 connections',
      c?.pg ? `${int(c.pg.rowsPerSec4)} rows/s` : 'not run',
      ratio(c?.pg?.rowsPerSec4),
    ],
    ...(c?.router ?? []).map((x) => [
      `Router alone on PostgreSQL (no HTTP, no Kafka), batches of ${x.batchSize}`,
      `${int(x.eventsPerSec)} events/s`,
      ratio(x.eventsPerSec),
    ]),
  ];
  console.log(
    `\n# Summary (${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z${quick ? ', --quick' : ''})\n`,
  );
  if (cols.length) {
    console.log(table(['Figure', ...cols.map((x) => x.title), 'Target'], rows, true));
    console.log('');
  }
  console.log(
    table(
      ['Raw ceiling, same machine, same run', 'Ceiling', 'Best Kafka + PG end to end / ceiling'],
      ceilings,
      true,
    ),
  );
  const named = cols.filter((x) => x.kafka).map((x) => ({ title: x.title, k: x.result as KafkaPgResult }));
  if (named.length) findings(c, named);
}

/** Issue 11's contact targets from the Kafka and embedded shapes of this run, with the Fastify ceiling. */
function contactTargets(c: Ceilings | undefined, cols: Column[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const byTitle = (prefix: string) => cols.find((x) => x.title.startsWith(prefix))?.result;
  const msFmt = (v: number) => ms(v);
  const all = cols.find((x) => x.kafka && x.title.includes('1 process') && !x.title.includes('1 partition'));
  if (all) {
    out.push(
      atMost(
        `One process (ROLE=all) on Kafka, p99 at ${int(settings.rate)}/s (sent → committed)`,
        all.result.fixed.latency.p99,
        TARGET_ALL_KAFKA_P99_MS,
        msFmt,
      ),
    );
  }
  const split = byTitle('Kafka + PG: connectors + router');
  if (split) {
    const fastify = c?.fastify?.requestsPerSec;
    const share = fastify ? split.max.committedPerSec / fastify : Number.NaN;
    out.push({
      ...atLeast(
        'Split roles end to end, share of the Fastify ceiling',
        share,
        TARGET_SPLIT_SHARE_OF_FASTIFY,
        pct,
      ),
      measured: `${int(split.max.committedPerSec)}/s = ${pct(share)}`,
      ceiling: fastify ? `Fastify empty route ${int(fastify)} req/s` : 'not run (add raw)',
    });
    // Counted until the phase's last contact committed (scenarios.ts WorkCpu): the router's backlog is paid for.
    const w = split.max.work;
    if (w) {
      out.push({
        ...atMost(
          'CPU per contact, split roles: service processes + PostgreSQL + Kafka',
          w.own,
          TARGET_CPU_MS_PER_CONTACT,
          (v) => `${v.toFixed(2)} ms`,
        ),
        measured: `${w.own.toFixed(2)} ms (${w.processes.map((p) => `${p.name} ${p.ms.toFixed(2)}`).join(', ')}, PostgreSQL ${w.postgres.toFixed(2)}, Kafka ${w.kafka.toFixed(2)}; load generator ${w.loadGenerator.toFixed(2)} more)`,
      });
    }
  }
  const embedded = byTitle('Embedded');
  if (embedded) {
    out.push(
      atLeast(
        'Embedded default (PGlite), end to end',
        embedded.max.committedPerSec,
        TARGET_RATE,
        (v) => `${int(v)}/s`,
      ),
      atMost(
        `Embedded default, p99 at ${int(settings.rate)}/s (sent → committed)`,
        embedded.fixed.latency.p99,
        TARGET_P99_MS,
        msFmt,
      ),
    );
  }
  return out;
}

function cpuCell(p: Phase): string {
  const f = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}%` : 'n/a');
  return `${f(p.cpu.service)} / ${f(p.cpu.postgres)} / ${f(p.cpu.kafka)} / ${f(p.cpu.loadGenerator)} / ${f(p.cpu.other)}`;
}

/** Where the time goes, in numbers, whenever a target is missed. */
function findings(c: Ceilings | undefined, runs: { title: string; k: KafkaPgResult }[]) {
  const lines: string[] = [];
  for (const { title: name, k } of runs) {
    const m = k.max;
    const f = k.fixed;
    if (m.committedPerSec < TARGET_RATE) {
      lines.push(`- ${name}: ${int(m.committedPerSec)} contacts/s < ${int(TARGET_RATE)}/s. At the maximum:`);
      lines.push(
        `  CPU ${formatCpu(m.cpu)}${m.cpu.other > 30 ? ' — other work on the machine took a share: figures are low' : ''}.`,
      );
      const k = cpuPerContact(m.cpu, m.committedPerSec, cpus().length);
      lines.push(
        `  CPU per contact ${k.total.toFixed(2)} ms (service ${k.service.toFixed(2)}, PostgreSQL ${k.postgres.toFixed(2)}, Kafka ${k.kafka.toFixed(2)}, load generator ${k.loadGenerator.toFixed(2)}): even with the ${cpus().length} cores to itself this shape tops out near ${int(k.capacity)}/s.`,
      );
      lines.push(
        `  HTTP accepted ${int(m.acceptedPerSec)}/s vs committed ${int(m.committedPerSec)}/s: ${m.acceptedPerSec > m.committedPerSec * 1.1 ? 'the router falls behind the HTTP side (the backlog grows)' : 'the HTTP side is the limit (the router keeps up)'}.`,
      );
      if (m.batch) {
        lines.push(
          `  Router: ${int(m.transactionsPerSec)} transactions/s of ${m.batch.mean.toFixed(1)} events on average (p50 ${int(m.batch.p50)}); transaction time p50 ${ms(m.transaction?.p50)}, p99 ${ms(m.transaction?.p99)}.`,
        );
      }
      const waits = (m.pgActivity ?? []).slice(0, 3).map((a) => `${pct(a.share)} ${a.what}`);
      if (waits.length) lines.push(`  Inside those transactions: ${waits.join('; ')}.`);
      lines.push(
        `  Router event loop delay p99 ${ms(m.eventLoopP99)} (every statement of an open transaction waits for it).`,
      );
    }
    if (f.latency.p99 > TARGET_P99_MS) {
      lines.push(
        `- ${name}: p99 ${ms(f.latency.p99)} > ${TARGET_P99_MS} ms at ${int(settings.rate)}/s. Breakdown p50 / p99: sent → 202 ${ms(f.http.p50)} / ${ms(f.http.p99)}; 202 → router transaction start ${ms(f.toRouter?.p50)} / ${ms(f.toRouter?.p99)}; transaction ${ms(f.transaction?.p50)} / ${ms(f.transaction?.p99)}.`,
      );
    }
  }
  const r500 = c?.router.find((r) => r.batchSize === 500);
  const r50 = c?.router.find((r) => r.batchSize === 50);
  if (lines.length && r500 && r50) {
    lines.push(
      `- Router alone: ${int(r500.eventsPerSec)} events/s at batch 500 (${ms(r500.batchMs)}/batch) vs ${int(r50.eventsPerSec)} at batch 50 (${ms(r50.batchMs)}/batch), ${r50.statementsPerBatch.toFixed(0)} statements per batch; slowest at 500: ${r500.top
        .slice(0, 2)
        .map((t) => `${ms(t.ms)} ${t.sql}`)
        .join('; ')}.`,
    );
  }
  if (lines.length) {
    console.log('\n# Where the time goes (targets missed)\n');
    console.log(lines.join('\n'));
  } else {
    console.log(
      `\nTargets met: ≥ ${int(TARGET_RATE)} contacts/s end to end and p99 ≤ ${TARGET_P99_MS} ms at ${int(settings.rate)}/s on Kafka + PostgreSQL.`,
    );
  }
}

async function main() {
  cleanUpOnInterrupt();
  console.log(
    `contact-ingest bench: sections ${[...only].join(', ')}${quick ? ' (quick)' : ''}; ${cpus().length} cores, Node ${process.version}`,
  );
  const pgUp = await reachable(new URL(PG_URL).host || '127.0.0.1:5432');
  const kafkaUp = await reachable(BROKERS[0]!);
  if (!pgUp)
    console.log(
      `  PostgreSQL not reachable at ${new URL(PG_URL).host}: Kafka + PG and its ceilings are skipped`,
    );
  if (!kafkaUp)
    console.log(
      `  Kafka not reachable at ${BROKERS[0]} (bash scripts/kafka.sh start): Kafka + PG is skipped`,
    );
  console.log(
    '  load: POST web forms (70%, new clients) and returning clients (30%: half generic call records, half forms)',
  );
  const busy = await otherLoad();
  if (busy > 30) {
    console.log(
      `  warning: other processes use ${Math.round(busy)}% CPU right now (of 200%); the figures below will be low`,
    );
  }

  let c: Ceilings | undefined;
  const cols: Column[] = [];
  if (only.has('raw')) c = await runCeilings(pgUp, kafkaUp);
  for (const v of VARIANTS) {
    if (!only.has(v.section) || !pgUp || !kafkaUp) continue;
    console.log(`\n# ${v.title} (${elapsed()})`);
    const k = await runKafkaPg({
      ...settings,
      pgUrl: PG_URL,
      brokers: BROKERS,
      roles: v.roles,
      partitions: v.partitions,
      profile,
    });
    cols.push({ title: v.title, kafka: true, result: k });
    describePhase(`maximum (${settings.connections} connections)`, k.max);
    describePhase(`fixed ${int(settings.rate)}/s`, k.fixed);
    if (k.profile) printProfile(k.profile, k.max);
  }
  if (only.has('embedded')) {
    console.log(`\n# Embedded default: PGlite + in-process bus, service in a child process (${elapsed()})`);
    const e = await runEmbedded({ ...settings, profile });
    cols.push({ title: 'Embedded: PGlite + in-process bus', kafka: false, result: e });
    describePhase(`maximum (${settings.connections} connections)`, e.max);
    describePhase(`fixed ${int(settings.rate)}/s`, e.fixed);
    if (e.profile) printProfile(e.profile);
  }
  if (c || cols.length) report(c, cols);
  checks.push(...contactTargets(c, cols));
  // Channel benches kept by their connectors' authors, loaded by name so this file does not depend on their API.
  for (const [section, file, fn, title] of CHANNEL_BENCHES) {
    if (!only.has(section)) continue;
    console.log(`\n# ${title} (bench/${file}.ts) (${elapsed()})`);
    const mod = (await import(`./${file}.js`)) as Record<string, unknown>;
    const run = mod[fn] as
      | ((o: {
          quick?: boolean;
          log?: (l: string) => void;
        }) => Promise<{ rows: { metric: string; value: string }[]; targets?: TargetCheck[] }>)
      | undefined;
    if (typeof run !== 'function') {
      console.log(`  bench/${file}.ts has no ${fn}(); skipped`);
      continue;
    }
    const { rows, targets } = await run({ quick, log: (l) => console.log(`  ${l}`) });
    checks.push(...(targets ?? []));
    console.log('');
    console.log(
      table(
        [title, 'Figure'],
        rows.map((x) => [x.metric, x.value]),
        true,
      ),
    );
  }
  if (only.has('chat')) await chatSection();
  if (checks.length) {
    console.log(`\n# Targets: every figure with one, this run (${new Date().toISOString().slice(0, 16)}Z)\n`);
    console.log(targetsTable(checks));
  }
  console.log(`\n(total ${elapsed()})`);
}

/** Live chat and the operator console (bench/chat.ts): figures next to their targets. */
async function chatSection() {
  const n = (name: string) => (flag(name) === undefined ? undefined : Number(flag(name)));
  const { runChatBench } = await import('./chat.js');
  console.log(
    `\n# Live chat and operator console: two API instances on Kafka + PostgreSQL (bench/chat.ts) (${elapsed()})`,
  );
  const { rows, targets } = await runChatBench({
    quick,
    visitors: n('chat-visitors'),
    operators: n('chat-operators'),
    rate: n('chat-rate'),
    replies: n('chat-replies'),
    seconds: n('chat-seconds'),
    workList: !args.includes('--chat-no-worklist'),
    log: (l) => console.log(`  ${l}`),
  });
  checks.push(...targets);
  console.log('');
  console.log(
    table(
      ['Live chat and console', 'Figure', 'Target'],
      rows.map((x) => [x.metric, x.value, x.target]),
      true,
    ),
  );
}

function printProfile(p: ProfileSummary, max?: Phase) {
  console.log(`  CPU profile of the service process(es), ${int(p.busyMs)} ms busy (idle left out):`);
  for (const c of p.byCategory) console.log(`    ${pct(c.share).padStart(4)}  ${c.name}`);
  // Stage shares of each process' profile applied to its CPU per contact at the maximum.
  for (const pp of p.byProcess ?? []) {
    const proc = max?.work?.processes.find((x) => x.pid === pp.pid);
    console.log(
      `  by stage, ${proc?.name ?? `pid ${pp.pid}`}${proc ? ` (${proc.ms.toFixed(3)} ms per contact at the maximum)` : ''}:`,
    );
    for (const st of pp.byStage)
      console.log(
        `    ${pct(st.share).padStart(4)}${proc ? `  ${(st.share * proc.ms).toFixed(3)} ms` : ''}  ${st.name}`,
      );
    console.log('    hottest functions of this process (self time):');
    for (const f of pp.byFunction) console.log(`      ${pct(f.share).padStart(4)}  ${f.name}`);
  }
  console.log('  hottest functions (self time):');
  for (const f of p.byFunction) console.log(`    ${pct(f.share).padStart(4)}  ${f.name}`);
}

/** CPU used by everything on the machine over one second, before we start (% of one core). */
async function otherLoad(): Promise<number> {
  const meter = new CpuMeter(() => []);
  await meter.begin();
  await new Promise((res) => setTimeout(res, 1_000));
  return (await meter.end()).machine;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
