import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestApp, admin, apiBackends, bearer, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';
import { callEvent, formEvent } from '../../support/events.js';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`API records on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    let moscowLead: number;
    let spbLead: number;
    const get = async (url: string, headers: Record<string, string> = admin) =>
      a.app.inject({ method: 'GET', url, headers });
    const leadOf = async (phone: string) =>
      (
        await t.db.query<{ owner_id: number }>(
          `SELECT owner_id FROM identities WHERE kind = 'phone' AND value = $1`,
          [phone],
        )
      ).rows[0]!.owner_id;

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
      await a.router.handle([
        formEvent({ phone: '+74953330001', email: 'ivan@example.com', name: 'Ivan', region: 'Moscow' }),
      ]);
      await a.router.handle([callEvent({ from: '+78123330002', status: 'missed' })]);
      moscowLead = await leadOf('+74953330001');
      spbLead = await leadOf('+78123330002');
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('lists leads newest first, in camelCase; an operator gets only what they may see', async () => {
      const mine = await get('/v1/leads', bearer(a.tokens.vera!));
      expect(mine.json().items.map((l: { id: number }) => l.id)).toEqual([spbLead]);
      const r = await get('/v1/leads');
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body).toMatchObject({ limit: 50, offset: 0 });
      expect(body.items.map((l: { id: number }) => l.id)).toEqual([spbLead, moscowLead]);
      expect(body.items[1]).toMatchObject({
        channel: 'webform',
        sourceKey: 'demo',
        status: 'new',
        utm: { source: 'google' },
      });
      expect(body.items[1].createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('filters leads by status, responsible, source and creation time, and pages them', async () => {
      const ids = async (q: string) =>
        (await get(`/v1/leads?${q}`)).json().items.map((l: { id: number }) => l.id);
      expect(await ids(`responsible=${a.ops.vera}`)).toEqual([spbLead]);
      expect(await ids('source=phone')).toEqual([spbLead]);
      expect(await ids('source=webform')).toEqual([moscowLead]);
      expect(await ids('status=junk')).toEqual([]);
      expect(
        await ids(`createdFrom=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`),
      ).toEqual([]);
      expect(
        await ids(`createdTo=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`),
      ).toHaveLength(2);
      expect(await ids('limit=1&offset=1')).toEqual([moscowLead]);
    });

    it('rejects bad filters with 400 naming the parameter', async () => {
      for (const [q, field] of [
        ['limit=501', 'limit'],
        ['status=lost', 'status'],
        ['createdFrom=yesterday', 'createdFrom'],
        ['responsible=abc', 'responsible'],
      ]) {
        const r = await get(`/v1/leads?${q}`);
        expect(r.statusCode, q).toBe(400);
        expect(r.json().error).toMatchObject({ code: 'VALIDATION', fields: [field] });
        expect(r.json().error.message).toMatch(new RegExp(`^${field}: `));
      }
    });

    it('shows a lead with identities, responsible, region, source and UTM', async () => {
      const r = await get(`/v1/leads/${moscowLead}`, bearer(a.tokens.anna!));
      expect(r.statusCode).toBe(200);
      const d = r.json();
      expect(d).toMatchObject({
        id: moscowLead,
        name: 'Ivan',
        utm: { source: 'google', campaign: 'spring' },
        source: { type: 'form', key: 'demo', name: 'Demo form', channel: 'webform' },
        region: { code: 'msk', name: 'Moscow' },
        identities: [
          { kind: 'phone', value: '+74953330001', valid: true, bouncing: false },
          { kind: 'email', value: 'ivan@example.com', valid: true, bouncing: false },
        ],
      });
      expect([a.ops.anna, a.ops.boris]).toContain(d.responsible.id);
      expect(d.responsible.name).toEqual(expect.any(String));
    });

    it('answers 404 for unknown leads, contacts, companies and 400 for a non-numeric id', async () => {
      for (const url of ['/v1/leads/999999', '/v1/contacts/999999', '/v1/companies/999999']) {
        const r = await get(url);
        expect(r.statusCode, url).toBe(404);
        expect(r.json().error).toMatchObject({ code: 'NOT_FOUND', fields: ['id'] });
      }
      expect((await get('/v1/leads/abc')).json().error).toMatchObject({ code: 'VALIDATION', fields: ['id'] });
    });

    it('shows contacts and companies with their identities', async () => {
      const co = await t.db.query<{ id: number }>(
        `INSERT INTO companies (name, responsible_id) VALUES ('Acme', $1) RETURNING id`,
        [a.ops.boris],
      );
      const companyId = co.rows[0]!.id;
      const c = await t.db.query<{ id: number }>(
        `INSERT INTO contacts (name, company_id) VALUES ('Petr', $1) RETURNING id`,
        [companyId],
      );
      await t.db.query(
        `INSERT INTO identities (kind, value, owner_type, owner_id) VALUES ('email', 'petr@acme.test', 'contact', $1), ('email', 'info@acme.test', 'company', $2)`,
        [c.rows[0]!.id, companyId],
      );
      const contact = (await get(`/v1/contacts/${c.rows[0]!.id}`)).json();
      expect(contact).toMatchObject({
        name: 'Petr',
        companyId,
        responsible: null,
        region: null,
        identities: [{ kind: 'email', value: 'petr@acme.test' }],
      });
      const company = (await get(`/v1/companies/${companyId}`)).json();
      expect(company).toMatchObject({
        name: 'Acme',
        responsible: { id: a.ops.boris },
        identities: [{ value: 'info@acme.test' }],
      });
    });

    it('lists activities by owner, responsible, state and type', async () => {
      const all = (await get(`/v1/activities?ownerType=lead&ownerId=${spbLead}`)).json().items;
      expect(all.map((x: { type: string }) => x.type).sort()).toEqual(['call', 'callback']);
      const planned = (
        await get(`/v1/activities?responsible=${a.ops.vera}&state=planned&type=callback`)
      ).json().items;
      expect(planned).toHaveLength(1);
      expect(planned[0]).toMatchObject({
        ownerType: 'lead',
        ownerId: spbLead,
        state: 'planned',
        deadline: expect.stringMatching(/T/),
      });
      expect((await get('/v1/activities?state=open')).json().error.fields).toEqual(['state']);
    });

    it('shows a timeline for leads, contacts, companies and deals, 404 for unknown kinds and ids', async () => {
      const tl = await get(`/v1/leads/${moscowLead}/timeline`);
      expect(tl.statusCode).toBe(200);
      expect(tl.json()).toMatchObject({
        entityType: 'lead',
        entityId: moscowLead,
        items: [{ type: 'form', ownerId: moscowLead }],
      });
      const deal = await t.db.query<{ id: number }>(
        `INSERT INTO deals (title, lead_id) VALUES ('Deal', $1) RETURNING id`,
        [moscowLead],
      );
      expect((await get(`/v1/deals/${deal.rows[0]!.id}/timeline`)).json()).toMatchObject({
        entityType: 'deal',
        items: [],
      });
      const kind = await get(`/v1/widgets/1/timeline`);
      expect(kind.statusCode).toBe(404);
      expect(kind.json().error.fields).toEqual(['entity']);
      expect((await get('/v1/constructor/1/timeline')).statusCode).toBe(404);
      expect((await get('/v1/contacts/999999/timeline')).statusCode).toBe(404);
    });
  });
}
