import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { timersOf } from '../../../crm-core/repositories/automation-timer.repository.js';
import type { InboundContact } from '../../../event/inbound-contact.js';
import type { Scheduler } from '../../../router/automation/scheduler.js';
import { ADMIN_TOKEN, type ApiTestApp, apiBackends, buildApiApp } from '../../support/api-app.js';
import {
  activity,
  automationEntries,
  createRule,
  deleteRule,
  minutesAfter,
  testScheduler,
} from '../../support/automation.js';
import { activitiesOf, type Body, holderOf, send } from '../../support/crm.js';
import type { TestDatabase } from '../../support/db.js';
import { callEvent, emailEvent, formEvent } from '../../support/events.js';
import { messageEvent } from '../../support/messages.js';

/** The demo seed's regions: Moscow (anna, boris; round robin) first, Saint Petersburg (vera) second. */
const MOSCOW = 1;

/**
 * Automation rules firing on real PostgreSQL (and PGlite, the embedded default): first-response SLA (overdue, escalation to the next operator or the
 * region's supervisor, resolution by the answer), reassignment when an operator goes offline, condition rules
 * creating tasks in the router's transaction. Time is passed in (runOnce(now)), never slept.
 */
for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`automation rules on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    let scheduler: Scheduler;
    const rules: number[] = [];
    const rule = async (r: Record<string, unknown>) => {
      const id = await createRule(a.app, r);
      rules.push(id);
      return id;
    };
    /** Routes through the test's router, failing the test on any event the router refused. */
    const route = async (events: InboundContact[]) => {
      expect((await a.router.handle(events)).failed).toEqual([]);
    };
    const counters = async (token: string) =>
      (await send(a.app, 'GET', '/v1/operators/me/counters', token)).body as Body;

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
      scheduler = testScheduler(t.db);
    });
    afterEach(async () => {
      // Deleting a rule deletes its timers: each test starts with no automation.
      while (rules.length) await deleteRule(a.app, rules.pop()!);
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('a missed call unanswered for N minutes is overdue, shown in the counters and handed to the next operator of its region', async () => {
      const ruleId = await rule({
        name: 'Calls: 10 min',
        kind: 'first_response_sla',
        channel: 'phone',
        minutes: 10,
        escalate: 'next_operator',
      });
      const at = new Date(Date.now() - 60_000).toISOString();
      await route([callEvent({ from: '+74951110001', status: 'missed', at })]);
      const lead = (await holderOf(t.db, 'phone', '+74951110001'))!.id;
      const callback = (await activitiesOf(t.db, 'lead', lead)).find((x) => x.type === 'callback')!;
      const first = (await activity(t.db, callback.id)).responsible_id!;
      const [timer] = await timersOf(t.db, 'activity', callback.id);
      expect(timer).toMatchObject({ rule_id: ruleId, state: 'pending' });
      expect(new Date(timer!.due_at).toISOString()).toBe(minutesAfter(at, 10).toISOString());

      expect(await scheduler.runOnce(minutesAfter(at, 9))).toEqual([]);
      const escalated = await scheduler.runOnce(minutesAfter(at, 11));
      expect(escalated).toMatchObject([
        { ruleKind: 'first_response_sla', action: 'escalated_next_operator' },
      ]);
      // Anna and Boris share Moscow: the other one has it now, and sees it overdue.
      const second = (await activity(t.db, callback.id)).responsible_id!;
      expect([a.ops.anna, a.ops.boris]).toContain(first);
      expect(second).toBe(first === a.ops.anna ? a.ops.boris : a.ops.anna);
      // Both consoles are told (work.changed): the one who did not answer and the one who has it now.
      expect(escalated[0]!.operatorIds).toEqual([first, second]);
      const token = second === a.ops.anna ? a.tokens.anna! : a.tokens.boris!;
      expect(await counters(token)).toMatchObject({ slaOverdue: 1 });
      const [entry] = await automationEntries(t.db, 'lead', lead);
      expect(entry!.details).toMatchObject({
        change: 'automation',
        by: { kind: 'automation', ruleId },
        action: 'escalated_next_operator',
        activityId: callback.id,
        escalation: { from: first, to: second },
      });
      // A second tick fires nothing again.
      expect(await scheduler.runOnce(minutesAfter(at, 30))).toEqual([]);

      // The call back answers it: out of the counters at once, and the timer is resolved on the next tick.
      const done = await send(a.app, 'POST', `/v1/activities/${callback.id}/complete`, token, {});
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(await counters(token)).toMatchObject({ slaOverdue: 0 });
      await scheduler.runOnce(minutesAfter(at, 31));
      expect((await timersOf(t.db, 'activity', callback.id)).map((x) => x.state)).toEqual(['resolved']);
    });

    it("escalates to the region's supervisor; with nobody to escalate to it is only overdue", async () => {
      const sofia = await send(a.app, 'POST', '/v1/admin/operators', ADMIN_TOKEN, {
        login: 'sofia',
        name: 'Sofia Supervisor',
        role: 'supervisor',
        regionIds: [MOSCOW],
      });
      expect(sofia.status, JSON.stringify(sofia.body)).toBe(201);
      await rule({
        name: 'Calls: supervisor',
        kind: 'first_response_sla',
        channel: 'phone',
        minutes: 5,
        escalate: 'supervisor',
      });
      const at = new Date(Date.now() - 60_000).toISOString();
      await route([
        callEvent({ from: '+74951110002', status: 'missed', at }),
        // Saint Petersburg has no supervisor.
        callEvent({ from: '+78121110002', status: 'missed', at }),
      ]);
      const msk = (await holderOf(t.db, 'phone', '+74951110002'))!.id;
      const spb = (await holderOf(t.db, 'phone', '+78121110002'))!.id;
      const fired = await scheduler.runOnce(minutesAfter(at, 6));
      expect(fired.map((f) => f.action).sort()).toEqual(['escalated_supervisor', 'overdue']);
      const mskCallback = (await activitiesOf(t.db, 'lead', msk)).find((x) => x.type === 'callback')!;
      expect((await activity(t.db, mskCallback.id)).responsible_id).toBe(sofia.body.operator.id);
      const spbCallback = (await activitiesOf(t.db, 'lead', spb)).find((x) => x.type === 'callback')!;
      expect((await activity(t.db, spbCallback.id)).responsible_id).toBe(a.ops.vera);
      expect((await automationEntries(t.db, 'lead', spb))[0]!.details).toMatchObject({
        action: 'overdue',
        escalation: 'nobody',
      });
      expect(await counters(a.tokens.vera!)).toMatchObject({ slaOverdue: 1 });
    });

    it('an email waits for a reply; a conversation answered in time never fires, one answered late stops counting', async () => {
      await rule({ name: 'Email: 60 min', kind: 'first_response_sla', channel: 'email', minutes: 60 });
      await rule({ name: 'WhatsApp: 5 min', kind: 'first_response_sla', channel: 'whatsapp', minutes: 5 });
      const at = new Date(Date.now() - 120_000);
      await route([
        emailEvent({ from: 'client@example.org', messageId: '<q1@example.org>' }),
        // A robot's mail waits for nobody.
        emailEvent({ from: 'robot@example.org', messageId: '<auto1@example.org>', robot: 'auto-reply' }),
        messageEvent({ channel: 'whatsapp', chat: '74951110003', id: 'wa-1', text: 'Hello?', at }),
        messageEvent({ channel: 'whatsapp', chat: '74951110004', id: 'wa-2', text: 'Hi', at }),
      ]);
      // One chat is answered after 2 minutes (our reply, as the vendor echoes it).
      await route([
        messageEvent({
          channel: 'whatsapp',
          chat: '74951110003',
          id: 'wa-1r',
          text: 'Yes!',
          direction: 'outbound',
          at: minutesAfter(at, 2),
        }),
      ]);
      const answered = (await holderOf(t.db, 'phone', '+74951110003'))!.id;
      const waiting = (await holderOf(t.db, 'phone', '+74951110004'))!.id;
      const fired = await scheduler.runOnce(minutesAfter(at, 6));
      expect(fired).toMatchObject([{ ruleKind: 'first_response_sla', action: 'overdue' }]);
      expect(await automationEntries(t.db, 'lead', answered)).toEqual([]);
      expect(await automationEntries(t.db, 'lead', waiting)).toHaveLength(1);
      const conv = (await activitiesOf(t.db, 'lead', waiting)).find((x) => x.type === 'message')!;
      const owner = (await activity(t.db, conv.id)).responsible_id!;
      const ownerToken = Object.entries(a.ops).find(([, id]) => id === owner)![0];
      const before = (await counters(a.tokens[ownerToken]!)).slaOverdue;
      await route([
        messageEvent({
          channel: 'whatsapp',
          chat: '74951110004',
          id: 'wa-2r',
          text: 'Sorry!',
          direction: 'outbound',
          at: minutesAfter(at, 7),
        }),
      ]);
      expect((await counters(a.tokens[ownerToken]!)).slaOverdue).toBe(before - 1);

      // The email is due after an hour; its client's operator sees it overdue then.
      const email = (await holderOf(t.db, 'email', 'client@example.org'))!.id;
      const mail = (await activitiesOf(t.db, 'lead', email)).find((x) => x.type === 'email')!;
      expect(await timersOf(t.db, 'activity', mail.id)).toHaveLength(1);
      const robot = await holderOf(t.db, 'email', 'robot@example.org');
      expect(robot).toBeUndefined();
      expect(await scheduler.runOnce(minutesAfter(new Date(), 61))).toMatchObject([
        { ruleKind: 'first_response_sla', action: 'overdue' },
      ]);
    });

    it('a client who writes again after an answer is timed from the new message', async () => {
      await rule({ name: 'Telegram: 5 min', kind: 'first_response_sla', channel: 'telegram', minutes: 5 });
      const at = new Date(Date.now() - 20 * 60_000);
      await route([messageEvent({ chat: '5550001', id: 'tg-1', text: 'one', at })]);
      await route([
        messageEvent({
          chat: '5550001',
          id: 'tg-1r',
          text: 'ok',
          direction: 'outbound',
          at: minutesAfter(at, 1),
        }),
      ]);
      await route([messageEvent({ chat: '5550001', id: 'tg-2', text: 'two', at: minutesAfter(at, 3) })]);
      // Due at +5 by the first message; the wait began at +3, so it moves to +8.
      expect(await scheduler.runOnce(minutesAfter(at, 6))).toEqual([]);
      const lead = (await holderOf(t.db, 'telegram', '5550001'))!.id;
      const conv = (await activitiesOf(t.db, 'lead', lead)).find((x) => x.type === 'message')!;
      const [timer] = await timersOf(t.db, 'activity', conv.id);
      expect(timer!.state).toBe('pending');
      expect(new Date(timer!.due_at).toISOString()).toBe(minutesAfter(at, 8).toISOString());
      expect(await scheduler.runOnce(minutesAfter(at, 8))).toHaveLength(1);
    });

    it("an operator going offline hands their unanswered conversations to the region's next operator", async () => {
      const ruleId = await rule({ name: 'Offline', kind: 'offline_reassign', graceMinutes: 2 });
      await route([
        messageEvent({ channel: 'whatsapp', chat: '74951110010', id: 'off-1', text: 'anyone?' }),
        messageEvent({ channel: 'whatsapp', chat: '74951110011', id: 'off-2', text: 'hello' }),
      ]);
      const convs = await Promise.all(
        ['+74951110010', '+74951110011'].map(async (p) => {
          const lead = (await holderOf(t.db, 'phone', p))!.id;
          return { lead, conv: (await activitiesOf(t.db, 'lead', lead)).find((x) => x.type === 'message')! };
        }),
      );
      // Round robin gave one to each of anna and boris; anna goes offline.
      const annas = [];
      for (const c of convs)
        if ((await activity(t.db, c.conv.id)).responsible_id === a.ops.anna) annas.push(c);
      expect(annas).toHaveLength(1);
      const now = new Date();
      const off = await send(a.app, 'PATCH', '/v1/operators/me/status', a.tokens.anna!, {
        status: 'offline',
      });
      expect(off.status, JSON.stringify(off.body)).toBe(200);
      expect(await timersOf(t.db, 'operator', a.ops.anna!)).toMatchObject([
        { rule_id: ruleId, state: 'pending' },
      ]);
      // Within the grace period nothing moves.
      expect(await scheduler.runOnce(minutesAfter(now, 1))).toEqual([]);
      // Her Moscow chat goes to boris; an earlier test's Telegram chat (no region: the global default, anna) has
      // nobody else to go to, and says so.
      expect(await scheduler.runOnce(minutesAfter(now, 3))).toEqual([
        { ruleKind: 'offline_reassign', action: 'nobody_available', operatorIds: [a.ops.anna] },
        { ruleKind: 'offline_reassign', action: 'reassigned', operatorIds: [a.ops.anna, a.ops.boris] },
      ]);
      expect((await activity(t.db, annas[0]!.conv.id)).responsible_id).toBe(a.ops.boris);
      expect((await automationEntries(t.db, 'lead', annas[0]!.lead))[0]!.details).toMatchObject({
        action: 'reassigned',
        from: a.ops.anna,
        to: a.ops.boris,
      });

      // Back online before the grace period ends: the timer is cancelled, nothing moves.
      await send(a.app, 'PATCH', '/v1/operators/me/status', a.tokens.boris!, { status: 'offline' });
      await send(a.app, 'PATCH', '/v1/operators/me/status', a.tokens.anna!, { status: 'online' });
      await send(a.app, 'PATCH', '/v1/operators/me/status', a.tokens.boris!, { status: 'online' });
      expect((await timersOf(t.db, 'operator', a.ops.boris!)).map((x) => x.state)).toEqual(['cancelled']);
      expect(await scheduler.runOnce(minutesAfter(now, 10))).toEqual([]);

      // An administrator's change counts too (grace 2 min from now).
      const admin = await send(a.app, 'PATCH', `/v1/admin/operators/${a.ops.boris}`, ADMIN_TOKEN, {
        status: 'offline',
      });
      expect(admin.status).toBe(200);
      expect((await timersOf(t.db, 'operator', a.ops.boris!)).map((x) => x.state)).toEqual([
        'cancelled',
        'pending',
      ]);
      const moved = await scheduler.runOnce(minutesAfter(new Date(), 3));
      expect(moved).toMatchObject([
        { ruleKind: 'offline_reassign', action: 'reassigned' },
        { ruleKind: 'offline_reassign', action: 'reassigned' },
      ]);
      for (const c of convs) expect((await activity(t.db, c.conv.id)).responsible_id).toBe(a.ops.anna);
      await send(a.app, 'PATCH', '/v1/operators/me/status', a.tokens.boris!, { status: 'online' });
    });

    it('a condition rule creates a task in the router transaction, once, for the client operator', async () => {
      const ruleId = await rule({
        name: 'Price requests',
        kind: 'condition',
        conditions: { channels: ['whatsapp', 'webform'], regionIds: [MOSCOW], keywords: ['PRICE'] },
        action: { type: 'task', subject: 'Send the price list', deadlineMinutes: 30 },
      });
      const cbRule = await rule({
        name: 'Demo form callback',
        kind: 'condition',
        conditions: { sourceKeys: ['demo'], channels: ['webform'] },
        action: { type: 'callback', subject: 'Call the form back', deadlineMinutes: 15 },
      });
      const m1 = messageEvent({
        channel: 'whatsapp',
        chat: '74951110020',
        id: 'c-1',
        text: 'What is the price?',
      });
      const m2 = messageEvent({
        channel: 'whatsapp',
        chat: '74951110020',
        id: 'c-2',
        text: 'price for two?',
      });
      const other = messageEvent({ channel: 'whatsapp', chat: '78121110020', id: 'c-3', text: 'price?' });
      const plain = messageEvent({ channel: 'whatsapp', chat: '74951110021', id: 'c-4', text: 'hello' });
      await route([m1, other, plain]);
      await route([m1, m2]); // a redelivery and a second message of the same conversation
      const lead = (await holderOf(t.db, 'phone', '+74951110020'))!.id;
      const tasks = (await activitiesOf(t.db, 'lead', lead)).filter((x) => x.type === 'task');
      expect(tasks).toHaveLength(1);
      const task = await activity(t.db, tasks[0]!.id);
      const conv = (await activitiesOf(t.db, 'lead', lead)).find((x) => x.type === 'message')!;
      expect(task.state).toBe('planned');
      expect(task.responsible_id).toBe((await activity(t.db, conv.id)).responsible_id);
      expect(tasks[0]!.details).toMatchObject({ automation: { ruleId, eventId: m1.id } });
      expect((await automationEntries(t.db, 'lead', lead)).map((e) => e.details.action)).toEqual([
        'task_created',
      ]);
      // Saint Petersburg (region 2) and a message without the keyword: nothing.
      for (const p of ['+78121110020', '+74951110021']) {
        const l = (await holderOf(t.db, 'phone', p))!.id;
        expect((await activitiesOf(t.db, 'lead', l)).filter((x) => x.type === 'task')).toEqual([]);
      }
      // A form on the demo form gets a callback (a different rule, a different action).
      await route([formEvent({ phone: '+74951110022', region: 'Moscow' })]);
      const formLead = (await holderOf(t.db, 'phone', '+74951110022'))!.id;
      const cbs = (await activitiesOf(t.db, 'lead', formLead)).filter((x) => x.type === 'callback');
      expect(cbs.map((x) => x.details)).toMatchObject([{ automation: { ruleId: cbRule } }]);
    });
  });
}
