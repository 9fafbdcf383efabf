import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../crm-core/db/database.js';
import { createPgDatabase } from '../../crm-core/db/pg.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { isRetriable } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { RetriesExhaustedError } from '../../lib/retry.js';
import { createRouter, type Router } from '../../router/router.js';
import { ADMIN_TOKEN, type ApiTestApp, buildApiApp } from '../support/api-app.js';
import { type Body, holderOf, send } from '../support/crm.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { callEvent, emailEvent, formEvent } from '../support/events.js';
import { pgAvailable } from '../support/services.js';

/**
 * Merge and conversion racing the router: two routers (own connection pools, as separate processes) route a
 * steady stream of contacts from clients that operators merge and convert meanwhile, through the API. Whatever
 * the interleaving, when the dust settles every contact of a merged pair is on its survivor and every contact of
 * a converted lead on its contact: nothing is left on (or lands later on) the entity merged away or converted,
 * no new lead is made for them, and no event is lost.
 */
const pgUp = await pgAvailable();
const silent = createLogger({ level: 'silent' });

const MERGES = 16;
const CONVERSIONS = 8;
const ROUNDS = 8;

async function handleLikeTheBus(router: Router, batch: InboundContact[]) {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await router.handle(batch);
      expect(r.failed).toEqual([]);
      return;
    } catch (err) {
      const retriable = isRetriable(err) || (err instanceof RetriesExhaustedError && isRetriable(err.cause));
      if (!retriable || attempt >= 8) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

describe.skipIf(!pgUp)('merge and conversion while two routers route a stream (PostgreSQL)', () => {
  let t: TestDatabase;
  let a: ApiTestApp;
  const pools: Database[] = [];
  let routers: Router[];
  const phone = (i: number) => `+7495777${String(1000 + i).padStart(4, '0')}`;
  const email = (i: number) => `race${i}@example.com`;
  const convPhone = (i: number) => `+7812777${String(2000 + i).padStart(4, '0')}`;

  beforeAll(async () => {
    t = await createTestPg({ max: 6 });
    a = await buildApiApp(t);
    for (let i = 0; i < 2; i++) pools.push(createPgDatabase({ connectionString: t.url!, max: 3 }));
    routers = pools.map((db) =>
      createRouter({ db, logger: silent, callbackDeadlineMin: 30, meaningfulCallSec: 60 }),
    );
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await a?.app.close();
    await t?.drop();
  });

  it('every contact ends on the survivor or the contact; nothing on the merged-away or converted entity', async () => {
    // Pairs: a lead by phone and a lead by email, then a form naming both -> a duplicate candidate each.
    await a.router.handle([
      ...Array.from({ length: MERGES }, (_, i) => formEvent({ phone: phone(i), name: `P${i}` })),
      ...Array.from({ length: MERGES }, (_, i) => emailEvent({ from: email(i), messageId: `<seed-${i}@x>` })),
      ...Array.from({ length: CONVERSIONS }, (_, i) => formEvent({ phone: convPhone(i), name: `C${i}` })),
    ]);
    await a.router.handle(
      Array.from({ length: MERGES }, (_, i) => formEvent({ phone: phone(i), email: email(i) })),
    );
    const candidates = (await send(a.app, 'GET', '/v1/duplicates?limit=500', a.tokens.anna!)).body
      .items as Body[];
    expect(candidates).toHaveLength(MERGES);
    const byPhone = await Promise.all(
      Array.from({ length: MERGES }, (_, i) => holderOf(t.db, 'phone', phone(i))),
    );
    const byEmail = await Promise.all(
      Array.from({ length: MERGES }, (_, i) => holderOf(t.db, 'email', email(i))),
    );
    const convLeads = await Promise.all(
      Array.from({ length: CONVERSIONS }, (_, i) => holderOf(t.db, 'phone', convPhone(i))),
    );

    // The stream: every round, each client calls (missed or answered), writes and fills a form.
    const stream: InboundContact[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < MERGES; i++) {
        stream.push(callEvent({ from: phone(i), status: (i + r) % 2 ? 'missed' : 'answered', talkSec: 30 }));
        stream.push(emailEvent({ from: email(i), messageId: `<r${r}-${i}@x>` }));
        if (r % 2 === 0) stream.push(formEvent({ phone: phone(i), email: email(i) }));
      }
      for (let i = 0; i < CONVERSIONS; i++) stream.push(callEvent({ from: convPhone(i), status: 'missed' }));
    }
    const chunks: InboundContact[][] = [];
    for (let i = 0; i < stream.length; i += 12) chunks.push(stream.slice(i, i + 12));
    let done = 0;
    const batchesDuring = { merges: 0 };
    let merging = false;
    let startMerges!: () => void;
    const started = new Promise<void>((r) => (startMerges = r));
    const work = [0, 1].map(async (w) => {
      for (let c = w; c < chunks.length; c += 2) {
        await handleLikeTheBus(routers[w]!, chunks[c]!);
        done++;
        if (merging) batchesDuring.merges++;
        if (done === Math.floor(chunks.length / 4)) startMerges();
      }
    });

    // A quarter into the stream, operators merge every pair (survivor alternating) and convert every lead.
    await started;
    merging = true;
    const survivors = candidates.map((c, k) => (k % 2 ? c.chosen : c.other));
    const mergedAway = candidates.map((c, k) => (k % 2 ? c.other : c.chosen));
    const results = await Promise.all([
      ...candidates.map((c, k) =>
        send(a.app, 'POST', `/v1/duplicates/${c.id}/merge`, a.tokens.anna!, {
          survivor: { type: survivors[k].type, id: survivors[k].id },
        }),
      ),
      ...convLeads.map((l, k) =>
        send(
          a.app,
          'POST',
          `/v1/leads/${l!.id}/convert`,
          a.tokens.boris!,
          k % 2 ? {} : { deal: { title: `D${k}` } },
        ),
      ),
    ]);
    merging = false;
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    await Promise.all(work);
    expect(done).toBe(chunks.length);
    // The merges really ran while the routers were committing batches.
    expect(batchesDuring.merges).toBeGreaterThan(0);

    // Nothing (but the workflow's own records) is owned by a merged-away or converted entity.
    const left = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM activities a JOIN leads l ON a.owner_type = 'lead' AND a.owner_id = l.id
        WHERE l.status IN ('merged', 'converted') AND a.type <> 'system'`,
    );
    expect(left.rows[0]!.n).toBe(0);
    const ids = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM identities i JOIN leads l ON i.owner_type = 'lead' AND i.owner_id = l.id
        WHERE l.status IN ('merged', 'converted')`,
    );
    expect(ids.rows[0]!.n).toBe(0);

    // Each pair's every contact (before, during and after its merge) is on its survivor; each converted lead's on
    // its contact. No event lost, none made a new lead.
    const streamIds = stream.map((e) => e.id);
    const processed = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[]) AND activity_id IS NOT NULL',
      [streamIds],
    );
    expect(processed.rows[0]!.n).toBe(stream.length);
    const newLeads = await t.db.query('SELECT id FROM leads WHERE first_event_id = ANY($1::uuid[])', [
      streamIds,
    ]);
    expect(newLeads.rows).toEqual([]);
    const owners = new Map(
      (
        await t.db.query<{ event_id: string; owner_type: string; owner_id: number }>(
          'SELECT event_id, owner_type, owner_id FROM activities WHERE event_id = ANY($1::uuid[])',
          [streamIds],
        )
      ).rows.map((r) => [r.event_id, { type: r.owner_type, id: r.owner_id }]),
    );
    for (let i = 0; i < MERGES; i++) {
      const k = candidates.findIndex((c) => c.identityValue === email(i));
      const survivor = { type: survivors[k].type, id: survivors[k].id };
      expect([byPhone[i], byEmail[i]]).toContainEqual(survivor);
      expect(await holderOf(t.db, 'phone', phone(i))).toEqual(survivor);
      expect(await holderOf(t.db, 'email', email(i))).toEqual(survivor);
      const mine = stream.filter((e) =>
        e.sender.identities.some((x) => x.value === phone(i) || x.value === email(i)),
      );
      for (const e of mine) expect(owners.get(e.id), `${e.channel} of pair ${i}`).toEqual(survivor);
      const merged = (await send(a.app, 'GET', `/v1/leads/${mergedAway[k].id}`, ADMIN_TOKEN)).body;
      expect(merged).toMatchObject({ status: 'merged', mergedIntoType: 'lead', mergedIntoId: survivor.id });
    }
    for (let i = 0; i < CONVERSIONS; i++) {
      const lead = (await send(a.app, 'GET', `/v1/leads/${convLeads[i]!.id}`, ADMIN_TOKEN)).body;
      expect(lead.status).toBe('converted');
      const contact = { type: 'contact', id: lead.convertedContactId };
      expect(await holderOf(t.db, 'phone', convPhone(i))).toEqual(contact);
      for (const e of stream.filter((x) => x.sender.identities.some((y) => y.value === convPhone(i))))
        expect(owners.get(e.id)).toEqual(contact);
      // One planned callback per missed call, all on the contact: none lost in the move.
      const cbs = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM activities WHERE type = 'callback' AND owner_type = 'contact' AND owner_id = $1`,
        [contact.id],
      );
      expect(cbs.rows[0]!.n).toBe(ROUNDS);
    }
    // No open duplicate question is left about an entity that is gone.
    const open = (await send(a.app, 'GET', '/v1/duplicates?limit=500', a.tokens.anna!)).body.items as Body[];
    expect(open.filter((c) => c.chosen.status === 'merged' || c.other.status === 'merged')).toEqual([]);
  }, 300_000);
});
