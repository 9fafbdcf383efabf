import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../../crm-core/db/database.js';
import { completeCallbacks, operatorCounters } from '../../crm-core/repositories/activity.repository.js';
import { writeAssignment } from '../../crm-core/repositories/assignment.repository.js';
import * as conv from '../../crm-core/repositories/conversation.repository.js';
import { findIdentities } from '../../crm-core/repositories/identity.repository.js';
import * as notices from '../../crm-core/repositories/notice.repository.js';
import { createTestPg, type TestDatabase } from '../support/db.js';

// The router's batch look-ups must cost what the batch costs, not what the table holds. On a schema whose
// statistics date from when it was empty (autovacuum lags behind a burst, as in the WhatsApp bench), a plain
// `JOIN unnest(...)` was planned as a hash join over every open conversation, 108 ms a batch at 160,000 of them.
// Each look-up runs under EXPLAIN ANALYZE; no large table may be read for more than a few rows per key.
const ROWS = 20_000;
const BATCH = 200;
const LARGE = new Set(['conversations', 'messages', 'identities', 'processed_events', 'activities', 'leads']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/**
 * Rows each large table was read for while `work` ran its statements (EXPLAIN ANALYZE, in a transaction that
 * is rolled back): rows returned or filtered out by its scans, and index entries its bitmap scans visited.
 */
async function rowsRead(
  db: Database,
  work: (q: Queryable) => Promise<unknown>,
): Promise<Map<string, number>> {
  const read = new Map<string, number>();
  const visit = (n: PlanNode, table?: string) => {
    const rel = n['Relation Name'] ?? (n['Node Type'] === 'Bitmap Index Scan' ? table : undefined);
    if (rel && LARGE.has(rel) && n['Node Type'] !== 'Bitmap Heap Scan' && /Scan/.test(n['Node Type'])) {
      const rows =
        n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0);
      read.set(rel, (read.get(rel) ?? 0) + rows * n['Actual Loops']);
    }
    if (rel && LARGE.has(rel) && n['Node Type'] === 'Bitmap Heap Scan') {
      const removed = (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0);
      read.set(rel, (read.get(rel) ?? 0) + removed * n['Actual Loops']);
    }
    for (const c of n.Plans ?? []) visit(c, n['Node Type'] === 'Bitmap Heap Scan' ? rel : table);
  };
  const rollback = new Error('rollback');
  await db
    .transaction(async (tx) => {
      const q: Queryable = {
        async query(text: string, params?: unknown[]) {
          const r = await tx.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
            `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
            params,
          );
          visit(r.rows[0]!['QUERY PLAN'][0]!.Plan);
          return { rows: [], rowCount: 0 } as never;
        },
      };
      await work(q);
      throw rollback;
    })
    .catch((e) => {
      if (e !== rollback) throw e;
    });
  return read;
}

/** Tables read for more rows than the batch could explain (a few per key). */
const overRead = (read: Map<string, number>) =>
  Object.fromEntries([...read].filter(([, n]) => n > 5 * BATCH));

describe('batch look-ups probe indexes, whatever the statistics say', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestPg({ max: 1 });
    const db = t.db;
    // Statistics of empty tables, then a burst the statistics have not seen.
    for (const table of LARGE) await db.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    await db.query('ANALYZE');
    await db.query("INSERT INTO operators (id, login, name) VALUES (1, 'op', 'Operator')");
    await db.query(
      `INSERT INTO leads (id, title, assignment_reason, channel, source_type, source_key, first_event_id)
         SELECT g, 'Lead ' || g, 'pending', 'whatsapp', 'messenger', 'acc', md5(g::text)::uuid
           FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await db.query(
      `INSERT INTO activities (id, type, owner_type, owner_id, state)
         SELECT g, 'message', 'lead', g, 'planned' FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    // Every lead also has an open callback (a form asks to be called back), as the forms bench leaves them.
    await db.query(
      `INSERT INTO activities (id, type, owner_type, owner_id, state, deadline)
         SELECT $1::int + g, 'callback', 'lead', g, 'planned', now() + interval '1 hour'
           FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await db.query(
      `INSERT INTO conversations (id, activity_id, channel, account_key, chat_id, owner_type, status, opened_at,
                                  last_message_at)
         SELECT g, g, 'whatsapp', 'acc', 'chat' || g, 'queue', 'open', now(), now() FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await db.query(
      `INSERT INTO messages (conversation_id, channel, account_key, direction, vendor_message_id, occurred_at)
         SELECT g, 'whatsapp', 'acc', 'inbound', 'wamid.' || g, now() FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await db.query(
      `INSERT INTO identities (kind, value, valid, owner_type, owner_id)
         SELECT 'phone', '+7916' || lpad(g::text, 7, '0'), true, 'lead', g FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await db.query(
      `INSERT INTO processed_events (event_id, owner_type, activity_id)
         SELECT md5(g::text)::uuid, 'queue', g FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
  }, 60_000);
  afterAll(async () => t?.drop());

  const picks = Array.from({ length: BATCH }, (_, i) => 1 + i * 97);
  /** The processed events' ids of these rows (md5 of the row number, as inserted above). */
  const eventIdsOf = async (rows: number[]) =>
    (
      await t.db.query<{ id: string }>('SELECT md5(g::text)::uuid::text AS id FROM unnest($1::int[]) AS g', [
        rows,
      ])
    ).rows.map((r) => r.id);

  it('open conversations of a batch of chats (locked)', async () => {
    const read = await rowsRead(t.db, (q) =>
      conv.openConversationsOf(
        q,
        picks.map((g) => ({ channel: 'whatsapp', accountKey: 'acc', chatId: `chat${g}` })),
      ),
    );
    expect(overRead(read)).toEqual({});
    expect(read.get('conversations')).toBe(BATCH);
  });

  it('messages by vendor ids', async () => {
    const refs = picks.map((g) => ({
      channel: 'whatsapp',
      accountKey: 'acc',
      vendorMessageId: `wamid.${g}`,
    }));
    expect(overRead(await rowsRead(t.db, (q) => conv.messagesByVendorIds(q, refs)))).toEqual({});
    expect(overRead(await rowsRead(t.db, (q) => notices.messagesByVendorIds(q, refs)))).toEqual({});
  });

  it('identities of a batch of senders', async () => {
    const read = await rowsRead(t.db, (q) =>
      findIdentities(
        q,
        picks.map((g) => ({ kind: 'phone', value: `+7916${String(g).padStart(7, '0')}` })),
      ),
    );
    expect(overRead(read)).toEqual({});
    expect(read.get('identities')).toBe(BATCH);
  });

  it("what the console's live notices read about routed events", async () => {
    const ids = await eventIdsOf(picks);
    expect(overRead(await rowsRead(t.db, (q) => notices.routedDetails(q, ids)))).toEqual({});
  });

  it("a batch's operator choices, onto its clients' unassigned activities", async () => {
    const read = await rowsRead(t.db, (q) =>
      writeAssignment(q, {
        newLeads: [],
        owners: { lead: [], contact: [], company: [] },
        activities: [],
        ownerActivities: picks.map((g) => ({ ownerType: 'lead', ownerId: g, responsibleId: 1 })),
        pointers: [],
      }),
    );
    expect(overRead(read)).toEqual({});
  });

  it("a batch's reached clients: their open callbacks completed", async () => {
    const at = new Date(Date.now() + 60_000).toISOString();
    const read = await rowsRead(t.db, (q) =>
      completeCallbacks(
        q,
        picks.map((g) => ({ ownerType: 'lead', ownerId: g, at, byEventId: `e${g}` })),
      ),
    );
    expect(overRead(read)).toEqual({});
  });

  it('the look-ups still find what they look for', async () => {
    const rows = await t.db.transaction((tx) =>
      conv.openConversationsOf(tx, [
        { channel: 'whatsapp', accountKey: 'acc', chatId: 'chat7' },
        { channel: 'whatsapp', accountKey: 'acc', chatId: 'nobody' },
      ]),
    );
    expect(rows.map((r) => Number(r.id))).toEqual([7]);
    const found = await findIdentities(t.db, [{ kind: 'phone', value: '+79160000042' }]);
    expect(found.map((r) => r.owner_id)).toEqual([42]);
  });
});

describe("an operator's console counters, on statistics older than a burst", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestPg({ max: 1 });
    const db = t.db;
    await db.query('ALTER TABLE activities SET (autovacuum_enabled = false)');
    await db.query('ALTER TABLE leads SET (autovacuum_enabled = false)');
    await db.query(
      "INSERT INTO operators (id, login, name) VALUES (1, 'op', 'Operator'), (2, 'op2', 'Other')",
    );
    // The statistics are taken when the CRM holds 440 leads, 40 of them the operator's, each with a planned
    // activity...
    const leads = async (from: number, to: number, op: number) => {
      await db.query(
        `INSERT INTO leads (id, title, assignment_reason, channel, source_type, source_key, first_event_id,
                            responsible_id, status)
           SELECT g, 'Lead ' || g, 'pending', 'livechat', 'widget', 'w', md5(g::text)::uuid, $3, 'in_progress'
             FROM generate_series($1::int, $2::int) g`,
        [from, to, op],
      );
      await db.query(
        `INSERT INTO activities (id, type, direction, owner_type, owner_id, state, responsible_id, deadline)
           SELECT g, 'message', 'inbound', 'lead', g, 'planned', $3, now() + interval '2 days'
             FROM generate_series($1::int, $2::int) g`,
        [from, to, op],
      );
    };
    await leads(1, 40, 1);
    await leads(41, 440, 2);
    await db.query('ANALYZE');
    // ...then a burst of 20,000 leads of another operator comes in before they are taken again.
    await leads(441, 20_440, 2);
    await db.query("UPDATE activities SET state = 'completed' WHERE id <= 10");
  }, 60_000);
  afterAll(async () => t?.drop());

  it('reads the activities of their own leads, not every planned one of the CRM', async () => {
    const read = await rowsRead(t.db, (q) => operatorCounters(q, 1, new Date()));
    expect(read.get('activities') ?? 0).toBeLessThan(500);
    expect(await operatorCounters(t.db, 1, new Date())).toMatchObject({ leads_without_planned: 10 });
  });
});

describe('the first-response trigger, on a table never analysed', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestPg({ max: 1 });
    await t.db.query('ALTER TABLE activities SET (autovacuum_enabled = false)');
    await t.db.query(
      `INSERT INTO activities (id, type, direction, owner_type, owner_id, state, created_at)
         SELECT g, 'message', 'inbound', 'lead', g, 'planned', now() - interval '1 hour'
           FROM generate_series(1, 2000) g`,
    );
  }, 60_000);
  afterAll(async () => t?.drop());

  it("probes the answered client's own activities (PL/pgSQL keeps a generic plan for it)", async () => {
    const read = await t.db.transaction(async (tx) => {
      // Past the five custom plans PL/pgSQL tries before it keeps a generic one.
      for (let i = 0; i < 8; i++)
        await tx.query("SELECT report_record_response('lead', $1, now())", [100 + i]);
      const r = await tx.query<{ n: string }>(
        `SELECT COALESCE(sum(idx_tup_fetch + seq_tup_read), 0) AS n FROM pg_stat_xact_user_tables
          WHERE relname = 'activities' AND schemaname = current_schema()`,
      );
      return Number(r.rows[0]!.n);
    });
    // A probe reads the client's one row (8 calls); a scan of activities_inbound_report reads all 2,000 each time.
    expect(read).toBeLessThan(100);
  });
});
