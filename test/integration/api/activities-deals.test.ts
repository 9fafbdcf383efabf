import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type ApiTestApp, apiBackends, buildApiApp } from '../../support/api-app.js';
import { activitiesOf, type Body, expectError, holderOf, send } from '../../support/crm.js';
import type { TestDatabase } from '../../support/db.js';
import { callEvent, formEvent } from '../../support/events.js';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`activities and deals on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    let vera: string;
    let lead: number;
    let contactId: number;
    const counters = async (token: string) =>
      (await send(a.app, 'GET', '/v1/operators/me/counters', token)).body as Body;

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
      vera = a.tokens.vera!;
      // A missed call from Saint Petersburg: a lead for vera with a planned callback, overdue an hour later.
      const at = new Date(Date.now() - 2 * 3600_000).toISOString();
      await a.router.handle([callEvent({ from: '+78127770001', status: 'missed', at })]);
      lead = (await holderOf(t.db, 'phone', '+78127770001'))!.id;
      await a.router.handle([formEvent({ phone: '+74957770002', name: 'Client', region: 'Moscow' })]);
      const l2 = (await holderOf(t.db, 'phone', '+74957770002'))!.id;
      contactId = (await send(a.app, 'POST', `/v1/leads/${l2}/convert`, a.tokens.anna!, {})).body.contactId;
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('completing an overdue callback takes it out of the counters at once', async () => {
      expect(await counters(vera)).toMatchObject({ overdue: 1, leadsWithoutPlanned: 0 });
      const cb = (await activitiesOf(t.db, 'lead', lead)).find((x) => x.type === 'callback')!;
      const r = await send(a.app, 'POST', `/v1/activities/${cb.id}/complete`, vera, {
        result: 'reached, will buy',
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({
        id: cb.id,
        state: 'completed',
        details: { completedBy: a.ops.vera, result: 'reached, will buy' },
      });
      expect(r.body.completedAt).toBeTruthy();
      expect(await counters(vera)).toMatchObject({ overdue: 0, leadsWithoutPlanned: 1 });
      expectError(
        await send(a.app, 'POST', `/v1/activities/${cb.id}/complete`, vera, {}),
        409,
        'CONFLICT',
        'id',
      );
      const call = (await activitiesOf(t.db, 'lead', lead)).find((x) => x.type === 'call')!;
      expectError(
        await send(a.app, 'POST', `/v1/activities/${call.id}/complete`, vera, {}),
        409,
        'CONFLICT',
        'id',
      );
      expectError(
        await send(a.app, 'POST', '/v1/activities/999999/complete', vera, {}),
        404,
        'NOT_FOUND',
        'id',
      );
    });

    it('creates a task (deadline required) and a note on a lead, contact or deal; the task counts for its responsible', async () => {
      expectError(
        await send(a.app, 'POST', `/v1/leads/${lead}/activities`, vera, {
          type: 'task',
          subject: 'Send offer',
        }),
        400,
        'VALIDATION',
        'deadline',
      );
      const deadline = new Date(Date.now() + 3600_000).toISOString();
      const task = await send(a.app, 'POST', `/v1/leads/${lead}/activities`, vera, {
        type: 'task',
        subject: 'Send offer',
        deadline,
      });
      expect(task.status, JSON.stringify(task.body)).toBe(201);
      expect(task.body).toMatchObject({
        type: 'task',
        state: 'planned',
        responsibleId: a.ops.vera,
        createdBy: a.ops.vera,
      });
      expect(await counters(vera)).toMatchObject({ leadsWithoutPlanned: 0 });
      const note = await send(a.app, 'POST', `/v1/contacts/${contactId}/activities`, vera, {
        type: 'note',
        subject: 'Prefers mornings',
        body: 'Call before 11',
      });
      expect(note.body).toMatchObject({
        type: 'note',
        state: 'completed',
        ownerType: 'contact',
        ownerId: contactId,
      });
      expectError(
        await send(a.app, 'POST', '/v1/companies/999999/activities', vera, { type: 'note', subject: 'x' }),
        404,
        'NOT_FOUND',
        'id',
      );
      expectError(
        await send(a.app, 'POST', `/v1/leads/${lead}/activities`, vera, { type: 'call', subject: 'x' }),
        400,
        'VALIDATION',
        'type',
      );
      // A converted lead refuses new work, naming where it went.
      const converted = (await t.db.query<{ id: number }>(`SELECT id FROM leads WHERE status = 'converted'`))
        .rows[0]!;
      const refused = await send(a.app, 'POST', `/v1/leads/${converted.id}/activities`, vera, {
        type: 'note',
        subject: 'x',
      });
      expectError(refused, 409, 'CONFLICT', 'id');
    });

    it('reschedules and reassigns a planned task, recording who changed what', async () => {
      const deadline = new Date(Date.now() - 60_000).toISOString();
      const task = (
        await send(a.app, 'POST', `/v1/contacts/${contactId}/activities`, vera, {
          type: 'task',
          subject: 'Late',
          deadline,
        })
      ).body;
      expect((await counters(vera)).overdue).toBe(1);
      const later = new Date(Date.now() + 86_400_000).toISOString();
      let r = await send(a.app, 'PATCH', `/v1/activities/${task.id}`, vera, { deadline: later });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(new Date(r.body.deadline).toISOString()).toBe(later);
      expect((await counters(vera)).overdue).toBe(0);
      r = await send(a.app, 'PATCH', `/v1/activities/${task.id}`, vera, { responsibleId: a.ops.boris });
      expect(r.body.responsibleId).toBe(a.ops.boris);
      expect(r.body.details.changes).toHaveLength(2);
      expect(r.body.details.changes[1]).toMatchObject({
        by: a.ops.vera,
        responsible: { from: a.ops.vera, to: a.ops.boris },
      });
      expectError(
        await send(a.app, 'PATCH', `/v1/activities/${task.id}`, vera, {}),
        400,
        'VALIDATION',
        'body',
      );
      expectError(
        await send(a.app, 'PATCH', `/v1/activities/${task.id}`, vera, { responsibleId: 99999 }),
        422,
        'UNPROCESSABLE',
        'responsibleId',
      );
      expectError(
        await send(a.app, 'PATCH', `/v1/activities/${task.id}`, vera, { deadline: 'tomorrow' }),
        400,
        'VALIDATION',
        'deadline',
      );
    });

    it('deals: create for a contact, list, change stage, close; a closed deal does not change', async () => {
      expectError(
        await send(a.app, 'POST', '/v1/deals', vera, { title: 'No client' }),
        400,
        'VALIDATION',
        'contactId',
      );
      expectError(
        await send(a.app, 'POST', '/v1/deals', vera, { title: 'x', contactId: 999999 }),
        422,
        'UNPROCESSABLE',
        'contactId',
      );
      expectError(
        await send(a.app, 'POST', '/v1/deals', ADMIN_TOKEN, { title: 'x', contactId }),
        403,
        'FORBIDDEN',
      );
      const created = await send(a.app, 'POST', '/v1/deals', vera, {
        title: 'Windows',
        contactId,
        amount: 99.5,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.id;
      expect(created.body).toMatchObject({
        stage: 'new',
        amount: 99.5,
        responsibleId: a.ops.vera,
        closed: false,
      });
      // Each deal must always have a planned activity: the counters light up until it has one.
      expect((await counters(vera)).dealsWithoutPlanned).toBe(1);
      const deadline = new Date(Date.now() + 3600_000).toISOString();
      await send(a.app, 'POST', `/v1/deals/${id}/activities`, vera, {
        type: 'meeting',
        subject: 'Demo',
        deadline,
      });
      expect((await counters(vera)).dealsWithoutPlanned).toBe(0);

      let r = await send(a.app, 'PATCH', `/v1/deals/${id}/stage`, vera, { stage: 'negotiation' });
      expect(r.body.stage).toBe('negotiation');
      expectError(
        await send(a.app, 'PATCH', `/v1/deals/${id}/stage`, vera, { stage: 'won' }),
        400,
        'VALIDATION',
        'stage',
      );
      r = await send(a.app, 'POST', `/v1/deals/${id}/close`, vera, {
        outcome: 'lost',
        reason: 'too expensive',
      });
      expect(r.body).toMatchObject({
        closed: true,
        outcome: 'lost',
        stage: 'lost',
        closeReason: 'too expensive',
      });
      expectError(
        await send(a.app, 'PATCH', `/v1/deals/${id}/stage`, vera, { stage: 'proposal' }),
        409,
        'CONFLICT',
        'id',
      );
      expectError(
        await send(a.app, 'POST', `/v1/deals/${id}/close`, vera, { outcome: 'won' }),
        409,
        'CONFLICT',
        'id',
      );

      const list = (await send(a.app, 'GET', `/v1/deals?contactId=${contactId}&closed=true`, ADMIN_TOKEN))
        .body;
      expect(list.items.map((d: Body) => d.id)).toEqual([id]);
      expect((await send(a.app, 'GET', '/v1/deals?stage=negotiation', vera)).body.items).toEqual([]);
      const tl = (await send(a.app, 'GET', `/v1/deals/${id}/timeline`, vera)).body.items as Body[];
      expect(
        tl.filter((i) => i.type === 'system').map((i) => [i.details.change, i.details.to ?? i.details.stage]),
      ).toEqual([
        ['stage', 'lost'],
        ['stage', 'negotiation'],
        ['created', 'new'],
      ]);
      const note = await send(a.app, 'POST', `/v1/deals/${id}/activities`, vera, {
        type: 'note',
        subject: 'Lost to X',
      });
      expect(note.status).toBe(201);
      expectError(await send(a.app, 'GET', '/v1/deals/999999', vera), 404, 'NOT_FOUND', 'id');
    });
  });
}
