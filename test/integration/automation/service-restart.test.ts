import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../app/config.js';
import { DEMO_LINE_SECRET } from '../../../app/demo-seed.js';
import { type Service, startService } from '../../../app/service.js';
import { createLogger } from '../../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { pgAvailable } from '../../support/services.js';

/**
 * The scheduler as the composition root runs it (app/service.ts, router role, AUTOMATION_POLL_MS), on one
 * PostgreSQL schema: timers scheduled by one service instance that stops before they are due are fired after a
 * restart, by two new instances started together, each exactly once (automation_fired_total summed over both).
 */
const ADMIN_TOKEN = 'automation-restart-admin-token-01';
const logger = createLogger({ level: 'silent' });

describe.skipIf(!(await pgAvailable()))('automation timers across service restarts on PostgreSQL', () => {
  let t: TestDatabase;
  const running: Service[] = [];
  const start = async (pollMs: number) => {
    const config = loadConfig({
      PORT: '0',
      DATABASE_URL: t.url!,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      DEMO_SEED: 'true',
      AUTOMATION_POLL_MS: String(pollMs),
    });
    const s = await startService(config, logger);
    running.push(s);
    return s;
  };
  const stop = async (s: Service) => {
    await s.close();
    running.splice(running.indexOf(s), 1);
  };
  const fired = async (s: Service) => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const m = text.match(
      /^automation_fired_total\{rule_kind="first_response_sla",action="overdue"\} (\d+)$/m,
    );
    return m ? Number(m[1]) : 0;
  };

  beforeAll(async () => {
    t = await createTestPg();
  });
  afterAll(async () => {
    for (const s of [...running]) await s.close();
    await t?.drop();
  });

  it('timers left by a stopped instance fire once after a restart, shared by two new instances', async () => {
    // Instance 1 never polls in this test: it takes the rule and the contacts, then stops.
    const first = await start(3_600_000);
    const rule = await fetch(`${first.url}/v1/admin/automation-rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Missed calls 1 min',
        kind: 'first_response_sla',
        channel: 'phone',
        minutes: 1,
      }),
    });
    expect(rule.status, await rule.clone().text()).toBe(201);
    const startedAt = new Date(Date.now() - 5 * 60_000).toISOString();
    for (let i = 0; i < 30; i++) {
      const r = await fetch(`${first.url}/v1/telephony/generic`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_LINE_SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          line: 'demo',
          direction: 'inbound',
          from: `+7495505${String(i).padStart(4, '0')}`,
          to: '+74950000000',
          startedAt,
          duration: 0,
          status: 'missed',
          externalCallId: randomUUID(),
        }),
      });
      expect(r.status).toBe(202);
    }
    await vi.waitFor(
      async () => {
        const n = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM automation_timers WHERE state = 'pending'`,
        );
        expect(n.rows[0]!.n).toBe(30);
      },
      { timeout: 10_000, interval: 50 },
    );
    await stop(first);

    const [second, third] = await Promise.all([start(50), start(50)]);
    await vi.waitFor(async () => expect((await fired(second)) + (await fired(third))).toBe(30), {
      timeout: 20_000,
      interval: 100,
    });
    const states = await t.db.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM automation_timers GROUP BY state',
    );
    expect(states.rows).toEqual([{ state: 'fired', n: 30 }]);
    const entries = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM activities WHERE type = 'system' AND details->>'change' = 'automation'`,
    );
    expect(entries.rows[0]!.n).toBe(30);
    console.log(`restart: ${await fired(second)} + ${await fired(third)} firings by two new instances`);
  });
});
