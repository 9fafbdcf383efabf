import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import { buildCallEvent } from '../../connectors/telephony/call-event.js';
import { twilioCallRecord } from '../../connectors/telephony/twilio.adapter.js';
import { parseForm } from '../../connectors/webhook-http.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import type { Router } from '../../router/router.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { testRouter } from '../support/router.js';
import { pgAvailable } from '../support/services.js';
import { fixture, telephonyLine } from '../support/telephony-app.js';

/**
 * Two router instances (ROLE=router scaled out, or two partitions of one consumer) routing the first two events
 * of one call at the same moment, on PostgreSQL. The Twilio recording callback names no caller, so its Kafka
 * key differs from the status callbacks' and nothing orders the two. Events are built by the real adapter.
 */
const available = await pgAvailable();

describe.skipIf(!available)('telephony: events of one call routed concurrently by two routers', () => {
  const line = telephonyLine({ key: 'tw', regionId: undefined });
  let t: TestDatabase;
  let routers: [Router, Router];

  const event = (file: string, sid: string, from: string): InboundContact => {
    const p = new URLSearchParams(fixture(`twilio/${file}`));
    p.set('CallSid', sid);
    if (p.has('From')) p.set('From', from);
    const record = twilioCallRecord(parseForm(p.toString()), line, { contentType: 'x', body: '' }, 'RU');
    return buildCallEvent(record!, { defaultCountry: 'RU' });
  };
  const calls = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      sid: `CA${randomUUID().replaceAll('-', '')}`,
      from: `+7495${String(Date.now() % 1000).padStart(3, '0')}${String(i).padStart(4, '0')}`,
    }));
  const rows = async (sids: string[]) =>
    (
      await t.db.query<{ owner_type: string; talk: number | null; rec: string | null }>(
        `SELECT owner_type, (details->'call'->>'talkSec')::int AS talk, details->'call'->>'recordingUrl' AS rec
           FROM activities WHERE external_key = ANY($1::text[])`,
        [sids.map((s) => `call:tw:${s}`)],
      )
    ).rows;

  beforeAll(async () => {
    t = await createTestPg();
    await seedDemo(t.db);
    routers = [testRouter(t.db), testRouter(t.db)];
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('one after the other, completed + recording merge into one complete call activity', async () => {
    const list = calls(5);
    for (const c of list) {
      await routers[0].handle([event('status-completed.txt', c.sid, c.from)]);
      await routers[1].handle([event('recording-completed.txt', c.sid, c.from)]);
    }
    const got = await rows(list.map((c) => c.sid));
    expect(got).toHaveLength(5);
    expect(got.every((r) => r.owner_type === 'lead' && r.talk === 135 && r.rec?.startsWith('https://'))).toBe(
      true,
    );
  });

  // Regression: lockByExternalKeys used to lock only rows that already existed; it now locks the keys first.
  // Without that, neither transaction saw a row, both built the call from their own event alone, and the second
  // ON CONFLICT DO UPDATE replaced the first's facts (typically the recording URL, or talk time and owner).
  it('at the same time, completed + recording still merge (no lost talk time or recording)', async () => {
    const list = calls(20);
    for (const c of list) {
      await Promise.all([
        routers[0].handle([event('status-completed.txt', c.sid, c.from)]),
        routers[1].handle([event('recording-completed.txt', c.sid, c.from)]),
      ]);
    }
    const lost = (await rows(list.map((c) => c.sid))).filter((r) => r.talk !== 135 || !r.rec);
    expect(lost).toEqual([]);
  });
});
