import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestApp, admin, apiBackends, bearer, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';
import { formEvent } from '../../support/events.js';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`API auth, lookup and operator routes on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    const get = (url: string, headers: Record<string, string> = admin) =>
      a.app.inject({ method: 'GET', url, headers });

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    describe('authentication', () => {
      it('answers 401 without a token, naming the header', async () => {
        const r = await a.app.inject({ method: 'GET', url: '/v1/leads' });
        expect(r.statusCode).toBe(401);
        expect(r.json()).toEqual({
          error: {
            code: 'UNAUTHORIZED',
            message: expect.stringMatching(/^authorization:/),
            fields: ['authorization'],
          },
        });
      });

      it('answers 401 to a wrong token and to a non-Bearer scheme', async () => {
        expect((await get('/v1/leads', bearer('op_not-a-real-token'))).statusCode).toBe(401);
        expect(
          (await get('/v1/leads', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }))
            .statusCode,
        ).toBe(401);
      });

      it('finds an operator by the hash of their token; only the hash is stored', async () => {
        expect((await get('/v1/leads', bearer(a.tokens.anna!))).statusCode).toBe(200);
        const stored = await t.db.query<{ token_hash: string }>(
          'SELECT token_hash FROM operators WHERE id = $1',
          [a.ops.anna],
        );
        expect(stored.rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(stored.rows[0]!.token_hash).not.toContain(a.tokens.anna);
      });

      it('does not let an operator token into admin routes: 403, the token is valid but not enough', async () => {
        const r = await get('/v1/admin/operators', bearer(a.tokens.anna!));
        expect(r.statusCode).toBe(403);
        expect(r.json().error).toMatchObject({ code: 'FORBIDDEN', fields: ['authorization'] });
        expect((await get('/v1/admin/operators')).statusCode).toBe(200);
      });

      it('lets the admin read operator routes but not act as an operator', async () => {
        const r = await a.app.inject({
          method: 'PATCH',
          url: '/v1/operators/me/status',
          headers: admin,
          payload: { status: 'online' },
        });
        expect(r.statusCode).toBe(403);
        expect(r.json().error.code).toBe('FORBIDDEN');
      });

      it('checks authentication before validation: a bad body from a stranger is still 401', async () => {
        const r = await a.app.inject({
          method: 'POST',
          url: '/v1/admin/regions',
          payload: { rules: 'nope' },
        });
        expect(r.statusCode).toBe(401);
      });
    });

    describe('GET /v1/clients/lookup', () => {
      beforeAll(async () => {
        await a.router.handle([
          formEvent({ phone: '+7 495 111-22-33', email: 'olga@example.com', name: 'Olga', region: 'Moscow' }),
        ]);
      });

      it('finds a lead by a phone written another way, with its responsible and what matched', async () => {
        const url = `/v1/clients/lookup?phone=${encodeURIComponent('8 (495) 111 22 33')}`;
        // Vera works in Saint Petersburg: a Moscow client is not hers to see.
        expect((await get(url, bearer(a.tokens.vera!))).json()).toEqual({ found: false });
        const r = await get(url);
        expect(r.statusCode).toBe(200);
        const body = r.json();
        expect(body).toMatchObject({
          found: true,
          entityType: 'lead',
          name: 'Olga',
          matchedBy: [{ kind: 'phone', value: '+74951112233' }],
          duplicates: [],
        });
        expect([a.ops.anna, a.ops.boris]).toContain(body.responsible.id);
        expect(body.responsible).toMatchObject({ extension: expect.any(String), active: true });
      });

      it('follows a converted lead to its contact and lists other clients as duplicates', async () => {
        const lead = (await get('/v1/clients/lookup?email=OLGA@example.com')).json();
        const c = await t.db.query<{ id: number }>(
          `INSERT INTO contacts (name, responsible_id) VALUES ('Olga K.', $1) RETURNING id`,
          [a.ops.vera],
        );
        const contactId = c.rows[0]!.id;
        await t.db.query(`UPDATE leads SET status = 'converted', converted_contact_id = $1 WHERE id = $2`, [
          contactId,
          lead.entityId,
        ]);
        await a.router.handle([formEvent({ phone: '+74952223344', name: 'Other' })]);
        const r = (await get('/v1/clients/lookup?phone=%2B74952223344&email=olga@example.com')).json();
        expect(r).toMatchObject({
          found: true,
          entityType: 'contact',
          entityId: contactId,
          name: 'Olga K.',
          responsible: { id: a.ops.vera },
        });
        expect(r.matchedBy).toEqual([{ kind: 'email', value: 'olga@example.com' }]);
        expect(r.duplicates).toEqual([
          expect.objectContaining({
            entityType: 'lead',
            name: 'Other',
            matchedBy: [{ kind: 'phone', value: '+74952223344' }],
          }),
        ]);
      });

      it('predicts region and operator for an unknown client without writing anything', async () => {
        const count = async () =>
          (
            await t.db.query<{ n: number }>(
              'SELECT (SELECT count(*) FROM leads) + (SELECT count(*) FROM identities) AS n',
            )
          ).rows[0]!.n;
        const before = await count();
        const r = await get('/v1/clients/lookup?phone=%2B78125550000');
        expect(r.statusCode).toBe(200);
        const spb = (await get('/v1/admin/regions'))
          .json()
          .items.find((x: { code: string }) => x.code === 'spb');
        expect(r.json()).toMatchObject({
          found: false,
          identities: [{ kind: 'phone', value: '+78125550000', valid: true }],
          wouldAssign: {
            regionId: spb.id,
            regionRule: 'phone_prefix:+7812',
            operatorId: a.ops.vera,
            reason: 'least_loaded',
          },
        });
        expect(await count()).toBe(before);
      });

      it('falls back to the global default for a client no region places', async () => {
        const r = (await get('/v1/clients/lookup?telegram=12345')).json();
        expect(r).toMatchObject({
          found: false,
          wouldAssign: { regionId: null, operatorId: a.ops.anna, reason: 'global_default' },
        });
      });

      it('answers 400 naming phone, email and telegram when none is given', async () => {
        const r = await get('/v1/clients/lookup?phone=');
        expect(r.statusCode).toBe(400);
        expect(r.json().error).toMatchObject({ code: 'VALIDATION', fields: ['phone', 'email', 'telegram'] });
        expect(r.json().error.message).toMatch(/phone, email, telegram/);
      });
    });

    describe('operator self-service', () => {
      it('counts an overdue planned activity, and leads without anything planned', async () => {
        const me = bearer(a.tokens.boris!);
        const before = (await get('/v1/operators/me/counters', me)).json();
        expect(before).toMatchObject({ operatorId: a.ops.boris, overdue: 0, dueToday: 0 });
        await t.db.query(
          `INSERT INTO activities (owner_type, owner_id, type, state, deadline, responsible_id)
           VALUES ('queue', NULL, 'task', 'planned', now() - interval '2 hours', $1)`,
          [a.ops.boris],
        );
        const after = (await get('/v1/operators/me/counters', me)).json();
        expect(after.overdue).toBe(1);
        const leads = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM leads WHERE responsible_id = $1 AND status = 'new'`,
          [a.ops.boris],
        );
        expect(after.leadsWithoutPlanned).toBe(leads.rows[0]!.n);
      });

      it('needs operatorId with the admin token, and validates the time zone', async () => {
        const r = await get('/v1/operators/me/counters');
        expect(r.statusCode).toBe(400);
        expect(r.json().error.fields).toEqual(['operatorId']);
        expect((await get(`/v1/operators/me/counters?operatorId=${a.ops.boris}`)).json().overdue).toBe(1);
        expect((await get('/v1/operators/me/counters?operatorId=999999')).statusCode).toBe(404);
        const tz = await get('/v1/operators/me/counters?tz=Mars%2FOlympus', bearer(a.tokens.boris!));
        expect(tz.statusCode).toBe(400);
        expect(tz.json().error.fields).toEqual(['tz']);
      });

      it('sets the caller offline, which takes them out of assignment', async () => {
        const r = await a.app.inject({
          method: 'PATCH',
          url: '/v1/operators/me/status',
          headers: bearer(a.tokens.vera!),
          payload: { status: 'offline' },
        });
        expect(r.statusCode).toBe(200);
        expect(r.json()).toEqual({ id: a.ops.vera, status: 'offline' });
        const predicted = (await get('/v1/clients/lookup?phone=%2B78125550001')).json();
        expect(predicted.wouldAssign).toMatchObject({ operatorId: a.ops.vera, reason: 'region_default' });
        const bad = await a.app.inject({
          method: 'PATCH',
          url: '/v1/operators/me/status',
          headers: bearer(a.tokens.vera!),
          payload: { status: 'busy' },
        });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().error).toMatchObject({
          code: 'VALIDATION',
          fields: ['status'],
          message: 'status: must be one of online, away, offline',
        });
      });
    });
  });
}
