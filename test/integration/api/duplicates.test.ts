import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Reads use the admin token: which operator round robin gave each lead is beside the point here.
import { ADMIN_TOKEN, type ApiTestApp, apiBackends, buildApiApp } from '../../support/api-app.js';
import { activitiesOf, type Body, expectError, holderOf, type Item, send } from '../../support/crm.js';
import type { TestDatabase } from '../../support/db.js';
import { callEvent, emailEvent, formEvent } from '../../support/events.js';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`duplicates on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    let anna: string;
    const holder = (kind: string, value: string) => holderOf(t.db, kind, value);

    /** Two leads (one by phone, one by email), then a form naming both: the router records a candidate. */
    async function pair(n: number) {
      const phone = `+7495666000${n}`;
      const email = `dup${n}@example.com`;
      await a.router.handle([formEvent({ phone, name: `Phone ${n}` })]);
      await a.router.handle([emailEvent({ from: email, name: `Email ${n}`, messageId: `<dup-${n}@x>` })]);
      await a.router.handle([callEvent({ from: phone, status: 'missed' })]);
      await a.router.handle([formEvent({ phone, email })]);
      const byPhone = (await holder('phone', phone))!;
      const byEmail = (await holder('email', email))!;
      const list = (await send(a.app, 'GET', '/v1/duplicates', anna)).body.items as Body[];
      const c = list.find((x) => x.identityValue === email)!;
      return { phone, email, byPhone, byEmail, c };
    }

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
      anna = a.tokens.anna!;
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('lists the candidates the router recorded, with both sides', async () => {
      const { byPhone, byEmail, c } = await pair(1);
      expect(c).toMatchObject({
        chosen: { type: 'lead', id: byPhone.id, name: 'Phone 1', status: 'new', mergedInto: null },
        other: { type: 'lead', id: byEmail.id, status: 'new' },
        identityKind: 'email',
        resolved: false,
        resolution: null,
      });
    });

    it('merges into the chosen survivor: identities and activities move, the other points at it', async () => {
      const { phone, email, byPhone, byEmail, c } = await pair(2);
      // The phone lead survives and absorbs the email lead's history.
      const before = await activitiesOf(t.db, 'lead', byEmail.id);
      const r = await send(a.app, 'POST', `/v1/duplicates/${c.id}/merge`, anna, { survivor: byPhone });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({
        survivor: byPhone,
        merged: byEmail,
        moved: { identities: 1, activities: before.length },
        candidate: { resolved: true, resolution: 'merged', resolvedBy: a.ops.anna, survivor: byPhone },
      });
      expect(await holder('email', email)).toEqual(byPhone);
      const merged = (await send(a.app, 'GET', `/v1/leads/${byEmail.id}`, ADMIN_TOKEN)).body;
      expect(merged).toMatchObject({ status: 'merged', mergedIntoType: 'lead', mergedIntoId: byPhone.id });
      const survivorTl = (await send(a.app, 'GET', `/v1/leads/${byPhone.id}/timeline`, ADMIN_TOKEN)).body
        .items as Item[];
      expect(survivorTl.map((i) => i.id)).toEqual(expect.arrayContaining(before.map((x) => x.id)));
      expect(survivorTl.find((i) => i.details.change === 'merge')?.details.by?.operatorId).toBe(a.ops.anna);

      // Every later contact finds the survivor, whichever identity it comes by; the merged lead counts as closed.
      await a.router.handle([emailEvent({ from: email, messageId: '<dup-2-later@x>' })]);
      await a.router.handle([callEvent({ from: phone, status: 'answered', talkSec: 5 })]);
      expect((await activitiesOf(t.db, 'lead', byEmail.id)).filter((x) => x.type !== 'system')).toEqual([]);
      const look = await send(a.app, 'GET', `/v1/clients/lookup?email=${email}`, ADMIN_TOKEN);
      expect(look.body).toMatchObject({
        found: true,
        entityType: 'lead',
        entityId: byPhone.id,
        duplicates: [],
      });

      expectError(
        await send(a.app, 'POST', `/v1/duplicates/${c.id}/merge`, anna, { survivor: byPhone }),
        409,
        'CONFLICT',
        'id',
      );
      expectError(await send(a.app, 'POST', `/v1/duplicates/${c.id}/dismiss`, anna), 409, 'CONFLICT', 'id');
    });

    it('merges a lead into a contact the other lead became; the candidate follows the conversion', async () => {
      const { email, byPhone, byEmail, c } = await pair(3);
      // The phone lead is a known client by now: convert it, then merge the email lead into that contact.
      const conv = (
        await send(a.app, 'POST', `/v1/leads/${byPhone.id}/convert`, anna, { deal: { title: 'Kept' } })
      ).body;
      const contact = { type: 'contact', id: conv.contactId };
      const list = (await send(a.app, 'GET', '/v1/duplicates', anna)).body.items as Body[];
      // The candidate about the converted lead was asked again about its contact.
      const again = list.find((x) => x.other.id === byEmail.id && x.chosen.type === 'contact')!;
      expect(again.chosen).toMatchObject(contact);
      const old = (await send(a.app, 'GET', '/v1/duplicates?state=resolved', anna)).body.items as Body[];
      expect(old.find((x) => x.id === c.id)).toMatchObject({ resolution: 'superseded', survivor: contact });

      expectError(
        await send(a.app, 'POST', `/v1/duplicates/${again.id}/merge`, anna, { survivor: byEmail }),
        422,
        'UNPROCESSABLE',
        'survivor',
      );
      expectError(
        await send(a.app, 'POST', `/v1/duplicates/${again.id}/merge`, anna, {
          survivor: { type: 'contact', id: 999 },
        }),
        400,
        'VALIDATION',
        'survivor',
      );
      const r = await send(a.app, 'POST', `/v1/duplicates/${again.id}/merge`, anna, { survivor: contact });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(await holder('email', email)).toEqual(contact);
      expect((await send(a.app, 'GET', `/v1/leads/${byEmail.id}`, ADMIN_TOKEN)).body).toMatchObject({
        status: 'merged',
        mergedIntoType: 'contact',
        mergedIntoId: conv.contactId,
      });
      const deals = (await send(a.app, 'GET', `/v1/deals?contactId=${conv.contactId}`, ADMIN_TOKEN)).body
        .items as Body[];
      expect(deals.map((d) => d.title)).toEqual(['Kept']);
    });

    it('an email answering a message still filed on the merged-away lead follows the pointer to the survivor', async () => {
      const { byPhone, byEmail, c } = await pair(5);
      await send(a.app, 'POST', `/v1/duplicates/${c.id}/merge`, anna, { survivor: byPhone });
      // What a batch that read the thread before the merge committed sees: the message on the merged lead.
      await t.db.query(
        `UPDATE activities SET owner_type = 'lead', owner_id = $1 WHERE message_id = '<dup-5@x>'`,
        [byEmail.id],
      );
      await a.router.handle([
        emailEvent({
          from: 'other-address@example.com',
          messageId: '<dup-5-reply@x>',
          inReplyTo: '<dup-5@x>',
        }),
      ]);
      const reply = await t.db.query<{ owner_type: string; owner_id: number }>(
        `SELECT owner_type, owner_id FROM activities WHERE message_id = '<dup-5-reply@x>'`,
      );
      expect(reply.rows[0]).toEqual({ owner_type: 'lead', owner_id: byPhone.id });
    });

    it('dismisses a candidate: nothing moves', async () => {
      const { email, byEmail, c } = await pair(4);
      const r = await send(a.app, 'POST', `/v1/duplicates/${c.id}/dismiss`, anna);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        id: c.id,
        resolved: true,
        resolution: 'dismissed',
        resolvedBy: a.ops.anna,
      });
      expect(await holder('email', email)).toEqual(byEmail);
      const open = (await send(a.app, 'GET', '/v1/duplicates', anna)).body.items as Body[];
      expect(open.map((x) => x.id)).not.toContain(c.id);
      expectError(await send(a.app, 'POST', '/v1/duplicates/999999/dismiss', anna), 404, 'NOT_FOUND', 'id');
      expectError(await send(a.app, 'GET', '/v1/duplicates?state=nope', anna), 400, 'VALIDATION', 'state');
    });
  });
}
