import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../crm-core/db/database.js';
import * as conv from '../../crm-core/repositories/conversation.repository.js';
import { findIdentities } from '../../crm-core/repositories/identity.repository.js';
import * as notices from '../../crm-core/repositories/notice.repository.js';
import { createTestPg, type TestDatabase } from '../support/db.js';

// The router's batch look-ups must cost what the batch costs, not what the table holds. On a schema whose
// statistics date from when it was empty (autovacuum lags behind a burst, as in the WhatsApp bench), a plain
// `JOIN unnest(...)` was planned as a hash join over every open conversation, 108 ms a batch at 160,000 of them.
// Each look-up is EXPLAINed as it would run; every read of a large table must be an index probe.
const ROWS = 20_000;
const BATCH = 200;
const LARGE = new Set(['conversations', 'messages', 'identities', 'processed_events', 'activities']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/** Runs each statement as EXPLAIN and keeps the plans; the repository gets no rows back. */
function explainer(db: Queryable) {
  const plans: PlanNode[] = [];
  const q: Queryable = {
    async query(text: string, params?: unknown[]) {
      const r = await db.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `EXPLAIN (FORMAT JSON) ${text}`,
        params,
      );
      plans.push(r.rows[0]!['QUERY PLAN'][0]!.Plan);
      return { rows: [], rowCount: 0 } as never;
    },
  };
  return { q, plans };
}

/**
 * Reads of a large table that do not go through an index condition: sequential scans, and bitmap scans of a
 * whole partial index (the plan that hashed every open conversation).
 */
function wholeTableReads(node: PlanNode): string[] {
  const large = node['Relation Name'] !== undefined && LARGE.has(node['Relation Name']);
  const bitmapWithoutCond = (n: PlanNode): boolean =>
    n['Node Type'] === 'Bitmap Index Scan'
      ? n['Index Cond'] === undefined
      : (n.Plans ?? []).some(bitmapWithoutCond);
  const own =
    large &&
    (node['Node Type'] === 'Seq Scan' ||
      (node['Node Type'] === 'Bitmap Heap Scan' && bitmapWithoutCond(node)))
      ? [`${node['Node Type']} on ${node['Relation Name']}`]
      : [];
  return [...own, ...(node.Plans ?? []).flatMap(wholeTableReads)];
}

describe('batch look-ups probe indexes, whatever the statistics say', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestPg({ max: 1 });
    const db = t.db;
    // Statistics of empty tables, then a burst the statistics have not seen.
    for (const table of LARGE) await db.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    await db.query('ANALYZE');
    await db.query(
      `INSERT INTO activities (id, type, owner_type, state)
         SELECT g, 'message', 'queue', 'planned' FROM generate_series(1, $1::int) g`,
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

  it('open conversations of a batch of chats (locked)', async () => {
    const { q, plans } = explainer(t.db);
    await conv.openConversationsOf(
      q,
      picks.map((g) => ({ channel: 'whatsapp', accountKey: 'acc', chatId: `chat${g}` })),
    );
    expect(plans.flatMap(wholeTableReads)).toEqual([]);
  });

  it('messages by vendor ids', async () => {
    const { q, plans } = explainer(t.db);
    const refs = picks.map((g) => ({
      channel: 'whatsapp',
      accountKey: 'acc',
      vendorMessageId: `wamid.${g}`,
    }));
    await conv.messagesByVendorIds(q, refs);
    await notices.messagesByVendorIds(q, refs);
    expect(plans.flatMap(wholeTableReads)).toEqual([]);
  });

  it('identities of a batch of senders', async () => {
    const { q, plans } = explainer(t.db);
    await findIdentities(
      q,
      picks.map((g) => ({ kind: 'phone', value: `+7916${String(g).padStart(7, '0')}` })),
    );
    expect(plans.flatMap(wholeTableReads)).toEqual([]);
  });

  it("what the console's live notices read about routed events", async () => {
    const ids = (
      await t.db.query<{ id: string }>('SELECT md5(g::text)::uuid::text AS id FROM unnest($1::int[]) AS g', [
        picks,
      ])
    ).rows.map((r) => r.id);
    const { q, plans } = explainer(t.db);
    await notices.routedDetails(q, ids);
    expect(plans.flatMap(wholeTableReads)).toEqual([]);
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
