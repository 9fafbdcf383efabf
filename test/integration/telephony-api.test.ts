import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { telephonyApi } from '../../api/telephony/routes.js';
import { loadConfig } from '../../app/config.js';
import { DEMO_LINE_SECRET, seedDemo } from '../../app/demo-seed.js';
import { upsertLine } from '../../crm-core/repositories/channel-settings.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createRouter } from '../../router/router.js';
import { createTestPglite, type TestDatabase } from '../support/db.js';
import { callEvent } from '../support/events.js';

const ADMIN = 'admin-token-for-tests-0001';

describe('telephony API: routing answer and call reports', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let ops: Record<string, number>;
  let operatorToken: string;

  beforeAll(async () => {
    t = await createTestPglite();
    const seeded = (await seedDemo(t.db))!;
    ops = Object.fromEntries(seeded.operators.map((o) => [o.login, o.id]));
    operatorToken = seeded.operators[0]!.token;
    app = Fastify(httpOptions());
    registerErrorHandler(app);
    await app.register(telephonyApi, { db: t.db, config: loadConfig({ ADMIN_TOKEN: ADMIN }) });
    const router = createRouter({
      db: t.db,
      logger: createLogger({ level: 'silent' }),
      callbackDeadlineMin: 30,
      meaningfulCallSec: 60,
    });
    await router.handle([
      callEvent({ from: '+74951110001', callId: 'r1', status: 'missed', at: '2026-11-20T09:00:00Z' }),
      callEvent({
        from: '+74951110002',
        callId: 'r2',
        status: 'answered',
        talkSec: 75,
        at: '2026-11-20T10:00:00Z',
      }),
      callEvent({
        from: '+74951110002',
        callId: 'r3',
        status: 'answered',
        talkSec: 20,
        at: '2026-11-21T10:00:00Z',
      }),
    ]);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const route = (from: string, token = DEMO_LINE_SECRET, line = 'demo') =>
    app.inject({
      url: `/v1/telephony/route?from=${encodeURIComponent(from)}&line=${line}`,
      headers: { authorization: `Bearer ${token}` },
    });

  it('answers a known caller with their responsible operator and extension', async () => {
    const r = await route('8 495 111-00-01');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ known: true, client: { entityType: 'lead' }, reason: 'responsible' });
    expect([ops.anna, ops.boris]).toContain(body.operator.id);
    expect(body.operator.extension).toMatch(/^10[12]$/);
  });

  it('answers an unknown caller with the operator the region rules would pick, creating nothing', async () => {
    const before = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM leads')).rows[0]!.n;
    const r = await route('+78127770000');
    expect(r.json()).toMatchObject({ known: false, operator: { id: ops.vera } });
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM leads')).rows[0]!.n).toBe(before);
  });

  it('uses the line region for an unknown caller (call tracking)', async () => {
    const [spb] = (await t.db.query<{ id: number }>(`SELECT id FROM regions WHERE code = 'spb'`)).rows;
    await upsertLine(t.db, {
      key: 'spb-ads',
      name: 'SPb ads',
      secret: 'spb-line-secret-000001',
      regionId: spb!.id,
      createLeadOnOutbound: false,
      options: {},
      active: true,
    });
    const r = await route('+74959990000', 'spb-line-secret-000001', 'spb-ads');
    expect(r.json()).toMatchObject({ known: false, operator: { id: ops.vera }, regionId: spb!.id });
  });

  it('rejects a wrong line secret with 401 and a missing parameter with 400 naming it', async () => {
    expect((await route('+74951110001', 'wrong')).statusCode).toBe(401);
    const r = await app.inject({
      url: '/v1/telephony/route?line=demo',
      headers: { authorization: `Bearer ${DEMO_LINE_SECRET}` },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'VALIDATION', fields: [expect.stringContaining('from')] });
  });

  it('reports calls per day with answered, missed, meaningful and callbacks', async () => {
    const r = await app.inject({
      url: '/v1/reports/calls?from=2026-11-20T00:00:00Z&to=2026-11-22T00:00:00Z&groupBy=day',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(r.statusCode).toBe(200);
    const rows = r.json().rows;
    expect(rows).toEqual([
      expect.objectContaining({
        key: '2026-11-20',
        total: 2,
        inbound: 2,
        answered: 1,
        missed: 1,
        meaningful: 1,
        avg_talk_sec: 75,
        callbacks_overdue: 1,
      }),
      expect.objectContaining({ key: '2026-11-21', total: 1, answered: 1, meaningful: 0 }),
    ]);
    const bad = await app.inject({
      url: '/v1/reports/calls?from=2026-11-20T00:00:00Z&to=2026-11-22T00:00:00Z&groupBy=week',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(bad.statusCode).toBe(400);
    expect(
      (await app.inject({ url: '/v1/reports/calls?from=2026-11-20T00:00:00Z&to=2026-11-22T00:00:00Z' }))
        .statusCode,
    ).toBe(401);
    // An operator's valid token is not the admin's: 403, as on every admin route.
    const asOperator = await app.inject({
      url: '/v1/reports/calls?from=2026-11-20T00:00:00Z&to=2026-11-22T00:00:00Z',
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    expect(asOperator.statusCode).toBe(403);
    expect(asOperator.json().error.code).toBe('FORBIDDEN');
  });
});
