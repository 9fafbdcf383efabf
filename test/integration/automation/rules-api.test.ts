import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../api/metrics.js';
import { createLogger } from '../../../lib/logger.js';
import { createRouter } from '../../../router/router.js';
import { ADMIN_TOKEN, type ApiTestApp, buildApiApp } from '../../support/api-app.js';
import { expectError, send } from '../../support/crm.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { messageEvent } from '../../support/messages.js';
import { pgAvailable } from '../../support/services.js';

const SLA = { name: 'Email 60', kind: 'first_response_sla', channel: 'email', minutes: 60 };
const CONDITION = {
  name: 'Complaints',
  kind: 'condition',
  conditions: { keywords: ['complaint'] },
  action: { type: 'task', subject: 'Call the client today' },
};

/** /v1/admin/automation-rules: admin only, strict (400 naming the field, nothing written), CRUD. */
describe.skipIf(!(await pgAvailable()))('automation rules API on PostgreSQL', () => {
  let t: TestDatabase;
  let a: ApiTestApp;
  const post = (body: unknown, token = ADMIN_TOKEN) =>
    send(a.app, 'POST', '/v1/admin/automation-rules', token, body);
  const count = async () =>
    (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM automation_rules')).rows[0]!.n;

  beforeAll(async () => {
    t = await createTestPg();
    a = await buildApiApp(t);
  });
  afterAll(async () => {
    await a?.app.close();
    await t?.drop();
  });

  it('refuses invalid rules naming the field, and writes nothing', async () => {
    const cases: [unknown, string][] = [
      [{ ...SLA, kind: 'robot' }, 'kind'],
      [{ kind: 'first_response_sla', channel: 'email', minutes: 5 }, 'name'],
      [{ ...SLA, name: '   ' }, 'name'],
      [{ ...SLA, channel: undefined }, 'channel'],
      [{ ...SLA, channel: 'webform' }, 'channel'],
      [{ ...SLA, minutes: undefined }, 'minutes'],
      [{ ...SLA, minutes: 0 }, 'minutes'],
      [{ ...SLA, minutes: '5' }, 'minutes'],
      [{ ...SLA, minutes: 2.5 }, 'minutes'],
      [{ ...SLA, escalate: 'boss' }, 'escalate'],
      [{ ...SLA, graceMinutes: 5 }, 'graceMinutes'],
      [{ ...SLA, active: 'yes' }, 'active'],
      [{ name: 'Off', kind: 'offline_reassign', graceMinutes: -1 }, 'graceMinutes'],
      [{ name: 'Off', kind: 'offline_reassign', channels: ['phone'] }, 'channels.0'],
      [{ name: 'Off', kind: 'offline_reassign', minutes: 5 }, 'minutes'],
      [{ ...CONDITION, conditions: undefined }, 'conditions'],
      [{ ...CONDITION, conditions: {} }, 'conditions'],
      [{ ...CONDITION, conditions: { keywords: [] } }, 'conditions.keywords'],
      [{ ...CONDITION, conditions: { keywords: [' '] } }, 'conditions.keywords.0'],
      [{ ...CONDITION, conditions: { regionIds: [0] } }, 'conditions.regionIds.0'],
      [{ ...CONDITION, conditions: { channels: ['fax'] } }, 'conditions.channels.0'],
      [{ ...CONDITION, action: undefined }, 'action'],
      [{ ...CONDITION, action: { type: 'meeting', subject: 'x' } }, 'action.type'],
      [{ ...CONDITION, action: { type: 'task' } }, 'action.subject'],
      [
        { ...CONDITION, action: { type: 'task', subject: 'x', deadlineMinutes: -5 } },
        'action.deadlineMinutes',
      ],
      [{ ...CONDITION, channel: 'email' }, 'channel'],
    ];
    for (const [body, field] of cases) {
      const r = await post(body);
      expect(r.status, `${field}: ${JSON.stringify(r.body)}`).toBe(400);
      expectError(r, 400, 'VALIDATION', field);
    }
    expect(await count()).toBe(0);
  });

  it('is for administrators only', async () => {
    expectError(await post(SLA, a.tokens.anna!), 403, 'FORBIDDEN');
    const r = await a.app.inject({ method: 'GET', url: '/v1/admin/automation-rules' });
    expect(r.statusCode).toBe(401);
    expect(await count()).toBe(0);
  });

  it('creates, lists, changes and deletes rules', async () => {
    const sla = await post({ ...SLA, escalate: 'supervisor' });
    expect(sla.status, JSON.stringify(sla.body)).toBe(201);
    expect(sla.body).toMatchObject({ ...SLA, escalate: 'supervisor', active: true, id: expect.any(Number) });
    const cond = await post(CONDITION);
    expect(cond.body).toMatchObject({ ...CONDITION, action: { ...CONDITION.action, deadlineMinutes: 60 } });
    const off = await post({ name: 'Offline', kind: 'offline_reassign' });
    expect(off.body).toMatchObject({ kind: 'offline_reassign', graceMinutes: 0, channels: [] });

    const listed = await send(a.app, 'GET', '/v1/admin/automation-rules', ADMIN_TOKEN);
    expect(listed.body.items.map((r: { id: number }) => r.id)).toEqual([
      sla.body.id,
      cond.body.id,
      off.body.id,
    ]);
    const onlySla = await send(
      a.app,
      'GET',
      '/v1/admin/automation-rules?kind=first_response_sla',
      ADMIN_TOKEN,
    );
    expect(onlySla.body.items).toHaveLength(1);

    const url = `/v1/admin/automation-rules/${sla.body.id}`;
    const changed = await send(a.app, 'PATCH', url, ADMIN_TOKEN, { minutes: 15, active: false });
    expect(changed.body).toMatchObject({
      minutes: 15,
      active: false,
      channel: 'email',
      escalate: 'supervisor',
    });
    expectError(
      await send(a.app, 'PATCH', url, ADMIN_TOKEN, { kind: 'condition' }),
      400,
      'VALIDATION',
      'kind',
    );
    expectError(
      await send(a.app, 'PATCH', url, ADMIN_TOKEN, { keywords: 1, action: {} }),
      400,
      'VALIDATION',
      'action',
    );
    expect((await send(a.app, 'GET', url, ADMIN_TOKEN)).body).toMatchObject({ minutes: 15, active: false });
    expectError(
      await send(a.app, 'PATCH', '/v1/admin/automation-rules/999999', ADMIN_TOKEN, { minutes: 5 }),
      404,
      'NOT_FOUND',
      'id',
    );

    const del = await a.app.inject({
      method: 'DELETE',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(del.statusCode).toBe(204);
    expectError(await send(a.app, 'GET', url, ADMIN_TOKEN), 404, 'NOT_FOUND', 'id');
    expect(await count()).toBe(2);
  });

  it('counts what condition rules did in automation_fired_total once the batch commits', async () => {
    const metrics = createMetrics();
    const router = createRouter({
      db: t.db,
      logger: createLogger({ level: 'silent' }),
      callbackDeadlineMin: 30,
      meaningfulCallSec: 60,
      onRouted: (_, outcomes) => {
        for (const o of outcomes)
          for (const f of o.automation ?? [])
            metrics.automationFired.inc({ rule_kind: f.ruleKind, action: f.action });
      },
    });
    await router.handle([
      messageEvent({ chat: '8800001', id: 'm-1', text: 'I have a COMPLAINT' }),
      messageEvent({ chat: '8800002', id: 'm-2', text: 'all good' }),
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('automation_fired_total{rule_kind="condition",action="task_created"} 1');
  });
});
