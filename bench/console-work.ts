import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { listWork } from '../crm-core/repositories/console-work.repository.js';
import type { Viewer } from '../crm-core/repositories/visibility.repository.js';
import { summarise } from './stats.js';

/**
 * GET /v1/console/work's query on a large CRM: 500k activities (a third of them emails both ways), 10k
 * conversations, 30k contacts, 20k leads, 20 regions of 10 operators. Builds the data once in schema
 * `bench_console_work` (kept, so a run before and after a change compare on the same rows; migrations added
 * since are applied to it; `--fresh` rebuilds it), then times listWork for an operator, a supervisor and the admin and prints the
 * operator's EXPLAIN ANALYZE. Run: npx tsx bench/console-work.ts [--fresh] [--explain[=supervisor|admin]]
 */
const PG = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const args = new Set(process.argv.slice(2));
const schema = 'bench_console_work';
const ROUNDS = process.argv.includes('--quick') ? 1 : 7;

function schemaUrl(): string {
  const u = new URL(PG);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

const FILL = `
INSERT INTO regions (code, name) SELECT 'r' || g, 'Region ' || g FROM generate_series(1, 20) g;
INSERT INTO operators (login, name, status, role)
  SELECT 'op' || g, 'Operator ' || g, 'online', CASE WHEN g % 10 = 0 THEN 'supervisor' ELSE 'operator' END
    FROM generate_series(1, 200) g;
INSERT INTO operator_regions (operator_id, region_id) SELECT g, (g - 1) % 20 + 1 FROM generate_series(1, 200) g;
INSERT INTO contacts (name, responsible_id, region_id)
  SELECT 'Contact ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE (g % 200) + 1 END, (g % 200) % 20 + 1
    FROM generate_series(1, 30000) g;
INSERT INTO leads (title, name, status, responsible_id, region_id, assignment_reason, channel, source_type,
                   source_key, first_event_id, created_at, updated_at)
  SELECT 'Lead ' || g, 'Lead ' || g, CASE WHEN g % 4 = 0 THEN 'new' ELSE 'in_progress' END,
         CASE WHEN g % 7 = 0 THEN NULL ELSE (g % 200) + 1 END, (g % 200) % 20 + 1, 'bench', 'email', 'mailbox', 'm',
         gen_random_uuid(), now() - (g % 1000) * interval '1 hour', now() - (g % 1000) * interval '1 hour'
    FROM generate_series(1, 20000) g;
-- 500k activities: owners alternate contact/lead; responsible follows the owner's; times over 90 days.
INSERT INTO activities (owner_type, owner_id, type, direction, state, subject, responsible_id, channel, deadline,
                        details, created_at, updated_at)
  SELECT CASE WHEN g % 2 = 0 THEN 'contact' ELSE 'lead' END,
         CASE WHEN g % 2 = 0 THEN g % 30000 + 1 ELSE g % 20000 + 1 END,
         (ARRAY['email','email','email','call','call','message','callback','task'])[g % 8 + 1],
         CASE WHEN g % 8 IN (0, 3) OR g % 16 = 1 THEN 'inbound' ELSE 'outbound' END,
         CASE WHEN g % 8 = 6 AND g % 24 = 6 THEN 'planned' ELSE 'completed' END,
         'Subject ' || g,
         CASE WHEN g % 2 = 0 THEN (SELECT responsible_id FROM contacts WHERE id = g % 30000 + 1)
              ELSE (SELECT responsible_id FROM leads WHERE id = g % 20000 + 1) END,
         'email', now() + (g % 100 - 50) * interval '1 hour',
         CASE WHEN g % 48 = 6 THEN '{"missedCall": true}'::jsonb ELSE '{}'::jsonb END,
         now() - (g % 129600) * interval '1 minute', now() - (g % 129600) * interval '1 minute'
    FROM generate_series(1, 500000) g;
-- 10k conversations, 8k open, each with its own message activity (planned = waiting) and five messages.
WITH a AS (
  INSERT INTO activities (owner_type, owner_id, type, direction, state, responsible_id, channel, created_at)
  SELECT 'contact', g % 30000 + 1, 'message', 'inbound', CASE WHEN g % 3 = 0 THEN 'planned' ELSE 'completed' END,
         (SELECT responsible_id FROM contacts WHERE id = g % 30000 + 1), 'telegram', now() - g * interval '1 minute'
    FROM generate_series(1, 10000) g
  RETURNING id, owner_id, created_at)
INSERT INTO conversations (activity_id, channel, account_key, chat_id, owner_type, owner_id, status, opened_at,
                           last_message_at, last_inbound_at)
  SELECT id, 'telegram', 'bot', 'chat' || id, 'contact', owner_id,
         CASE WHEN id % 5 = 0 THEN 'closed' ELSE 'open' END, created_at, created_at, created_at FROM a;
INSERT INTO messages (conversation_id, channel, account_key, direction, vendor_message_id, text, occurred_at)
  SELECT c.id, 'telegram', 'bot', CASE WHEN k % 2 = 0 THEN 'inbound' ELSE 'outbound' END, c.id || ':' || k,
         'Message ' || k, c.last_message_at - k * interval '1 minute'
    FROM conversations c, generate_series(1, 5) k;
ANALYZE;
`;

async function prepare(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  const exists =
    (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;
  if (exists && !args.has('--fresh')) {
    await admin.end();
    // Migrations added since the data was built (e.g. an index) are applied to it.
    const db = createPgDatabase({ connectionString: schemaUrl(), max: 1 });
    await migrate(db);
    await db.query('ANALYZE');
    await db.close();
    return;
  }
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = createPgDatabase({ connectionString: schemaUrl(), max: 1 });
  await migrate(db);
  const t0 = performance.now();
  await db.query(FILL);
  console.log(`data built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await db.close();
}

async function main() {
  await prepare();
  const db = createPgDatabase({ connectionString: schemaUrl(), max: 1 });
  const viewers: [string, Viewer][] = [
    ['operator (1 region)', { operatorId: 7, role: 'operator', regionIds: [7] }],
    ['supervisor (1 region)', { operatorId: 10, role: 'supervisor', regionIds: [10] }],
    ['admin', { operatorId: null, role: 'admin', regionIds: [] }],
  ];
  const applied = await db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
  console.log(
    `schema ${schema}, migrations up to ${applied.rows[0]?.v}, median of ${ROUNDS} after a warm-up`,
  );
  // As the service runs it (its connections have JIT off: crm-core/db/pg.ts), and with PostgreSQL's default
  // JIT (on; it compiles any plan costed above 100,000), turned back on for one transaction.
  const modes: [string, (v: Viewer) => Promise<unknown[]>][] = [
    ['jit off', (v) => listWork(db, v, 200)],
    [
      'jit default',
      (v) =>
        db.transaction(async (tx) => {
          await tx.query("SELECT set_config('jit', 'on', true)");
          return listWork(tx, v, 200);
        }),
    ],
  ];
  for (const [mode, run] of modes) {
    for (const [name, v] of viewers) {
      await run(v);
      const ms: number[] = [];
      let rows = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        rows = (await run(v)).length;
        ms.push(performance.now() - t0);
      }
      const s = summarise(ms);
      console.log(
        `${mode.padEnd(12)} ${name.padEnd(24)} rows ${String(rows).padStart(3)}  p50 ${s.p50.toFixed(1)} ms  max ${s.max.toFixed(1)} ms`,
      );
    }
  }
  if ([...args].some((x) => x.startsWith('--explain'))) {
    // The same SQL listWork sends, captured through a Queryable that explains instead.
    const explain = {
      query: async (sql: string, params?: unknown[]) => {
        const r = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
        console.log(r.rows.map((x) => x['QUERY PLAN']).join('\n'));
        return { rows: [], rowCount: 0 };
      },
    };
    // --explain=supervisor (or admin) explains that viewer's query instead of the operator's; JIT off as served.
    const which = process.argv.find((x) => x.startsWith('--explain='))?.slice(10) ?? 'operator';
    const viewer = viewers.find(([name]) => name.startsWith(which))?.[1] ?? viewers[0]![1];
    await listWork(explain as never, viewer, 200);
  }
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
