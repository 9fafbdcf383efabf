import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type ApiTestApp, apiBackends, buildApiApp } from '../../support/api-app.js';
import { activitiesOf, expectError, holderOf, type Item, send } from '../../support/crm.js';
import type { TestDatabase } from '../../support/db.js';
import { callEvent, emailEvent, formEvent } from '../../support/events.js';
import { messageEvent } from '../../support/messages.js';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`lead lifecycle and conversion on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    let anna: string;
    const leadOf = async (phone: string) => (await holderOf(t.db, 'phone', phone))!.id;

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
      anna = a.tokens.anna!;
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('moves a lead new -> in_progress -> junk (with a reason) and back, each change on the timeline with its operator', async () => {
      await a.router.handle([formEvent({ phone: '+74955550001', name: 'Olga', region: 'Moscow' })]);
      const id = await leadOf('+74955550001');
      let r = await send(a.app, 'PATCH', `/v1/leads/${id}/status`, anna, { status: 'in_progress' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ id, status: 'in_progress' });
      expectError(
        await send(a.app, 'PATCH', `/v1/leads/${id}/status`, anna, { status: 'junk' }),
        400,
        'VALIDATION',
        'reason',
      );
      r = await send(a.app, 'PATCH', `/v1/leads/${id}/status`, a.tokens.boris!, {
        status: 'junk',
        reason: 'spam',
      });
      expect(r.body).toMatchObject({ status: 'junk', junkReason: 'spam' });
      r = await send(a.app, 'PATCH', `/v1/leads/${id}/status`, anna, { status: 'in_progress' });
      expect(r.body).toMatchObject({ status: 'in_progress', junkReason: null });

      const tl = await send(a.app, 'GET', `/v1/leads/${id}/timeline`, anna);
      const changes = tl.body.items.filter((i: Item) => i.type === 'system').reverse();
      expect(changes.map((c: Item) => [c.details.from, c.details.to, c.details.by?.operatorId])).toEqual([
        ['new', 'in_progress', a.ops.anna],
        ['in_progress', 'junk', a.ops.boris],
        ['junk', 'in_progress', a.ops.anna],
      ]);
      expect(changes[1].details.reason).toBe('spam');
      expect(changes[1].createdBy).toBe(a.ops.boris);
    });

    it('refuses bad status changes with the documented error naming the field', async () => {
      await a.router.handle([formEvent({ phone: '+74955550002' })]);
      const id = await leadOf('+74955550002');
      expectError(
        await send(a.app, 'PATCH', `/v1/leads/${id}/status`, anna, { status: 'converted' }),
        400,
        'VALIDATION',
        'status',
      );
      expectError(
        await send(a.app, 'PATCH', '/v1/leads/999999/status', anna, { status: 'new' }),
        404,
        'NOT_FOUND',
        'id',
      );
      // Actions need an operator identity: the admin token reads, it does not act.
      expectError(
        await send(a.app, 'PATCH', `/v1/leads/${id}/status`, ADMIN_TOKEN, { status: 'new' }),
        403,
        'FORBIDDEN',
      );
    });

    it('converts a lead into a contact, company and deal in one go: identities, activities and the planned callback move', async () => {
      await a.router.handle([
        formEvent({ phone: '+74955550003', email: 'petr@example.com', name: 'Petr', region: 'Moscow' }),
      ]);
      await a.router.handle([callEvent({ from: '+74955550003', status: 'missed' })]);
      const id = await leadOf('+74955550003');
      const before = await activitiesOf(t.db, 'lead', id);
      expect(before.map((x) => x.type).sort()).toEqual(['call', 'callback', 'form']);

      const r = await send(a.app, 'POST', `/v1/leads/${id}/convert`, anna, {
        company: { name: 'Petr & Sons' },
        deal: { title: 'First order', amount: 1500, stage: 'proposal' },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const { contactId, companyId, dealId } = r.body;
      expect(r.body.moved).toMatchObject({ identities: 2, activities: 3 });
      expect(await holderOf(t.db, 'phone', '+74955550003')).toEqual({ type: 'contact', id: contactId });
      expect(await holderOf(t.db, 'email', 'petr@example.com')).toEqual({ type: 'contact', id: contactId });
      const moved = await activitiesOf(t.db, 'contact', contactId);
      expect(moved.filter((x) => x.type !== 'system').map((x) => x.id)).toEqual(before.map((x) => x.id));
      expect(moved.find((x) => x.type === 'callback')?.state).toBe('planned');

      const lead = (await send(a.app, 'GET', `/v1/leads/${id}`, anna)).body;
      expect(lead).toMatchObject({
        status: 'converted',
        convertedContactId: contactId,
        convertedCompanyId: companyId,
        convertedDealId: dealId,
      });
      const contact = (await send(a.app, 'GET', `/v1/contacts/${contactId}`, anna)).body;
      expect(contact).toMatchObject({ name: 'Petr', companyId, responsibleId: lead.responsibleId });
      const deal = (await send(a.app, 'GET', `/v1/deals/${dealId}`, anna)).body;
      expect(deal).toMatchObject({
        title: 'First order',
        amount: 1500,
        stage: 'proposal',
        contactId,
        companyId,
        leadId: id,
      });
      const leadTimeline = (await send(a.app, 'GET', `/v1/leads/${id}/timeline`, anna)).body.items;
      expect(leadTimeline.map((i: Item) => i.details.change)).toEqual(['conversion']);

      // A later call from the same number lands on the contact, and being answered completes the moved callback.
      const outcome = await a.router.handle([
        callEvent({ from: '8 495 555 00 03', status: 'answered', talkSec: 90 }),
      ]);
      expect(outcome.failed).toEqual([]);
      const after = await activitiesOf(t.db, 'contact', contactId);
      expect(after.filter((x) => x.type === 'call')).toHaveLength(2);
      expect(after.find((x) => x.type === 'callback')?.state).toBe('completed');
      // ...and so does an email: no new lead.
      await a.router.handle([emailEvent({ from: 'Petr@Example.com', messageId: '<petr-2@example.com>' })]);
      expect((await activitiesOf(t.db, 'contact', contactId)).filter((x) => x.type === 'email')).toHaveLength(
        1,
      );
      const leads = await t.db.query(`SELECT id FROM leads WHERE name = 'Petr'`);
      expect(leads.rows).toHaveLength(1);
      // The look-up answers the contact too.
      const look = await send(a.app, 'GET', '/v1/clients/lookup?phone=84955550003', anna);
      expect(look.body).toMatchObject({ found: true, entityType: 'contact', entityId: contactId });
    });

    it('a messenger conversation moves with the converted lead, and the next message joins it on the contact', async () => {
      const chat = '700100';
      await a.router.handle([messageEvent({ chat, id: `${chat}-1`, text: 'Hi', name: 'Tg client' })]);
      const lead = (await holderOf(t.db, 'telegram', chat))!;
      expect(lead.type).toBe('lead');
      const r = await send(a.app, 'POST', `/v1/leads/${lead.id}/convert`, anna, {});
      expect(r.body.moved.conversations).toBe(1);
      await a.router.handle([messageEvent({ chat, id: `${chat}-2`, text: 'Still there?' })]);
      const convs = await t.db.query<{ owner_type: string; owner_id: number; n: number }>(
        `SELECT c.owner_type, c.owner_id, (SELECT count(*)::int FROM messages m WHERE m.conversation_id = c.id) AS n
           FROM conversations c WHERE c.chat_id = $1`,
        [chat],
      );
      expect(convs.rows).toEqual([{ owner_type: 'contact', owner_id: r.body.contactId, n: 2 }]);
    });

    it('converts into an existing contact, and refuses a second conversion', async () => {
      await a.router.handle([formEvent({ phone: '+74955550004', name: 'Ivan' })]);
      await a.router.handle([formEvent({ phone: '+74955550005', name: 'Ivan again' })]);
      const first = await leadOf('+74955550004');
      const second = await leadOf('+74955550005');
      // No body at all: a new contact named after the lead, nothing else.
      const c = (await send(a.app, 'POST', `/v1/leads/${first}/convert`, anna)).body;
      expect(c.companyId).toBeNull();
      expect(c.dealId).toBeNull();
      const r = await send(a.app, 'POST', `/v1/leads/${second}/convert`, anna, { contactId: c.contactId });
      expect(r.status).toBe(200);
      expect(r.body.contactId).toBe(c.contactId);
      expect(await holderOf(t.db, 'phone', '+74955550005')).toEqual({ type: 'contact', id: c.contactId });
      expectError(
        await send(a.app, 'POST', `/v1/leads/${second}/convert`, anna, {}),
        409,
        'CONFLICT',
        'status',
      );
      expectError(
        await send(a.app, 'PATCH', `/v1/leads/${second}/status`, anna, { status: 'in_progress' }),
        409,
        'CONFLICT',
        'status',
      );
    });

    it('refuses a conversion naming a contact that does not exist, without writing anything', async () => {
      await a.router.handle([formEvent({ phone: '+74955550006' })]);
      const id = await leadOf('+74955550006');
      const count = async () => (await t.db.query('SELECT count(*)::int AS n FROM contacts')).rows[0];
      const before = await count();
      expectError(
        await send(a.app, 'POST', `/v1/leads/${id}/convert`, anna, { contactId: 999999 }),
        422,
        'UNPROCESSABLE',
        'contactId',
      );
      expectError(
        await send(a.app, 'POST', `/v1/leads/${id}/convert`, anna, { deal: { stage: 'won' } }),
        400,
        'VALIDATION',
        'deal.stage',
      );
      expectError(
        await send(a.app, 'POST', `/v1/leads/${id}/convert`, anna, { contact: { name: 'x' }, contactId: 1 }),
        400,
        'VALIDATION',
        'contactId',
      );
      expect(await count()).toEqual(before);
      expect(await holderOf(t.db, 'phone', '+74955550006')).toEqual({ type: 'lead', id });
    });

    it('a client back after junk gets a new lead by default, and their junk lead reopened when configured', async () => {
      expect((await send(a.app, 'GET', '/v1/admin/settings/junk-return', ADMIN_TOKEN)).body).toEqual({
        policy: 'new_lead',
      });
      await a.router.handle([formEvent({ phone: '+74955550007' })]);
      const junk = await leadOf('+74955550007');
      await send(a.app, 'PATCH', `/v1/leads/${junk}/status`, anna, {
        status: 'junk',
        reason: 'wrong number',
      });
      await a.router.handle([callEvent({ from: '+74955550007', status: 'answered', talkSec: 10 })]);
      const fresh = await leadOf('+74955550007');
      expect(fresh).not.toBe(junk);
      expect((await send(a.app, 'GET', `/v1/leads/${junk}`, anna)).body.status).toBe('junk');

      expectError(
        await send(a.app, 'PUT', '/v1/admin/settings/junk-return', ADMIN_TOKEN, { policy: 'x' }),
        400,
        'VALIDATION',
        'policy',
      );
      const put = await send(a.app, 'PUT', '/v1/admin/settings/junk-return', ADMIN_TOKEN, {
        policy: 'reopen',
      });
      expect(put.body).toEqual({ policy: 'reopen' });
      await a.router.handle([formEvent({ phone: '+74955550008' })]);
      const second = await leadOf('+74955550008');
      await send(a.app, 'PATCH', `/v1/leads/${second}/status`, anna, { status: 'junk', reason: 'no budget' });
      const look = await send(a.app, 'GET', '/v1/clients/lookup?phone=%2B74955550008', anna);
      expect(look.body).toMatchObject({ found: true, entityType: 'lead', entityId: second });
      await a.router.handle([callEvent({ from: '+74955550008', status: 'missed' })]);
      expect(await leadOf('+74955550008')).toBe(second);
      const lead = (await send(a.app, 'GET', `/v1/leads/${second}`, anna)).body;
      expect(lead).toMatchObject({ status: 'new', junkReason: null });
      const tl = (await send(a.app, 'GET', `/v1/leads/${second}/timeline`, anna)).body.items;
      expect(tl.map((i: Item) => i.type)).toEqual(expect.arrayContaining(['call', 'callback', 'system']));
      expect(tl.find((i: Item) => i.details.by?.kind === 'router')?.details).toMatchObject({
        from: 'junk',
        to: 'new',
      });
      await send(a.app, 'PUT', '/v1/admin/settings/junk-return', ADMIN_TOKEN, { policy: 'new_lead' });
    });
  });
}
