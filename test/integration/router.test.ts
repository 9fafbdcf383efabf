import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import { createLogger } from '../../lib/logger.js';
import { createRouter, type Router } from '../../router/router.js';
import { createTestPg, createTestPglite, type TestDatabase } from '../support/db.js';
import { callEvent, formEvent } from '../support/events.js';
import { pgAvailable } from '../support/services.js';

const logger = createLogger({ level: 'silent' });
const backends = [
  { name: 'PGlite', make: createTestPglite, available: true },
  { name: 'PostgreSQL', make: () => createTestPg(), available: await pgAvailable() },
];

for (const backend of backends) {
  describe.skipIf(!backend.available)(`router on ${backend.name}`, () => {
    let t: TestDatabase;
    let router: Router;
    let ops: Record<string, number>;
    const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await t.db.query<R>(sql, params)).rows;

    beforeAll(async () => {
      t = await backend.make();
      const seeded = await seedDemo(t.db);
      ops = Object.fromEntries(seeded!.operators.map((o) => [o.login, o.id]));
      router = createRouter({ db: t.db, logger, callbackDeadlineMin: 30, meaningfulCallSec: 60 });
    });
    afterAll(async () => t?.drop());

    it('creates one lead for a new client, in the region of the form, with an assigned operator', async () => {
      const e = formEvent({ phone: '+7 (495) 123-45-67', name: 'Ivan', region: 'Moscow' });
      expect(await router.handle([e])).toEqual({ failed: [] });
      const [lead] = await q<{
        id: number;
        responsible_id: number;
        region_id: number;
        assignment_reason: string;
        utm: object;
      }>(
        `SELECT l.* FROM leads l JOIN identities i ON i.owner_type = 'lead' AND i.owner_id = l.id WHERE i.value = '+74951234567'`,
      );
      expect(lead).toBeDefined();
      expect([ops.anna, ops.boris]).toContain(lead!.responsible_id);
      expect(lead!.assignment_reason).toMatch(/^round_robin/);
      expect(lead!.utm).toMatchObject({ source: 'google' });
      const acts = await q(`SELECT * FROM activities WHERE owner_type = 'lead' AND owner_id = $1`, [
        lead!.id,
      ]);
      expect(acts).toHaveLength(1);
      expect(acts[0]).toMatchObject({
        type: 'form',
        state: 'completed',
        responsible_id: lead!.responsible_id,
      });
    });

    it('lands a second contact written in another format on the same client, with the same operator', async () => {
      const [before] = await q<{ n: number }>('SELECT count(*)::int AS n FROM leads');
      const call = callEvent({ from: '8 495 123 45 67', status: 'answered', talkSec: 90 });
      await router.handle([call]);
      const [after] = await q<{ n: number }>('SELECT count(*)::int AS n FROM leads');
      expect(after!.n).toBe(before!.n);
      const [act] = await q<{
        owner_type: string;
        owner_id: number;
        responsible_id: number;
        details: { meaningful: boolean };
      }>('SELECT a.* FROM activities a WHERE event_id = $1', [call.id]);
      const [lead] = await q<{ id: number; responsible_id: number }>(
        `SELECT l.* FROM leads l JOIN identities i ON i.owner_id = l.id WHERE i.value = '+74951234567'`,
      );
      expect(act).toMatchObject({
        owner_type: 'lead',
        owner_id: lead!.id,
        responsible_id: lead!.responsible_id,
      });
      expect(act!.details.meaningful).toBe(true);
    });

    it('adds a known client’s new identity (an email) to them', async () => {
      const e = formEvent({ phone: '84951234567', email: ' Ivan@Example.COM ' });
      await router.handle([e]);
      const rows = await q<{ kind: string; value: string; owner_id: number }>(
        `SELECT kind, value, owner_id FROM identities WHERE owner_type = 'lead' ORDER BY id`,
      );
      const phone = rows.find((r) => r.value === '+74951234567')!;
      expect(rows.find((r) => r.value === 'ivan@example.com')?.owner_id).toBe(phone.owner_id);
    });

    it('ignores a redelivered event', async () => {
      const e = formEvent({ phone: '+74957770000' });
      await router.handle([e]);
      const count = async () => (await q<{ n: number }>('SELECT count(*)::int AS n FROM activities'))[0]!.n;
      const n = await count();
      await router.handle([e, e]);
      expect(await count()).toBe(n);
    });

    it('makes one lead when two contacts of a new client arrive in the same batch', async () => {
      const a = formEvent({ phone: '+7 812 555 11 22', city: 'Saint Petersburg' });
      const b = callEvent({ from: '88125551122', status: 'missed' });
      await router.handle([a, b]);
      const leads = await q(`SELECT DISTINCT owner_id FROM identities WHERE value = '+78125551122'`);
      expect(leads).toHaveLength(1);
      const [lead] = await q<{ responsible_id: number; region_id: number }>(
        'SELECT * FROM leads WHERE id = $1',
        [(leads[0] as { owner_id: number }).owner_id],
      );
      expect(lead!.responsible_id).toBe(ops.vera);
      // both contacts, and the callback of the missed call, are in front of that operator
      const acts = await q<{ responsible_id: number }>(
        'SELECT responsible_id FROM activities WHERE owner_type = $1 AND owner_id = $2',
        ['lead', (leads[0] as { owner_id: number }).owner_id],
      );
      expect(acts.map((a) => a.responsible_id)).toEqual([ops.vera, ops.vera, ops.vera]);
    });

    it('spreads new clients round robin within ±1 and records why', async () => {
      const before = await q<{ responsible_id: number; n: number }>(
        `SELECT responsible_id, count(*)::int AS n FROM leads WHERE region_id = (SELECT id FROM regions WHERE code = 'msk') GROUP BY 1`,
      );
      const events = Array.from({ length: 41 }, (_, i) =>
        formEvent({ phone: `+7495${String(2000000 + i)}` }),
      );
      await router.handle(events.slice(0, 20));
      await router.handle(events.slice(20));
      const after = await q<{ responsible_id: number; n: number }>(
        `SELECT responsible_id, count(*)::int AS n FROM leads WHERE region_id = (SELECT id FROM regions WHERE code = 'msk') GROUP BY 1`,
      );
      const delta = (id: number) =>
        (after.find((r) => r.responsible_id === id)?.n ?? 0) -
        (before.find((r) => r.responsible_id === id)?.n ?? 0);
      expect(delta(ops.anna!) + delta(ops.boris!)).toBe(41);
      expect(Math.abs(delta(ops.anna!) - delta(ops.boris!))).toBeLessThanOrEqual(1);
    });

    it('falls back to the region default when nobody is online, then to the global default', async () => {
      await t.db.query(`UPDATE operators SET status = 'offline' WHERE login IN ('anna', 'boris')`);
      await router.handle([formEvent({ phone: '+74953330001' })]);
      const [lead] = await q<{ responsible_id: number; assignment_reason: string }>(
        `SELECT l.* FROM leads l JOIN identities i ON i.owner_id = l.id WHERE i.value = '+74953330001'`,
      );
      expect(lead).toMatchObject({
        responsible_id: ops.anna,
        assignment_reason: expect.stringMatching(/^region_default/),
      });
      await router.handle([formEvent({ phone: '+12025550143' })]); // no region matches
      const [other] = await q<{ responsible_id: number; assignment_reason: string }>(
        `SELECT l.* FROM leads l JOIN identities i ON i.owner_id = l.id WHERE i.value = '+12025550143'`,
      );
      expect(other).toMatchObject({ responsible_id: ops.anna, assignment_reason: 'global_default' });
      await t.db.query(`UPDATE operators SET status = 'online'`);
    });

    it('plans one callback for a missed call and completes it when the client is reached', async () => {
      const callId = 'cb-1';
      const missed = callEvent({
        from: '+74956660001',
        callId,
        status: 'missed',
        at: '2026-11-23T10:00:00Z',
      });
      await router.handle([missed]);
      await router.handle([
        callEvent({
          from: '+74956660001',
          callId,
          status: 'missed',
          stage: 'hangup-retry',
          at: '2026-11-23T10:00:05Z',
        }),
      ]);
      const cbs = await q<{ state: string; deadline: Date }>(
        `SELECT * FROM activities WHERE type = 'callback' AND external_key = 'callback:demo:cb-1'`,
      );
      expect(cbs).toHaveLength(1);
      expect(cbs[0]!.state).toBe('planned');
      expect(new Date(cbs[0]!.deadline).toISOString()).toBe('2026-11-23T10:30:00.000Z');
      await router.handle([
        callEvent({ from: '+74956660001', callId: 'cb-2', status: 'answered', at: '2026-11-23T10:10:00Z' }),
      ]);
      const [cb] = await q<{ state: string }>(
        `SELECT * FROM activities WHERE external_key = 'callback:demo:cb-1'`,
      );
      expect(cb!.state).toBe('completed');
    });

    it('folds shuffled and repeated events of one call into one activity', async () => {
      const callId = 'merge-1';
      const base = { from: '+74956660002', callId };
      const events = [
        callEvent({ ...base, status: 'ringing', stage: 'ringing', at: '2026-11-23T11:00:00Z' }),
        callEvent({ ...base, status: 'answered', stage: 'answered', at: '2026-11-23T11:00:10Z' }),
        callEvent({ ...base, status: 'answered', stage: 'hangup', at: '2026-11-23T11:02:10Z', talkSec: 120 }),
        callEvent({
          ...base,
          status: 'answered',
          stage: 'recording',
          recordingUrl: 'https://rec.example/r1.mp3',
          at: '2026-11-23T11:02:30Z',
        }),
      ];
      const shuffled = [events[3]!, events[1]!, events[3]!, events[0]!, events[2]!, events[1]!];
      await router.handle(shuffled.slice(0, 2));
      await router.handle(shuffled.slice(2));
      const rows = await q<{
        details: { call: Record<string, unknown>; result: string; meaningful: boolean };
      }>(`SELECT * FROM activities WHERE external_key = 'call:demo:merge-1'`);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.details.result).toBe('answered');
      expect(rows[0]!.details.call).toMatchObject({
        talkSec: 120,
        recordingUrl: 'https://rec.example/r1.mp3',
      });
      expect(rows[0]!.details.meaningful).toBe(true);
    });

    it('does not invent an identity for a withheld number: the call waits in the line queue', async () => {
      const e = callEvent({ from: '', status: 'missed' });
      await router.handle([e]);
      const [act] = await q<{ owner_type: string; owner_id: number | null; source_key: string }>(
        'SELECT * FROM activities WHERE event_id = $1',
        [e.id],
      );
      expect(act).toMatchObject({ owner_type: 'queue', owner_id: null, source_key: 'demo' });
    });

    it('resolves a converted lead to its contact and records duplicate candidates', async () => {
      await router.handle([formEvent({ phone: '+74958880001', email: 'a@conv.example' })]);
      const [lead] = await q<{ id: number }>(
        `SELECT owner_id AS id FROM identities WHERE value = '+74958880001'`,
      );
      const [contact] = await q<{ id: number }>(
        `INSERT INTO contacts (name, responsible_id) VALUES ('Conv', $1) RETURNING id`,
        [ops.vera],
      );
      await t.db.query(`UPDATE leads SET status = 'converted', converted_contact_id = $1 WHERE id = $2`, [
        contact!.id,
        lead!.id,
      ]);
      await router.handle([formEvent({ phone: '+74958880002', email: 'b@conv.example' })]); // another open lead
      const e = formEvent({ phone: '+74958880001', email: 'b@conv.example' });
      await router.handle([e]);
      const [act] = await q<{ owner_type: string; owner_id: number; responsible_id: number }>(
        'SELECT * FROM activities WHERE event_id = $1',
        [e.id],
      );
      expect(act).toMatchObject({ owner_type: 'contact', owner_id: contact!.id, responsible_id: ops.vera });
      const dups = await q('SELECT * FROM duplicate_candidates WHERE event_id = $1', [e.id]);
      expect(dups).toHaveLength(1);
      expect(dups[0]).toMatchObject({ chosen_type: 'contact', other_type: 'lead' });
    });
  });
}
