import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import { finish, register } from '../../connectors/telephony/bitrix24-methods.js';
import { buildCallEvent, type CallRecord } from '../../connectors/telephony/call-event.js';
import { ctiCallRecord } from '../../connectors/telephony/cti.adapter.js';
import { freeswitchCallRecord } from '../../connectors/telephony/freeswitch.adapter.js';
import { GenericCallSchema, genericCallRecord } from '../../connectors/telephony/generic.adapter.js';
import { twilioCallRecord } from '../../connectors/telephony/twilio.adapter.js';
import { parseForm } from '../../connectors/webhook-http.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { callKey } from '../../router/call-merge.js';
import type { Router } from '../../router/router.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { testRouter } from '../support/router.js';
import { pgAvailable } from '../support/services.js';
import { fixture, telephonyLine } from '../support/telephony-app.js';

/**
 * Two events of one vendor call that name different client numbers (a CTI newCall from one number and its hangup
 * from another, a FreeSWITCH b-leg reporting another caller id, a Bitrix24 call registered again with another
 * PHONE_NUMBER...). One call is one activity on one owner: the first event routed decides the owner, the other
 * number is recorded on the call (details.call.otherNumbers) and never becomes a client, so no lead is left
 * without an activity. Events are built by the real vendor adapters; routed on PostgreSQL in both orders, in one
 * batch and in two, and by two routers at the same moment.
 */
const available = await pgAvailable();
const LINE = telephonyLine({ key: 'num', regionId: undefined });
const RAW = { contentType: 'text/plain', body: '' };
const hex = () => randomUUID().replaceAll('-', '');
const event = (r: CallRecord) => buildCallEvent(r, { defaultCountry: 'RU' });
const form = (fields: Record<string, string>) => parseForm(new URLSearchParams(fields).toString());

/** Per vendor: the first and a later event of one call, the first naming number `a`, the later `b`. */
const VENDORS: Record<string, (a: string, b: string) => [InboundContact, InboundContact]> = {
  generic: (a, b) => {
    const base = JSON.parse(fixture('generic/answered.json'));
    const externalCallId = `gen-${hex()}`;
    const record = (from: string, over: object) =>
      genericCallRecord(GenericCallSchema.parse({ ...base, line: LINE.key, externalCallId, from, ...over }), {
        line: LINE,
        raw: RAW,
      });
    // A first record of a missed call, then a corrected one (answered) naming another caller.
    const missed = { status: 'missed', answeredAt: undefined, recordingUrl: undefined };
    return [event(record(a, missed)), event(record(b, {}))];
  },
  cti: (a, b) => {
    const callId = hex();
    const record = (fields: Record<string, string>) =>
      ctiCallRecord(form({ to: '74957654321', direction: 'in', callId, ...fields }), LINE, RAW, {
        country: 'RU',
        now: new Date(),
      }).record;
    return [
      event(record({ event: 'newCall', from: a })),
      event(record({ event: 'hangup', from: b, cause: 'cancel' })),
    ];
  },
  bitrix24: (a, b) => {
    const external = `b24-${hex()}`;
    const registered = (phone: string) =>
      register(
        form({
          USER_PHONE_INNER: '101',
          PHONE_NUMBER: phone,
          TYPE: '2',
          CALL_START_DATE: new Date(Date.now() - 60_000).toISOString(),
          EXTERNAL_CALL_ID: external,
        }),
        LINE,
        RAW,
        new Date(),
      );
    // The PBX registered the same call again naming another number, and finished it with that CALL_ID.
    const again = registered(b);
    const finished = finish(
      form({
        CALL_ID: String(again.result.CALL_ID),
        USER_PHONE_INNER: '101',
        DURATION: '0',
        STATUS_CODE: '304',
      }),
      LINE,
      RAW,
      new Date(),
    );
    return [event(registered(a).record), event(finished.record)];
  },
  freeswitch: (a, b) => {
    const [aUuid, bUuid] = [randomUUID(), randomUUID()];
    const leg = (name: string, caller: string) => {
      const cdr = JSON.parse(
        fixture(`freeswitch/${name}.json`)
          .replaceAll('a1f3c2e4-5b6d-4e7f-8a9b-0c1d2e3f4a5b', aUuid)
          .replaceAll('b7e2d1c0-9f8e-4d7c-a6b5-4c3d2e1f0a9b', bUuid)
          .replaceAll('74951234567', caller),
      );
      const r = freeswitchCallRecord(cdr, LINE, RAW, 'RU');
      if ('ignored' in r) throw new Error(r.ignored);
      return event(r);
    };
    // The b-leg reports the caller from the a-leg's view: here a caller id that changed in between.
    return [leg('a-leg', a), leg('b-leg', b)];
  },
  twilio: (a, b) => {
    const sid = `CA${hex()}`;
    const status = (file: string, from: string) => {
      const p = new URLSearchParams(fixture(`twilio/${file}`));
      for (const [k, v] of Object.entries({ CallSid: sid, From: from, Caller: from })) p.set(k, v);
      return event(twilioCallRecord(parseForm(p.toString()), LINE, RAW, 'RU')!);
    };
    return [status('status-ringing.txt', a), status('status-completed.txt', b)];
  },
};

describe.skipIf(!available)(
  'calls whose events name different numbers: one call, one activity, one owner',
  () => {
    let t: TestDatabase;
    let routers: [Router, Router];
    let seq = 0;
    /** A fresh pair of numbers per scenario, as the CTI connector receives them (no plus sign). */
    const numbers = (): [string, string] => {
      seq += 2;
      return [`7916555${String(seq - 1).padStart(4, '0')}`, `7916555${String(seq).padStart(4, '0')}`];
    };
    const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await t.db.query<R>(sql, params)).rows;

    /** What routing one call must leave behind, whichever number ended up owning it. */
    async function expectOneOwner(events: InboundContact[], [a, b]: [string, string]) {
      const key = callKey(events[0]!)!;
      const acts = await q<{
        id: number;
        owner_type: string;
        owner_id: number;
        subject: string;
        details: { call: { otherNumbers?: string[]; from?: string } };
      }>('SELECT id, owner_type, owner_id, subject, details FROM activities WHERE external_key = $1', [key]);
      expect(acts).toHaveLength(1);
      const act = acts[0]!;
      expect(act.owner_type).toBe('lead');
      const e164 = [`+${a}`, `+${b}`];
      const held = await q<{ value: string; owner_type: string; owner_id: number }>(
        'SELECT value, owner_type, owner_id FROM identities WHERE value = ANY($1::text[])',
        [e164],
      );
      // Exactly one of the two numbers became a client, the call's owner; the other is only on the call.
      expect(held).toHaveLength(1);
      expect(held[0]).toMatchObject({ owner_type: 'lead', owner_id: act.owner_id });
      const other = e164.find((n) => n !== held[0]!.value)!;
      expect(act.details.call.otherNumbers).toEqual([other]);
      expect(act.subject).not.toContain(other);
      const outcomes = await q<{ owner_type: string; owner_id: number }>(
        'SELECT owner_type, owner_id FROM processed_events WHERE event_id = ANY($1::uuid[])',
        [events.map((e) => e.id)],
      );
      expect(outcomes).toEqual(events.map(() => ({ owner_type: 'lead', owner_id: act.owner_id })));
      // A callback for a missed call goes to the same owner and names the owner's number.
      const callbacks = await q<{ owner_id: number; subject: string }>(
        'SELECT owner_id, subject FROM activities WHERE external_key = $1',
        [`callback:${key.slice('call:'.length)}`],
      );
      for (const c of callbacks)
        expect(c).toEqual({ owner_id: act.owner_id, subject: `Call back ${held[0]!.value}` });
      await expectNoEmptyLeads();
    }
    async function expectNoEmptyLeads() {
      const empty = await q(
        `SELECT l.id FROM leads l
        WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE a.owner_type = 'lead' AND a.owner_id = l.id)`,
      );
      expect(empty).toEqual([]);
    }

    beforeAll(async () => {
      t = await createTestPg();
      await seedDemo(t.db);
      routers = [testRouter(t.db), testRouter(t.db)];
    });
    afterAll(async () => {
      await t?.drop();
    });

    const ROUTINGS: Record<string, (pair: [InboundContact, InboundContact]) => Promise<unknown>> = {
      'one batch, first event first': ([x, y]) => routers[0].handle([x, y]),
      'one batch, later event first': ([x, y]) => routers[0].handle([y, x]),
      'two batches, first event first': async ([x, y]) => {
        await routers[0].handle([x]);
        await routers[1].handle([y]);
      },
      'two batches, later event first': async ([x, y]) => {
        await routers[0].handle([y]);
        await routers[1].handle([x]);
      },
    };

    for (const [vendor, pairOf] of Object.entries(VENDORS)) {
      for (const [routing, route] of Object.entries(ROUTINGS)) {
        it(`${vendor}: ${routing}`, async () => {
          const nums = numbers();
          const pair = pairOf(...nums);
          expect(callKey(pair[0])).toBe(callKey(pair[1]));
          await route(pair);
          await expectOneOwner(pair, nums);
        });
      }

      it(`${vendor}: two routers at the same moment, one event each`, async () => {
        const calls = Array.from({ length: 6 }, () => {
          const nums = numbers();
          return { nums, pair: pairOf(...nums) };
        });
        await Promise.all(
          calls.flatMap(({ pair: [x, y] }, i) =>
            i % 2
              ? [routers[0].handle([x]), routers[1].handle([y])]
              : [routers[1].handle([y]), routers[0].handle([x])],
          ),
        );
        for (const c of calls) await expectOneOwner(c.pair, c.nums);
      });
    }

    it('a number that was only recorded on a call becomes a client when it contacts us on its own', async () => {
      const nums = numbers();
      const pair = VENDORS.cti!(...nums);
      await routers[0].handle(pair);
      const [later] = VENDORS.cti!(nums[1], nums[1]);
      await routers[1].handle([later!]);
      const rows = await q<{ value: string; owner_id: number }>(
        'SELECT value, owner_id FROM identities WHERE value = ANY($1::text[]) ORDER BY value',
        [nums.map((n) => `+${n}`)],
      );
      expect(rows).toHaveLength(2);
      expect(rows[0]!.owner_id).not.toBe(rows[1]!.owner_id);
      await expectNoEmptyLeads();
    });
  },
);
