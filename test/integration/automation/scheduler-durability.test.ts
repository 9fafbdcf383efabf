import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedDemo } from '../../../app/demo-seed.js';
import type { Database } from '../../../crm-core/db/database.js';
import { createPgDatabase } from '../../../crm-core/db/pg.js';
import { claimDueTimer } from '../../../crm-core/repositories/automation-timer.repository.js';
import { createRule, deleteRule } from '../../../crm-core/services/automation-rules.service.js';
import { createLogger } from '../../../lib/logger.js';
import { fireTimer } from '../../../router/automation/fire.js';
import { createScheduler } from '../../../router/automation/scheduler.js';
import { minutesAfter, testScheduler } from '../../support/automation.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { callEvent } from '../../support/events.js';
import { messageEvent } from '../../support/messages.js';
import { testRouter } from '../../support/router.js';
import { pgAvailable } from '../../support/services.js';

/**
 * The scheduler's promises, on real PostgreSQL: PostgreSQL is the timer store, so a restarted scheduler (a new
 * process: a new pool) fires what the old one left, once; a firing that dies before its commit leaves the timer
 * due; two schedulers on the same due timers fire each exactly once.
 */
describe.skipIf(!(await pgAvailable()))('automation scheduler durability on PostgreSQL', () => {
  let t: TestDatabase;
  const pools: Database[] = [];
  /** Another process's connection pool on the same database. */
  const otherProcess = () => {
    const db = createPgDatabase({ connectionString: t.url!, max: 4 });
    pools.push(db);
    return db;
  };
  const log = createLogger({ level: 'silent' });

  /** n missed calls at `at`, each planning a callback the SLA rule times. */
  async function missedCalls(prefix: string, n: number, at: string) {
    const router = testRouter(t.db);
    const events = Array.from({ length: n }, (_, i) =>
      callEvent({ from: `+7495${prefix}${String(i).padStart(4, '0')}`, status: 'missed', at }),
    );
    expect((await router.handle(events)).failed).toEqual([]);
  }
  const firedEntries = async (ruleId: number) =>
    (
      await t.db.query<{ activity_id: string; n: number }>(
        `SELECT details->>'activityId' AS activity_id, count(*)::int AS n FROM activities
          WHERE type = 'system' AND details->'by'->>'ruleId' = $1 GROUP BY 1`,
        [String(ruleId)],
      )
    ).rows;
  const timerStates = async (ruleId: number) =>
    (
      await t.db.query<{ state: string; n: number }>(
        'SELECT state, count(*)::int AS n FROM automation_timers WHERE rule_id = $1 GROUP BY state ORDER BY state',
        [ruleId],
      )
    ).rows;

  beforeAll(async () => {
    t = await createTestPg();
    await seedDemo(t.db);
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await t?.drop();
  });

  it('a timer survives a restart: the first scheduler stops before it is due, a new one fires it once', async () => {
    const rule = await createRule(t.db, {
      name: 'Calls 5 min',
      kind: 'first_response_sla',
      channel: 'phone',
      minutes: 5,
    });
    const at = new Date(Date.now() - 60_000).toISOString();
    await missedCalls('201', 20, at);
    expect(await timerStates(rule.id)).toEqual([{ state: 'pending', n: 20 }]);

    const first = testScheduler(t.db);
    first.start();
    expect(await first.runOnce(minutesAfter(at, 4))).toEqual([]);
    await first.stop();

    // A firing that dies before its commit (a crash mid-fire) leaves its timer due, and nothing on the timeline.
    await expect(
      t.db.transaction(async (tx) => {
        const claimed = await claimDueTimer(tx, minutesAfter(at, 6));
        expect(claimed).toBeDefined();
        await fireTimer(tx, claimed!, minutesAfter(at, 6));
        throw new Error('process killed');
      }),
    ).rejects.toThrow('process killed');
    expect(await firedEntries(rule.id)).toEqual([]);

    // The new process polls with its own clock, now past the due time.
    const fired: string[] = [];
    const second = createScheduler({
      db: otherProcess(),
      logger: log,
      pollMs: 20,
      now: () => minutesAfter(at, 6),
      onFired: (f) => fired.push(...f.map((x) => x.action)),
    });
    second.start();
    await vi.waitFor(() => expect(fired).toHaveLength(20), { timeout: 10_000, interval: 20 });
    await second.stop();
    expect(fired.every((a) => a === 'overdue')).toBe(true);
    expect(await timerStates(rule.id)).toEqual([{ state: 'fired', n: 20 }]);
    const entries = await firedEntries(rule.id);
    expect(entries).toHaveLength(20);
    expect(entries.every((e) => e.n === 1)).toBe(true);
    // Nothing fires twice, whoever looks again.
    expect(await testScheduler(otherProcess()).runOnce(minutesAfter(at, 60))).toEqual([]);
    await deleteRule(t.db, rule.id);
  });

  it('two schedulers racing on the same due timers fire each exactly once', async () => {
    const rule = await createRule(t.db, {
      name: 'Calls 5 min, next operator',
      kind: 'first_response_sla',
      channel: 'phone',
      minutes: 5,
      escalate: 'next_operator',
    });
    const at = new Date(Date.now() - 60_000).toISOString();
    await missedCalls('202', 150, at);
    const now = minutesAfter(at, 6);
    const a = createScheduler({ db: otherProcess(), logger: log, pollMs: 60_000, maxPerTick: 1_000 });
    const b = createScheduler({ db: otherProcess(), logger: log, pollMs: 60_000, maxPerTick: 1_000 });
    const [fa, fb] = await Promise.all([a.runOnce(now), b.runOnce(now)]);
    console.log(`two schedulers: ${fa.length} + ${fb.length} firings of 150 timers`);
    expect(fa.length + fb.length).toBe(150);
    expect([...fa, ...fb].every((f) => f.action === 'escalated_next_operator')).toBe(true);
    expect(await timerStates(rule.id)).toEqual([{ state: 'fired', n: 150 }]);
    const entries = await firedEntries(rule.id);
    expect(entries).toHaveLength(150);
    expect(entries.every((e) => e.n === 1)).toBe(true);
    // Each escalation moved its callback once: Moscow's round robin alternates anna and boris, so every callback
    // now belongs to the operator it did not start with, exactly as one escalation leaves it.
    const moved = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM activities WHERE type = 'callback' AND jsonb_array_length(details->'changes') = 1
          AND (details->'changes'->0->'by'->>'ruleId')::int = $1`,
      [rule.id],
    );
    expect(moved.rows[0]!.n).toBe(150);
    expect([...(await a.runOnce(now)), ...(await b.runOnce(now))]).toEqual([]);
  });

  it('schedulers escalating while routers write to the same conversations and region: no deadlock, each timer once', async () => {
    const rule = await createRule(t.db, {
      name: 'WhatsApp 5 min, next operator',
      kind: 'first_response_sla',
      channel: 'whatsapp',
      minutes: 5,
      escalate: 'next_operator',
    });
    const at = new Date(Date.now() - 10 * 60_000);
    const chats = Array.from({ length: 80 }, (_, i) => `7495303${String(i).padStart(4, '0')}`);
    const router = testRouter(t.db);
    expect(
      (
        await router.handle(
          chats.map((chat, i) => messageEvent({ channel: 'whatsapp', chat, id: `w-${i}`, at })),
        )
      ).failed,
    ).toEqual([]);
    const now = minutesAfter(at, 6);
    // Meanwhile: the same clients write again (their conversation activities are locked by the router) and new
    // Moscow clients arrive (the region's round-robin pointer, which escalation moves too).
    const routers = [testRouter(otherProcess()), testRouter(otherProcess())];
    const traffic = routers.map(async (r, k) => {
      for (let b = 0; b < 8; b++) {
        const again = chats
          .filter((_, i) => i % 8 === b)
          .map((chat, i) =>
            messageEvent({ channel: 'whatsapp', chat, id: `again-${k}-${b}-${i}`, at: minutesAfter(at, 1) }),
          );
        const fresh = Array.from({ length: 5 }, (_, i) =>
          callEvent({
            from: `+7495304${k}${b}${String(i).padStart(2, '0')}`,
            status: 'answered',
            talkSec: 90,
          }),
        );
        expect((await r.handle([...again, ...fresh])).failed).toEqual([]);
      }
    });
    const a = createScheduler({ db: otherProcess(), logger: log, pollMs: 60_000, maxPerTick: 1_000 });
    const b = createScheduler({ db: otherProcess(), logger: log, pollMs: 60_000, maxPerTick: 1_000 });
    const [fa, fb] = await Promise.all([a.runOnce(now), b.runOnce(now), ...traffic]);
    // A client who wrote again at +1 is still waiting since +0 (nobody answered): due at +5, overdue at +6.
    expect((fa as unknown[]).length + (fb as unknown[]).length).toBe(80);
    expect(await timerStates(rule.id)).toEqual([{ state: 'fired', n: 80 }]);
    const entries = await firedEntries(rule.id);
    expect(entries).toHaveLength(80);
    expect(entries.every((e) => e.n === 1)).toBe(true);
  });
});
