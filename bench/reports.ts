/**
 * `npm run bench:reports` — GET /v1/reports/leads and /v1/reports/operators on 1,000,000 activities, against the
 * 1 s target (issue 10 item 6). Prints figures; never asserts.
 *
 *   npm run bench:reports                      fill a fresh schema, time every report, drop the schema
 *   npm run bench:reports -- --runs=9          runs per report (p50 is printed; default 7, after one warm-up)
 *   npm run bench:reports -- --keep            keep the filled schema (its name is printed) ...
 *   npm run bench:reports -- --schema=bench_reports_x   ... and time it again without refilling
 *
 * The fill is SQL with generate_series in one PostgreSQL session (BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test): 8 regions, 64 operators, 200,000 leads over the last 365 days (a
 * quarter converted, 40% of those with a deal), and 1,000,000 activities: 500,000 inbound contacts (calls 40%,
 * emails 20%, conversations 20%, forms 20%; 70% of calls answered), 300,000 outbound replies, 100,000 callbacks
 * (70% done in time, 15% late, 15% open) and 100,000 tasks and notes; then an automation SLA timer per inbound
 * contact (fired where the first response came after 30 minutes or never). Replies and callbacks are written
 * after the contacts they answer, so 017_reports.sql's triggers fill in first responses as in production (the
 * fill's timing includes them). Then VACUUM ANALYZE, as autovacuum would. Each report goes through the HTTP API
 * (Fastify inject: routing, auth, validation, the query, JSON or CSV), as the admin and as a supervisor of 2 of
 * the 8 regions, over the last 30 days and over the whole year; each case's plan is EXPLAINed once.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import Fastify from 'fastify';
import pg from 'pg';
import { httpOptions, registerErrorHandler } from '../api/error-handler.js';
import { apiRoutes } from '../api/routes/index.js';
import { loadConfig } from '../app/config.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { leadReportSql } from '../crm-core/repositories/lead-report.repository.js';
import { operatorReportSql } from '../crm-core/repositories/operator-report.repository.js';
import { reportQuery } from '../crm-core/repositories/report-query.js';
import { hashToken } from '../crm-core/services/operator-tokens.js';
import { PG_URL } from './service-process.js';
import { ms, summarise, table } from './stats.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const RUNS = Number(flag('runs') ?? 7);
const KEEP = args.includes('--keep');
const REUSE = flag('schema');
const TARGET_MS = 1_000;
const ADMIN_TOKEN = `bench-admin-${randomUUID()}`;
const SUPERVISOR_TOKEN = `bench-supervisor-${randomUUID()}`;

const LEADS = 200_000;
const INBOUND = 500_000;
const REPLIES = 300_000;
const CALLBACKS = 100_000;
const OTHER = 100_000;

const schemaUrl = (schema: string) => {
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
};

/** The fill, statement by statement (timed each). Ids are 1..N in a fresh schema, which the joins rely on. */
const FILL: [string, string][] = [
  ['setseed', 'SELECT setseed(0.42)'],
  [
    'regions, operators',
    `INSERT INTO regions (code, name) SELECT 'r' || g, 'Region ' || g FROM generate_series(1, 8) g;
     INSERT INTO operators (login, name, status, role)
       SELECT 'op' || g, 'Operator ' || lpad(g::text, 2, '0'), 'online', 'operator' FROM generate_series(1, 64) g;
     INSERT INTO operator_regions SELECT id, 1 + (id - 1) % 8 FROM operators;
     INSERT INTO operators (login, name, role, token_hash) VALUES ('sup', 'Supervisor', 'supervisor', '${hashToken(SUPERVISOR_TOKEN)}');
     INSERT INTO operator_regions SELECT id, r FROM operators, generate_series(1, 2) r WHERE login = 'sup'`,
  ],
  [
    `${LEADS.toLocaleString('en-US')} leads`,
    `INSERT INTO leads (title, status, responsible_id, region_id, assignment_reason, channel, source_type, source_key,
                        source_name, first_event_id, created_at)
     SELECT 'Lead ' || g, 'new', 1 + (g * 7) % 64, 1 + ((g * 7) % 64) % 8, 'round_robin', ch,
            CASE ch WHEN 'phone' THEN 'line' WHEN 'email' THEN 'mailbox' WHEN 'webform' THEN 'form' ELSE 'bot' END,
            ch || '-' || (1 + g % 5), initcap(ch) || ' ' || (1 + g % 5), gen_random_uuid(),
            now() - interval '365 days' + (g::float / ${LEADS}) * interval '365 days'
       FROM (SELECT g, (ARRAY['phone','phone','email','telegram','webform'])[1 + g % 5] AS ch
               FROM generate_series(1, ${LEADS}) g) s`,
  ],
  [
    'conversions (25%), deals (40% of them), junk (20%)',
    `UPDATE leads SET status = CASE WHEN random() < 0.25 THEN 'converted' WHEN random() < 0.27 THEN 'junk'
                                    WHEN random() < 0.5 THEN 'in_progress' ELSE 'new' END;
     INSERT INTO contacts (name, responsible_id, region_id, created_at)
       SELECT 'Contact of ' || id, responsible_id, region_id, created_at FROM leads WHERE status = 'converted' ORDER BY id;
     UPDATE leads l SET converted_contact_id = c.id,
            converted_at = l.created_at + random() * interval '10 days' + interval '1 hour'
       FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts) c,
            (SELECT id, row_number() OVER (ORDER BY id) AS n FROM leads WHERE status = 'converted') x
      WHERE x.n = c.n AND l.id = x.id;
     INSERT INTO deals (title, contact_id, lead_id, responsible_id, amount)
       SELECT 'Deal ' || id, converted_contact_id, id, responsible_id, 1000 FROM leads
        WHERE status = 'converted' AND random() < 0.4;
     UPDATE leads l SET converted_deal_id = d.id FROM deals d WHERE d.lead_id = l.id`,
  ],
  [
    `${INBOUND.toLocaleString('en-US')} inbound contacts`,
    `INSERT INTO activities (owner_type, owner_id, type, direction, state, responsible_id, channel, source_key,
                             details, created_at)
     SELECT CASE WHEN l.converted_contact_id IS NULL THEN 'lead' ELSE 'contact' END,
            COALESCE(l.converted_contact_id, l.id), t, 'inbound', 'completed', l.responsible_id, l.channel,
            l.source_key,
            CASE WHEN t = 'call' AND random() < 0.7
                 THEN jsonb_build_object('result', 'answered', 'call', jsonb_build_object('waitSec', (random() * 40)::int))
                 WHEN t = 'call' THEN '{"result":"missed"}'::jsonb ELSE '{}'::jsonb END,
            LEAST(now(), l.created_at + CASE WHEN g <= ${LEADS} THEN interval '0' ELSE random() * interval '20 days' END)
       FROM (SELECT g, 1 + (g - 1) % ${LEADS} AS lead_id,
                    (ARRAY['call','call','email','message','form'])[1 + g % 5] AS t
               FROM generate_series(1, ${INBOUND}) g) s
       JOIN leads l ON l.id = s.lead_id`,
  ],
  [
    `${REPLIES.toLocaleString('en-US')} outbound replies (triggers set first responses)`,
    `INSERT INTO activities (owner_type, owner_id, type, direction, state, responsible_id, channel, details, created_at)
     SELECT a.owner_type, a.owner_id, CASE a.type WHEN 'form' THEN 'call' ELSE a.type END, 'outbound', 'completed',
            a.responsible_id, a.channel, '{}', a.created_at + exp(random() * 9) * interval '1 second'
       FROM activities a WHERE a.direction = 'inbound' AND a.id % 5 <> 0 AND a.id <= ${(REPLIES * 5) / 4}`,
  ],
  [
    `${CALLBACKS.toLocaleString('en-US')} callbacks (completing them is a response too)`,
    `INSERT INTO activities (owner_type, owner_id, type, state, responsible_id, deadline, created_at)
     SELECT a.owner_type, a.owner_id, 'callback', 'planned', a.responsible_id, a.created_at + interval '30 minutes',
            a.created_at
       FROM activities a WHERE a.type = 'call' AND a.direction = 'inbound' ORDER BY a.id LIMIT ${CALLBACKS};
     UPDATE activities SET state = 'completed',
            completed_at = deadline - interval '30 minutes' + CASE WHEN random() < 0.82 THEN random() * interval '30 minutes'
                                                                  ELSE interval '31 minutes' + random() * interval '5 hours' END
      WHERE type = 'callback' AND id % 20 > 2`,
  ],
  [
    `${OTHER.toLocaleString('en-US')} tasks and notes`,
    `INSERT INTO activities (owner_type, owner_id, type, state, responsible_id, deadline, created_at)
     SELECT 'lead', 1 + g % ${LEADS}, CASE WHEN g % 2 = 0 THEN 'task' ELSE 'note' END, 'completed', 1 + g % 64,
            NULL, now() - random() * interval '365 days'
       FROM generate_series(1, (SELECT ${1_000_000} - count(*) FROM activities)) g`,
  ],
  [
    'first-response SLA timers (automation, 30 min) for every inbound contact',
    `INSERT INTO automation_rules (name, kind, settings, active) VALUES ('SLA 30 min', 'first_response_sla', '{}', false);
     INSERT INTO automation_timers (rule_id, target_type, target_id, due_at, state, fired_at, resolved_at)
     SELECT (SELECT max(id) FROM automation_rules), 'activity', id, created_at + interval '30 minutes',
            CASE WHEN first_response_at IS NULL THEN 'fired' ELSE 'resolved' END,
            CASE WHEN first_response_at IS NULL OR first_response_at > created_at + interval '30 minutes'
                 THEN created_at + interval '30 minutes' END,
            first_response_at
       FROM activities WHERE direction = 'inbound'`,
  ],
  ['VACUUM ANALYZE', 'VACUUM ANALYZE'],
];

/** utime + stime of a local process, in clock ticks (USER_HZ, 100 on Linux): fields 14 and 15 of /proc/<pid>/stat. */
const TICK_MS = 10;
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * What the first-response trigger costs a writer: the same 20,000 outbound replies (to existing clients'
 * contacts, as a router batch or the reply API writes them) inserted with the trigger and with it disabled, each
 * in a transaction rolled back afterwards. Per row, so it compares with the router's cost per contact.
 */
async function triggerCost(client: pg.Client): Promise<string[][]> {
  const insert = `INSERT INTO activities (owner_type, owner_id, type, direction, state, responsible_id, created_at)
    SELECT owner_type, owner_id, 'call', 'outbound', 'completed', responsible_id, created_at + interval '1 minute'
      FROM activities WHERE direction = 'inbound' AND id % 25 = 3 LIMIT 20000`;
  const rows: string[][] = [];
  for (const [label, off] of [
    ['with the trigger', false],
    ['trigger disabled', true],
    ['with the trigger (again)', false],
  ] as const) {
    await client.query('BEGIN');
    if (off) await client.query('ALTER TABLE activities DISABLE TRIGGER activities_report_response');
    const t0 = performance.now();
    const r = await client.query(insert);
    const took = performance.now() - t0;
    await client.query('ROLLBACK');
    rows.push([label, String(r.rowCount), ms(took), `${((took * 1000) / (r.rowCount || 1)).toFixed(1)} µs`]);
  }
  return rows;
}

async function fill(client: pg.Client): Promise<string[][]> {
  const rows: string[][] = [];
  for (const [what, sql] of FILL) {
    const t0 = performance.now();
    await client.query(sql);
    rows.push([what, ms(performance.now() - t0)]);
    process.stdout.write(`  ${what}: ${ms(performance.now() - t0)}\n`);
  }
  return rows;
}

interface Case {
  name: string;
  url: string;
  token: string;
  csv?: boolean;
  explain: { text: string; params: unknown[] };
}

function cases(now: Date, supRegions: number[]): Case[] {
  const iso = (d: Date) => d.toISOString();
  const periods = [
    ['30 days', new Date(now.getTime() - 30 * 86_400_000)],
    ['365 days', new Date(now.getTime() - 366 * 86_400_000)],
  ] as const;
  const out: Case[] = [];
  for (const [label, from] of periods) {
    const q = `from=${encodeURIComponent(iso(from))}&to=${encodeURIComponent(iso(now))}`;
    for (const groupBy of ['source', 'region', 'operator'] as const) {
      out.push({
        name: `leads by ${groupBy}, ${label}, admin`,
        url: `/v1/reports/leads?${q}&groupBy=${groupBy}`,
        token: ADMIN_TOKEN,
        explain: leadReportSql({ from: iso(from), to: iso(now), groupBy, regionIds: null }),
      });
    }
    out.push({
      name: `leads by channel, ${label}, supervisor (2 regions), CSV`,
      url: `/v1/reports/leads?${q}&groupBy=channel&format=csv`,
      token: SUPERVISOR_TOKEN,
      csv: true,
      explain: leadReportSql({ from: iso(from), to: iso(now), groupBy: 'channel', regionIds: supRegions }),
    });
    const op = { from: iso(from), to: iso(now), slaSec: 1800, now };
    out.push({
      name: `operators, ${label}, admin`,
      url: `/v1/reports/operators?${q}`,
      token: ADMIN_TOKEN,
      explain: operatorReportSql({ ...op, regionIds: null }),
    });
    out.push({
      name: `operators, ${label}, supervisor (2 regions), CSV`,
      url: `/v1/reports/operators?${q}&format=csv`,
      token: SUPERVISOR_TOKEN,
      csv: true,
      explain: operatorReportSql({ ...op, regionIds: supRegions }),
    });
  }
  return out;
}

/** The scans of a plan: node type and relation/index, with heap fetches for index-only scans. */
function scans(plan: Record<string, unknown>, out: string[] = []): string[] {
  const type = plan['Node Type'] as string;
  if (type.includes('Scan') && (plan['Relation Name'] || plan['Index Name'])) {
    const fetches = plan['Heap Fetches'] !== undefined ? ` (heap fetches ${plan['Heap Fetches']})` : '';
    out.push(`${type} ${plan['Index Name'] ?? plan['Relation Name']}${fetches}`);
  }
  for (const child of (plan.Plans as Record<string, unknown>[] | undefined) ?? []) scans(child, out);
  return out;
}

async function main() {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const schema = REUSE ?? `bench_reports_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const load = loadavg()[0]!.toFixed(1);
  console.log(`reports bench: schema ${schema}, load average ${load} on entry`);
  let fillRows: string[][] = [];
  // One connection: its backend's CPU time is read from /proc around each report (see cpuTicks).
  const db = createPgDatabase({ connectionString: schemaUrl(schema), max: 1 });
  try {
    if (!REUSE) {
      await admin.query(`CREATE SCHEMA ${schema}`);
      await migrate(db);
      const c = new pg.Client({ connectionString: schemaUrl(schema) });
      await c.connect();
      const t0 = performance.now();
      console.log('fill:');
      fillRows = await fill(c);
      fillRows.push(['fill total', ms(performance.now() - t0)]);
      await c.end();
    } else {
      // A kept schema's supervisor token is gone with the process that made it: give it this run's. The last
      // run's trigger-cost step left pages not all-visible: VACUUM, as autovacuum would have by now.
      await db.query(`UPDATE operators SET token_hash = $1 WHERE login = 'sup'`, [
        hashToken(SUPERVISOR_TOKEN),
      ]);
      await migrate(db);
      await db.query('VACUUM ANALYZE activities');
      await db.query('VACUUM ANALYZE leads');
    }
    const counts = (
      await db.query<{ activities: number; inbound: number; leads: number; answered: number }>(
        `SELECT (SELECT count(*) FROM activities)::int AS activities,
                (SELECT count(*) FROM activities WHERE direction = 'inbound')::int AS inbound,
                (SELECT count(*) FROM leads)::int AS leads,
                (SELECT count(first_response_at) FROM activities WHERE direction = 'inbound')::int AS answered`,
      )
    ).rows[0]!;
    console.log(
      `data: ${counts.activities.toLocaleString('en-US')} activities (${counts.inbound.toLocaleString('en-US')} inbound, ` +
        `${counts.answered.toLocaleString('en-US')} with a first response), ${counts.leads.toLocaleString('en-US')} leads`,
    );

    const app = Fastify(httpOptions());
    registerErrorHandler(app);
    const config = loadConfig({ ADMIN_TOKEN, DEFAULT_COUNTRY: 'RU', LOG_LEVEL: 'silent' });
    await app.register(apiRoutes, { db, config });
    await app.ready();
    const supRegions = (
      await db.query<{ region_id: number }>(
        `SELECT region_id FROM operator_regions r JOIN operators o ON o.id = r.operator_id WHERE o.login = 'sup'`,
      )
    ).rows.map((r) => r.region_id);

    const now = new Date();
    const rows: string[][] = [];
    for (const c of cases(now, supRegions)) {
      const times: number[] = [];
      const cpu: number[] = [];
      const backend = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      let size = 0;
      let lines = 0;
      for (let i = 0; i <= RUNS; i++) {
        const t0 = performance.now();
        const pg0 = cpuTicks(backend);
        const node0 = process.cpuUsage();
        const r = await app.inject({
          method: 'GET',
          url: c.url,
          headers: { authorization: `Bearer ${c.token}` },
        });
        const took = performance.now() - t0;
        const nodeCpu = process.cpuUsage(node0);
        const cpuMs = (cpuTicks(backend) - pg0) * TICK_MS + (nodeCpu.user + nodeCpu.system) / 1000;
        if (i > 0) cpu.push(cpuMs);
        if (r.statusCode !== 200) throw new Error(`${c.name}: ${r.statusCode} ${r.body}`);
        if (i > 0) times.push(took);
        size = r.body.length;
        lines = c.csv ? r.body.split('\r\n').length - 2 : (r.json() as { rows: unknown[] }).rows.length;
      }
      // Planned as the report runs it: in its transaction, with its work_mem.
      const plan = (
        await reportQuery<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(
          db,
          `EXPLAIN (ANALYZE, FORMAT JSON) ${c.explain.text}`,
          c.explain.params,
        )
      )[0]!['QUERY PLAN'][0].Plan;
      const s = summarise(times);
      rows.push([
        c.name,
        ms(s.p50),
        ms(summarise(cpu).p50),
        ms(s.max),
        s.p50 < TARGET_MS ? 'yes' : 'NO',
        String(lines),
        `${(size / 1024).toFixed(1)} KiB`,
        [...new Set(scans(plan))].join('; '),
      ]);
      process.stdout.write(`  ${c.name}: p50 ${ms(s.p50)}\n`);
    }
    await app.close();
    // Last: its rolled-back updates clear visibility-map bits all over the table (heap fetches for the reports).
    const tc = new pg.Client({ connectionString: schemaUrl(schema) });
    await tc.connect();
    const triggerRows = await triggerCost(tc);
    await tc.end();
    const loadAfter = loadavg()[0]!.toFixed(1);
    console.log(
      `\nReports on ${counts.activities.toLocaleString('en-US')} activities, p50 of ${RUNS} runs after a warm-up; target ${TARGET_MS} ms.`,
    );
    console.log(`Load average ${load} before, ${loadAfter} after (other processes on this machine count).\n`);
    if (fillRows.length) console.log(`${table(['fill step', 'time'], fillRows, true)}\n`);
    console.log(
      table(['report', 'p50', 'CPU p50', 'max', '< 1 s', 'rows', 'size', 'plan (scans)'], rows, true),
    );
    console.log(
      '\nCPU: the PostgreSQL backend (/proc, 10 ms ticks) plus this Node process during the request, i.e. the time\n' +
        'the report needs from a free core; wall time above includes waiting for one.',
    );
    console.log(`\n${table(['outbound replies inserted', 'rows', 'time', 'per row'], triggerRows, true)}`);
  } finally {
    await db.close();
    if (!KEEP && !REUSE) await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    else
      console.log(
        `\nschema kept: ${schema} (npm run bench:reports -- --schema=${schema}; DROP SCHEMA ${schema} CASCADE when done)`,
      );
    await admin.end();
  }
}

await main();
