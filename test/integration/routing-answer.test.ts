import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../api/metrics.js';
import { buildServer } from '../../api/server.js';
import { DEMO_LINE_SECRET, seedDemo } from '../../app/demo-seed.js';
import type { Database, Queryable } from '../../crm-core/db/database.js';
import { createLogger } from '../../lib/logger.js';
import type { RealtimeHub } from '../../realtime/hub.js';
import { createMemoryHub } from '../../realtime/memory-hub.js';
import { createPgHub } from '../../realtime/pg-hub.js';
import { type LookupQuery, lookupClient } from '../../router/client-lookup.js';
import type { RegionHints } from '../../router/region-resolver.js';
import { createRegionsCache } from '../../router/regions-cache.js';
import { ADMIN_TOKEN, admin, apiBackends } from '../support/api-app.js';
import type { TestDatabase } from '../support/db.js';
import { referenceLookup } from '../support/reference-lookup.js';

/**
 * The PBX routing answer reads one statement (crm-core/repositories/routing.repository.ts) instead of 4-6 queries
 * in sequence. Its answers must equal the query-by-query look-up's (test/support/reference-lookup.ts, the code it
 * replaced) for every kind of caller, a region change must reach the next answer through the hub, and operators
 * and settings are read live.
 */

/** A Queryable that counts the statements sent through it. */
function counting(db: Queryable) {
  const c = {
    statements: 0,
    db: {
      query: (text: string, params?: unknown[]) => {
        c.statements += 1;
        return db.query(text, params);
      },
    } as Queryable,
  };
  return c;
}

const RU = 'RU';

async function lead(
  db: Queryable,
  f: { name: string; responsibleId: number | null; status?: string; convertedContactId?: number },
) {
  const r = await db.query<{ id: number }>(
    `INSERT INTO leads (title, name, status, responsible_id, assignment_reason, channel, source_type, source_key,
                        first_event_id, converted_contact_id)
     VALUES ($1, $1, $2, $3, 'test', 'phone', 'line', 'demo', $4, $5) RETURNING id`,
    [f.name, f.status ?? 'new', f.responsibleId, randomUUID(), f.convertedContactId ?? null],
  );
  return r.rows[0]!.id;
}
async function contact(db: Queryable, name: string, responsibleId: number | null) {
  return (
    await db.query<{ id: number }>(
      'INSERT INTO contacts (name, responsible_id) VALUES ($1, $2) RETURNING id',
      [name, responsibleId],
    )
  ).rows[0]!.id;
}
async function company(db: Queryable, name: string, responsibleId: number | null) {
  return (
    await db.query<{ id: number }>(
      'INSERT INTO companies (name, responsible_id) VALUES ($1, $2) RETURNING id',
      [name, responsibleId],
    )
  ).rows[0]!.id;
}
async function identity(db: Queryable, kind: string, value: string, ownerType: string, ownerId: number) {
  await db.query('INSERT INTO identities (kind, value, owner_type, owner_id) VALUES ($1, $2, $3, $4)', [
    kind,
    value,
    ownerType,
    ownerId,
  ]);
}
async function mergeInto(db: Queryable, table: string, id: number, intoType: string, intoId: number) {
  await db.query(`UPDATE ${table} SET merged_into_type = $2, merged_into_id = $3 WHERE id = $1`, [
    id,
    intoType,
    intoId,
  ]);
}

interface Case {
  name: string;
  q: LookupQuery;
  hints?: Omit<RegionHints, 'callerPhone'>;
  found: boolean;
  /** Statements per answer with the region rules cached. */
  statements: number;
}

const CASES: Case[] = [
  { name: 'known lead', q: { phone: '8 495 100-00-01' }, found: true, statements: 1 },
  {
    name: 'contact by phone, a lead by email (duplicate)',
    q: { phone: '+74951000002', email: 'Dup@Example.com' },
    found: true,
    statements: 1,
  },
  {
    name: 'converted lead answers with its contact',
    q: { phone: '+74951000003' },
    found: true,
    statements: 1,
  },
  { name: 'merged twice: the last survivor', q: { phone: '+74951000004' }, found: true, statements: 1 },
  { name: 'junk lead: nobody (new_lead policy)', q: { phone: '+74951000005' }, found: false, statements: 1 },
  {
    name: 'lead merged into a junk lead: nobody, prediction read second',
    q: { phone: '+74951000006' },
    found: false,
    statements: 2,
  },
  { name: 'inactive responsible', q: { phone: '+74951000007' }, found: true, statements: 1 },
  { name: 'company', q: { phone: '+74951000008' }, found: true, statements: 1 },
  { name: 'unknown, Moscow (round robin)', q: { phone: '+74959990000' }, found: false, statements: 1 },
  {
    name: 'unknown, Saint Petersburg (least loaded)',
    q: { phone: '+78127770000' },
    found: false,
    statements: 1,
  },
  { name: 'unknown, no region: global default', q: { phone: '+73831234567' }, found: false, statements: 1 },
  { name: 'unknown email', q: { email: 'nobody@example.com' }, found: false, statements: 1 },
  { name: 'unknown telegram id', q: { telegram: '424242' }, found: false, statements: 1 },
  {
    name: 'unknown on a line with a region (call tracking)',
    q: { phone: '+74959990001' },
    hints: { explicitRegionId: -1, calledLine: '+74950000000' },
    found: false,
    statements: 1,
  },
];

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`routing answer in one statement on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    const ops: Record<string, number> = {};
    const region: Record<string, number> = {};

    beforeAll(async () => {
      t = await backend.make();
      db = t.db;
      const seed = (await seedDemo(db))!;
      for (const o of seed.operators) ops[o.login] = o.id;
      for (const r of (await db.query<{ id: number; code: string }>('SELECT id, code FROM regions')).rows)
        region[r.code] = r.id;
      const olga = (
        await db.query<{ id: number }>(
          `INSERT INTO operators (login, name, extension, status, active) VALUES ('olga', 'Olga', '301', 'offline', false)
           RETURNING id`,
        )
      ).rows[0]!.id;
      ops.olga = olga;

      await identity(
        db,
        'phone',
        '+74951000001',
        'lead',
        await lead(db, { name: 'L1', responsibleId: ops.anna! }),
      );
      const c1 = await contact(db, 'C1', ops.boris!);
      await identity(db, 'phone', '+74951000002', 'contact', c1);
      await identity(
        db,
        'email',
        'dup@example.com',
        'lead',
        await lead(db, { name: 'L2', responsibleId: ops.vera! }),
      );
      const c2 = await contact(db, 'C2', ops.anna!);
      const l3 = await lead(db, {
        name: 'L3',
        responsibleId: ops.boris!,
        status: 'converted',
        convertedContactId: c2,
      });
      await identity(db, 'phone', '+74951000003', 'lead', l3);
      const [c3, c4, c5] = [
        await contact(db, 'C3', ops.anna!),
        await contact(db, 'C4', null),
        await contact(db, 'C5', ops.vera!),
      ];
      await mergeInto(db, 'contacts', c3, 'contact', c4);
      await mergeInto(db, 'contacts', c4, 'contact', c5);
      await identity(db, 'phone', '+74951000004', 'contact', c3);
      const l4 = await lead(db, { name: 'L4', responsibleId: ops.anna!, status: 'junk' });
      await identity(db, 'phone', '+74951000005', 'lead', l4);
      const l5 = await lead(db, { name: 'L5', responsibleId: ops.boris! });
      await mergeInto(db, 'leads', l5, 'lead', l4);
      await identity(db, 'phone', '+74951000006', 'lead', l5);
      await identity(db, 'phone', '+74951000007', 'contact', await contact(db, 'C6', olga));
      await identity(db, 'phone', '+74951000008', 'company', await company(db, 'Co1', ops.boris!));
      // Load for the least-loaded region's candidates, and a round-robin pointer to start from.
      await lead(db, { name: 'vera load', responsibleId: ops.vera! });
      await db.query('UPDATE assignment_state SET last_operator_id = $1 WHERE region_id = $2', [
        ops.anna,
        region.msk,
      ]);
    });
    afterAll(async () => {
      await t?.drop();
    });

    const hintsOf = (c: Case) =>
      c.hints?.explicitRegionId === -1 ? { ...c.hints, explicitRegionId: region.spb } : c.hints;

    it.each(CASES)('$name: the answer equals the query-by-query one', async (c) => {
      const lane = db.fastLane ?? db;
      const regions = createRegionsCache();
      await regions.get(lane);
      const counted = counting(lane);
      const got = await lookupClient(counted.db, c.q, RU, hintsOf(c), { regions: regions.get });
      expect(got).toEqual(await referenceLookup(db, c.q, RU, hintsOf(c)));
      expect(got.found).toBe(c.found);
      expect(counted.statements).toBe(c.statements);
      // Without a cache the rules are read too: one statement more, the same answer.
      const uncached = counting(db);
      expect(await lookupClient(uncached.db, c.q, RU, hintsOf(c))).toEqual(got);
      expect(uncached.statements).toBe(c.statements + 1);
    });

    it('answers what the rules say, not only what the reference says', async () => {
      const regions = createRegionsCache();
      const ask = (q: LookupQuery) => lookupClient(db, q, RU, {}, { regions: regions.get });
      const merged = await ask({ phone: '+74951000004' });
      expect(merged).toMatchObject({
        found: true,
        entityType: 'contact',
        name: 'C5',
        responsible: { id: ops.vera },
      });
      const converted = await ask({ phone: '+74951000003' });
      expect(converted).toMatchObject({
        found: true,
        entityType: 'contact',
        name: 'C2',
        responsible: { id: ops.anna },
      });
      const inactive = await ask({ phone: '+74951000007' });
      expect(inactive).toMatchObject({
        found: true,
        responsible: { id: ops.olga, name: 'Olga', extension: '301', active: false },
      });
      const dup = await ask({ phone: '+74951000002', email: 'dup@example.com' });
      expect(dup).toMatchObject({
        entityType: 'contact',
        name: 'C1',
        duplicates: [
          { entityType: 'lead', name: 'L2', matchedBy: [{ kind: 'email', value: 'dup@example.com' }] },
        ],
      });
      // Round robin after anna, in id order: boris; the least-loaded region's only candidate: vera.
      expect(await ask({ phone: '+74959990000' })).toMatchObject({
        found: false,
        wouldAssign: { regionId: region.msk, operatorId: ops.boris, reason: 'round_robin' },
      });
      expect(await ask({ phone: '+78127770000' })).toMatchObject({
        wouldAssign: { regionId: region.spb, operatorId: ops.vera, reason: 'least_loaded' },
      });
      expect(await ask({ phone: '+73831234567' })).toMatchObject({
        wouldAssign: { regionId: null, operatorId: ops.anna, reason: 'global_default' },
      });
    });

    it('reads settings and operators live: the junk policy and an operator going offline count at once', async () => {
      const regions = createRegionsCache();
      const ask = (q: LookupQuery) => lookupClient(db, q, RU, {}, { regions: regions.get });
      await db.query(`INSERT INTO app_settings (key, value) VALUES ('junk_return', '"reopen"')`);
      try {
        const junk = await ask({ phone: '+74951000005' });
        expect(junk).toMatchObject({ found: true, entityType: 'lead', name: 'L4' });
        expect(junk).toEqual(await referenceLookup(db, { phone: '+74951000005' }, RU));
      } finally {
        await db.query(`DELETE FROM app_settings WHERE key = 'junk_return'`);
      }
      await db.query(`UPDATE operators SET status = 'offline' WHERE id = $1`, [ops.vera]);
      try {
        const spb = await ask({ phone: '+78127770000' });
        // No online operator in the region: its default operator (vera, still active) gets the contact.
        expect(spb).toMatchObject({ wouldAssign: { operatorId: ops.vera, reason: 'region_default' } });
        expect(spb).toEqual(await referenceLookup(db, { phone: '+78127770000' }, RU));
        await db.query('UPDATE operators SET active = false WHERE id = $1', [ops.vera]);
        const global = await ask({ phone: '+78127770000' });
        expect(global).toMatchObject({ wouldAssign: { operatorId: ops.anna, reason: 'global_default' } });
        expect(global).toEqual(await referenceLookup(db, { phone: '+78127770000' }, RU));
      } finally {
        await db.query(`UPDATE operators SET status = 'online', active = true WHERE id = $1`, [ops.vera]);
      }
    });

    describe('through the HTTP API', () => {
      let app: FastifyInstance;
      let hub: RealtimeHub;
      beforeAll(async () => {
        hub = createMemoryHub();
        app = await server(db, hub);
      });
      afterAll(async () => {
        await app?.close();
        await hub?.close();
      });

      it('a region change made through the API is seen by the next routing answer', async () => {
        expect(await route(app, '+78127770001')).toMatchObject({
          operator: { id: ops.vera },
          regionId: region.spb,
        });
        await setSpbRules(app, region.spb!, [{ kind: 'phone_prefix', value: '+7813' }]);
        try {
          // +7812 no longer matches any rule: the global default queue operator.
          expect(await route(app, '+78127770001')).toMatchObject({
            operator: { id: ops.anna },
            regionId: null,
            reason: 'global_default',
          });
        } finally {
          await setSpbRules(app, region.spb!, [{ kind: 'phone_prefix', value: '+7812' }]);
        }
        expect(await route(app, '+78127770001')).toMatchObject({ regionId: region.spb });
      });

      it('an inactive responsible is answered with reason responsible_inactive and no operator', async () => {
        expect(await route(app, '+74951000007')).toEqual({
          known: true,
          client: { entityType: 'contact', entityId: expect.any(Number), name: 'C6' },
          operator: null,
          reason: 'responsible_inactive',
        });
      });
    });

    describe.skipIf(backend.name !== 'PostgreSQL')('two API instances sharing the database', () => {
      const channel = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const logger = createLogger({ level: 'silent' });
      let hubs: Awaited<ReturnType<typeof createPgHub>>[] = [];
      let a: FastifyInstance;
      let b: FastifyInstance;
      beforeAll(async () => {
        hubs = [
          await createPgHub({ connectionString: t.url!, logger, channel }),
          await createPgHub({ connectionString: t.url!, logger, channel }),
        ];
        a = await server(db, hubs[0]!);
        b = await server(db, hubs[1]!);
      });
      afterAll(async () => {
        await a?.close();
        await b?.close();
        for (const h of hubs) await h.close();
      });

      it("a change made through one instance reaches the other's cached rules through NOTIFY", async () => {
        expect(await route(b, '+78127770002')).toMatchObject({ regionId: region.spb });
        const heard = new Promise<void>((resolve) => {
          const stop = hubs[1]!.subscribe('routing', () => {
            stop();
            resolve();
          });
        });
        await setSpbRules(a, region.spb!, [{ kind: 'phone_prefix', value: '+7813' }]);
        try {
          await heard;
          // Well within the cache's TTL (5 s): only the notice can have dropped b's copy.
          expect(await route(b, '+78127770002')).toMatchObject({ regionId: null, reason: 'global_default' });
        } finally {
          await setSpbRules(a, region.spb!, [{ kind: 'phone_prefix', value: '+7812' }]);
        }
      });
    });
  });
}

async function server(db: Database, realtime: RealtimeHub) {
  const app = await buildServer({
    config: { adminToken: ADMIN_TOKEN, defaultCountry: 'RU', trustProxy: false },
    logger: createLogger({ level: 'silent' }),
    db,
    realtime,
    metrics: createMetrics(),
    connectors: [],
    api: true,
  });
  await app.ready();
  return app;
}

async function route(app: FastifyInstance, from: string) {
  const r = await app.inject({
    url: `/v1/telephony/route?from=${encodeURIComponent(from)}&line=demo`,
    headers: { authorization: `Bearer ${DEMO_LINE_SECRET}` },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}

async function setSpbRules(app: FastifyInstance, id: number, rules: { kind: string; value: string }[]) {
  const r = await app.inject({
    method: 'PATCH',
    url: `/v1/admin/regions/${id}`,
    headers: admin,
    payload: { rules },
  });
  expect(r.statusCode, r.body).toBe(200);
}
