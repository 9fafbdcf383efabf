import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestApp, admin, apiBackends, bearer, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';
import { formEvent } from '../../support/events.js';
import { expectError } from '../../support/expect-error.js';

/**
 * Taking from the queue and transferring clients, canned answers, and presence (which assignment obeys), on
 * PGlite and on the real PostgreSQL.
 */
for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`console actions (${backend.name})`, () => {
    let t: TestDatabase;
    let api: ApiTestApp;
    let sofia: Record<string, string>;
    let msk: number;
    let spb: number;
    const lead: Record<string, number> = {};

    const post = (who: Record<string, string>, url: string, payload: object) =>
      api.app.inject({ method: 'POST', url, headers: who, payload });
    const responsibleOf = async (id: number) =>
      (await t.db.query<{ r: number | null }>('SELECT responsible_id AS r FROM leads WHERE id = $1', [id]))
        .rows[0]!.r;

    beforeAll(async () => {
      t = await backend.make();
      api = await buildApiApp(t);
      const regions = (await t.db.query<{ id: number; code: string }>('SELECT id, code FROM regions')).rows;
      msk = regions.find((r) => r.code === 'msk')!.id;
      spb = regions.find((r) => r.code === 'spb')!.id;
      const made = await post(admin, '/v1/admin/operators', {
        login: 'sofia',
        name: 'Sofia',
        role: 'supervisor',
        regionIds: [msk],
      });
      expect(made.statusCode, made.body).toBe(201);
      sofia = bearer(made.json().token);
      const { ops } = api;
      for (const [k, resp, region] of [
        ['A', ops.anna!, msk],
        ['B', ops.boris!, msk],
        ['Q', null, msk],
        ['Q2', null, msk],
        ['V', ops.vera!, spb],
        ['S', null, spb],
      ] as const) {
        lead[k] = (
          await t.db.query<{ id: number }>(
            `INSERT INTO leads (title, name, responsible_id, region_id, assignment_reason, channel, source_type, source_key, first_event_id)
             VALUES ($1, $1, $2, $3, 'test', 'phone', 'line', 'demo', $4) RETURNING id`,
            [`Lead ${k}`, resp, region, randomUUID()],
          )
        ).rows[0]!.id;
      }
      // Q's missed-call callback waits in the queue with Q.
      await t.db.query(
        `INSERT INTO activities (owner_type, owner_id, type, direction, state, deadline, channel, details)
         VALUES ('lead', $1, 'callback', 'outbound', 'planned', now() + interval '30 minutes', 'phone', '{"missedCall":"call:demo:1"}')`,
        [lead.Q],
      );
    }, 120_000);
    afterAll(async () => {
      await api?.app.close();
      await t?.drop();
    });

    it('an operator takes an unassigned client of their region, with its planned callback; the queue shows it no more', async () => {
      const before = (
        await api.app.inject({ url: '/v1/console/work', headers: bearer(api.tokens.anna!) })
      ).json();
      const missed = before.items.find((i: { kind: string }) => i.kind === 'missed_call');
      expect(missed).toMatchObject({ client: { entityType: 'lead', entityId: lead.Q }, queued: true });

      const r = await post(bearer(api.tokens.anna!), '/v1/console/take', {
        entityType: 'lead',
        entityId: lead.Q,
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ entityType: 'lead', entityId: lead.Q, from: null, to: api.ops.anna });
      expect(await responsibleOf(lead.Q!)).toBe(api.ops.anna);
      const acts = (
        await t.db.query<{ type: string; responsible_id: number | null; subject: string | null }>(
          `SELECT type, responsible_id, subject FROM activities WHERE owner_type = 'lead' AND owner_id = $1 ORDER BY id`,
          [lead.Q],
        )
      ).rows;
      expect(acts).toEqual([
        { type: 'callback', responsible_id: api.ops.anna, subject: null },
        { type: 'system', responsible_id: null, subject: 'Taken from the queue' },
      ]);
      const after = (
        await api.app.inject({ url: '/v1/console/work', headers: bearer(api.tokens.anna!) })
      ).json();
      expect(after.items.find((i: { kind: string }) => i.kind === 'missed_call')).toMatchObject({
        queued: false,
      });
      // Taking it again is harmless; boris no longer sees it at all.
      expect(
        (await post(bearer(api.tokens.anna!), '/v1/console/take', { entityType: 'lead', entityId: lead.Q }))
          .statusCode,
      ).toBe(200);
      expectError(
        await post(bearer(api.tokens.boris!), '/v1/console/take', { entityType: 'lead', entityId: lead.Q }),
        404,
        'NOT_FOUND',
        'entityId',
      );
    });

    it("nobody takes another operator's client (409) or a client outside their regions (404)", async () => {
      expectError(
        await post(sofia, '/v1/console/take', { entityType: 'lead', entityId: lead.B }),
        409,
        'CONFLICT',
        'entityId',
      );
      expectError(
        await post(bearer(api.tokens.anna!), '/v1/console/take', { entityType: 'lead', entityId: lead.S }),
        404,
        'NOT_FOUND',
        'entityId',
      );
    });

    it('an operator transfers only their own clients', async () => {
      expectError(
        await post(bearer(api.tokens.anna!), '/v1/console/transfer', {
          entityType: 'lead',
          entityId: lead.B,
          operatorId: api.ops.anna,
        }),
        404,
        'NOT_FOUND',
        'entityId',
      );
      // Q2 waits in the queue: anna sees it but is not its responsible.
      expectError(
        await post(bearer(api.tokens.anna!), '/v1/console/transfer', {
          entityType: 'lead',
          entityId: lead.Q2,
          operatorId: api.ops.boris,
        }),
        403,
        'FORBIDDEN',
        'entityId',
      );
      const r = await post(bearer(api.tokens.anna!), '/v1/console/transfer', {
        entityType: 'lead',
        entityId: lead.A,
        operatorId: api.ops.boris,
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(await responsibleOf(lead.A!)).toBe(api.ops.boris);
    });

    it('a supervisor transfers within their regions only', async () => {
      // To an operator of another region: refused, nothing changes.
      expectError(
        await post(sofia, '/v1/console/transfer', {
          entityType: 'lead',
          entityId: lead.B,
          operatorId: api.ops.vera,
        }),
        403,
        'FORBIDDEN',
        'operatorId',
      );
      expect(await responsibleOf(lead.B!)).toBe(api.ops.boris);
      // A client of another region: not theirs to see.
      expectError(
        await post(sofia, '/v1/console/transfer', {
          entityType: 'lead',
          entityId: lead.V,
          operatorId: api.ops.anna,
        }),
        404,
        'NOT_FOUND',
        'entityId',
      );
      const r = await post(sofia, '/v1/console/transfer', {
        entityType: 'lead',
        entityId: lead.B,
        operatorId: api.ops.anna,
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ from: api.ops.boris, to: api.ops.anna });
      expect(await responsibleOf(lead.B!)).toBe(api.ops.anna);
    });

    it('the target must be an active operator', async () => {
      await api.app.inject({ method: 'DELETE', url: `/v1/admin/operators/${api.ops.boris}`, headers: admin });
      expectError(
        await post(sofia, '/v1/console/transfer', {
          entityType: 'lead',
          entityId: lead.B,
          operatorId: api.ops.boris,
        }),
        422,
        'UNPROCESSABLE',
        'operatorId',
      );
    });

    it('canned answers: the admin writes them, an operator lists those for everybody and their regions', async () => {
      const add = async (payload: object) => {
        const r = await post(admin, '/v1/admin/canned-answers', payload);
        expect(r.statusCode, r.body).toBe(201);
        return r.json().id as number;
      };
      const all = await add({ title: 'Hello', body: 'Good afternoon! How can I help?', language: 'en' });
      const moscow = await add({ title: 'Moscow office', body: 'Tverskaya 1', regionId: msk, position: 1 });
      const piter = await add({ title: 'Petersburg office', body: 'Nevsky 1', regionId: spb });
      expectError(
        await post(admin, '/v1/admin/canned-answers', { title: 'x', body: 'y', regionId: 999_999 }),
        422,
        'UNPROCESSABLE',
      );
      expectError(await post(admin, '/v1/admin/canned-answers', { title: 'x' }), 400, 'VALIDATION');
      expect(
        (await post(bearer(api.tokens.anna!), '/v1/admin/canned-answers', { title: 'x', body: 'y' }))
          .statusCode,
      ).toBe(403);

      const list = async (who: Record<string, string>, q = '') =>
        (
          (await api.app.inject({ url: `/v1/canned-answers${q}`, headers: who })).json().items as {
            id: number;
          }[]
        ).map((i) => i.id);
      expect(await list(bearer(api.tokens.anna!))).toEqual([all, moscow]);
      expect(await list(bearer(api.tokens.vera!))).toEqual([all, piter]);
      expect(await list(admin)).toEqual([all, piter, moscow]);
      expect(await list(bearer(api.tokens.anna!), '?language=ru')).toEqual([moscow]);

      const patched = await api.app.inject({
        method: 'PATCH',
        url: `/v1/admin/canned-answers/${piter}`,
        headers: admin,
        payload: { regionId: null },
      });
      expect(patched.json()).toMatchObject({ regionId: null, title: 'Petersburg office' });
      expect(await list(bearer(api.tokens.anna!))).toEqual([all, piter, moscow]);
      const del = await api.app.inject({
        method: 'DELETE',
        url: `/v1/admin/canned-answers/${piter}`,
        headers: admin,
      });
      expect(del.statusCode).toBe(204);
      expect(
        (await api.app.inject({ method: 'DELETE', url: `/v1/admin/canned-answers/${piter}`, headers: admin }))
          .statusCode,
      ).toBe(404);
    });

    it('presence: an away operator keeps their clients but gets no new ones', async () => {
      const r = await api.app.inject({
        method: 'PATCH',
        url: '/v1/operators/me/status',
        headers: bearer(api.tokens.anna!),
        payload: { status: 'away' },
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ id: api.ops.anna, status: 'away' });
      // Moscow now has nobody online (boris was deactivated above): new leads fall back, never to anna.
      await api.app.inject({
        method: 'PATCH',
        url: `/v1/admin/operators/${api.ops.boris}`,
        headers: admin,
        payload: { active: true, status: 'online' },
      });
      await api.router.handle(
        [1, 2, 3].map((i) => formEvent({ phone: `+7495123450${i}`, region: 'Moscow' })),
      );
      const fresh = (
        await t.db.query<{ r: number | null }>(
          `SELECT responsible_id AS r FROM leads WHERE channel = 'webform' ORDER BY id`,
        )
      ).rows.map((x) => x.r);
      expect(fresh).toEqual([api.ops.boris, api.ops.boris, api.ops.boris]);
      expect(await responsibleOf(lead.B!)).toBe(api.ops.anna);
    });
  });
}
