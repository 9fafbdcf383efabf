import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  buildTelephonyApp,
  fixture,
  type RecordingPublisher,
  telephonyLine,
} from '../../support/telephony-app.js';

const SECRET = 'line-secret-0123456789';
const CALL = '4f8a1c2e9b7d3f6a0e5c8b2d1a7f9e3c';
const FORM = 'application/x-www-form-urlencoded';

let app: FastifyInstance;
let bus: RecordingPublisher;
beforeEach(async () => {
  ({ app, bus } = await buildTelephonyApp({
    lines: [telephonyLine({ options: { blockedNumbers: ['+7 495 000-00-01', '74951234567', 42] } })],
  }));
});

const post = (payload: string, contentType: string, token = SECRET) =>
  app.inject({
    method: 'POST',
    url: `/v1/telephony/cti/main/${token}`,
    payload,
    headers: { 'content-type': contentType },
  });
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('POST /v1/telephony/cti/:line/:token (Zammad generic CTI)', () => {
  it('records newCall → answer → hangup as the three stages of one call and answers {}', async () => {
    const line = telephonyLine({ key: 'sales', options: {} });
    ({ app, bus } = await buildTelephonyApp({ lines: [line] }));
    const to = (payload: string, type: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/telephony/cti/sales/${SECRET}`,
        payload,
        headers: { 'content-type': type },
      });
    const answers = [
      await to(fixture('cti/newCall-in.urlencoded'), FORM),
      await to(fixture('cti/answer-in.json'), 'application/json'),
      await to(fixture('cti/hangup-in.urlencoded'), FORM),
    ];
    for (const res of answers) {
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('{}');
    }
    expect(
      bus.events.map((e) => [e.meta?.stage, e.content.call?.status, e.content.call?.externalCallId]),
    ).toEqual([
      ['ringing', 'ringing', CALL],
      ['answered', 'answered', CALL],
      ['ended', 'answered', CALL], // the hangup uses call_id, the alias
    ]);
    const [ringing, answered, ended] = bus.events;
    expect(ringing).toMatchObject({
      direction: 'inbound',
      externalId: `cti:${CALL}:ringing:ringing`,
      sender: { identities: [{ kind: 'phone', value: '+74951234567', valid: true }] },
      meta: { operatorNames: ['Anna Smirnova', 'Oleg Ivanov'] },
    });
    expect(ringing!.content.call?.operatorExtension).toBe('Anna Smirnova');
    expect(answered!.content.call?.operatorExtension).toBe('101');
    expect(ended!.content.call?.endedAt).toBeDefined();
  });

  it('rejects a blocked caller exactly as Zammad does, and still records the call', async () => {
    const res = await post(fixture('cti/newCall-in.urlencoded'), FORM);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ action: 'reject', reason: 'busy' });
    expect(bus.events[0]).toMatchObject({
      externalId: `cti:${CALL}:ended:busy`,
      content: { call: { status: 'busy' } },
      meta: { stage: 'ended', blocked: true },
    });
  });

  it('matches the block list after normalisation, and only for inbound newCall', async () => {
    const blocked = await post(
      form({ event: 'newCall', from: '84950000001', to: '1', direction: 'in', callId: 'c1' }),
      FORM,
    );
    expect(blocked.json()).toEqual({ action: 'reject', reason: 'busy' });
    const out = await post(
      form({ event: 'newCall', from: '101', to: '74951234567', direction: 'out', callId: 'c2' }),
      FORM,
    );
    expect(out.json()).toEqual({});
    const answer = await post(
      form({ event: 'answer', from: '74951234567', to: '1', direction: 'in', callId: 'c3' }),
      FORM,
    );
    expect(answer.json()).toEqual({});
  });

  it.each([
    ['normalClearing', 'answered'],
    ['forwarded', 'answered'],
    ['busy', 'busy'],
    ['cancel', 'missed'],
    ['noAnswer', 'missed'],
    ['congestion', 'failed'],
    ['notFound', 'failed'],
    ['somethingNew', 'missed'],
    ['constructor', 'missed'],
  ])('maps the hangup cause %s to %s', async (cause, status) => {
    await post(
      form({ event: 'hangup', from: '79161234567', to: '1', direction: 'in', callId: 'c', cause }),
      FORM,
    );
    expect(bus.events[0]!.content.call?.status).toBe(status);
  });

  it('takes the client from `to` on outbound calls (JSON body, user as a string)', async () => {
    await post(fixture('cti/hangup-out-busy.json'), 'application/json');
    const e = bus.events[0]!;
    expect(e.direction).toBe('outbound');
    expect(e.sender.identities[0]?.value).toBe('+79161234567');
    expect(e.content.call).toMatchObject({ status: 'busy', operatorExtension: 'Oleg Ivanov' });
  });

  it('records an anonymous caller without identity', async () => {
    await post(fixture('cti/newCall-anonymous.urlencoded'), FORM);
    expect(bus.events[0]!.sender.identities).toEqual([]);
    expect(bus.events[0]!.content.call?.anonymous).toBe(true);
  });

  it('refuses a wrong token or an unknown line with 401 and publishes nothing', async () => {
    expect((await post(fixture('cti/answer-in.json'), 'application/json', 'wrong')).statusCode).toBe(401);
    const unknown = await app.inject({
      method: 'POST',
      url: `/v1/telephony/cti/nope/${SECRET}`,
      payload: fixture('cti/answer-in.json'),
      headers: { 'content-type': 'application/json' },
    });
    expect(unknown.statusCode).toBe(401);
    expect(bus.events).toEqual([]);
  });

  it('answers 422 for an invalid direction (as Zammad) and 400 for a missing callId or event', async () => {
    const dir = await post(
      form({ event: 'newCall', from: '1', to: '2', direction: 'up', callId: 'c' }),
      FORM,
    );
    expect(dir.statusCode).toBe(422);
    expect(dir.json().error.fields).toEqual(['direction']);
    const noId = await post(form({ event: 'newCall', from: '1', to: '2', direction: 'in' }), FORM);
    expect(noId.statusCode).toBe(400);
    expect(noId.json().error.fields).toEqual(['callId']);
    for (const event of ['transfer', 'toString']) {
      const noEvent = await post(form({ event, direction: 'in', callId: 'c' }), FORM);
      expect(noEvent.json().error.fields).toEqual(['event']);
    }
    expect(bus.events).toEqual([]);
  });

  it('yields the same event id when the PBX repeats an event', async () => {
    await post(fixture('cti/answer-in.json'), 'application/json');
    await post(fixture('cti/answer-in.json'), 'application/json');
    expect(bus.events[0]!.id).toBe(bus.events[1]!.id);
  });
});
