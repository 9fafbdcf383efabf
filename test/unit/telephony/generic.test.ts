import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  buildTelephonyApp,
  busDown,
  fixture,
  type RecordingPublisher,
  telephonyLine,
} from '../../support/telephony-app.js';

const SECRET = 'line-secret-0123456789';
const ANSWERED = fixture('generic/answered.json');
const sign = (body: string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

let app: FastifyInstance;
let bus: RecordingPublisher;
beforeEach(async () => {
  ({ app, bus } = await buildTelephonyApp({
    lines: [telephonyLine(), telephonyLine({ key: 'old', active: false })],
  }));
});

const post = (payload: string, headers: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url: '/v1/telephony/generic',
    payload,
    headers: { 'content-type': 'application/json', ...headers },
  });
const withBody = (patch: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(ANSWERED), ...patch });

describe('POST /v1/telephony/generic', () => {
  it('accepts a call record with the Bearer secret and answers 202 after publishing', async () => {
    const res = await post(ANSWERED, { authorization: `Bearer ${SECRET}` });
    expect(res.statusCode).toBe(202);
    expect(bus.events).toHaveLength(1);
    const e = bus.events[0]!;
    expect(res.json()).toEqual({ id: e.id, status: 'accepted' });
    expect(e).toMatchObject({
      channel: 'phone',
      kind: 'call',
      direction: 'inbound',
      externalId: 'generic:1741936912.1234:ended:answered',
      occurredAt: '2025-03-14T07:24:07.000Z',
      sender: { identities: [{ kind: 'phone', value: '+74951234567', valid: true }] },
      raw: { contentType: 'application/json', body: ANSWERED },
      meta: { stage: 'ended', lineSource: 'Yandex Direct', lineRegionId: 7, createLeadOnOutbound: false },
    });
    expect(e.content.call).toMatchObject({
      status: 'answered',
      externalCallId: '1741936912.1234',
      durationSec: 135,
      talkSec: 120,
      waitSec: 15,
      recordingUrl: 'https://pbx.example.ru/recordings/call-1741936912.mp3',
      operatorExtension: '101',
    });
  });

  it('accepts a valid X-Signature (HMAC-SHA256 of the raw body), prefix and hex case aside', async () => {
    expect((await post(ANSWERED, { 'x-signature': sign(ANSWERED) })).statusCode).toBe(202);
    const upper = sign(ANSWERED).slice(7).toUpperCase();
    expect((await post(ANSWERED, { 'x-signature': upper })).statusCode).toBe(202);
  });

  it('refuses a tampered body, a signature made with another secret, a wrong Bearer, and no credentials', async () => {
    const tampered = ANSWERED.replace('"answered"', '"missed"');
    const cases = [
      post(tampered, { 'x-signature': sign(ANSWERED) }),
      post(ANSWERED, { 'x-signature': sign(ANSWERED, 'other-secret') }),
      post(ANSWERED, { authorization: 'Bearer nope' }),
      post(ANSWERED, {}),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
    }
    expect(bus.events).toEqual([]);
  });

  it('answers an unknown or inactive line exactly like a wrong secret (no probing of line keys)', async () => {
    const wrong = await post(ANSWERED, { authorization: 'Bearer nope' });
    const unknown = await post(withBody({ line: 'nope' }), { authorization: `Bearer ${SECRET}` });
    const inactive = await post(withBody({ line: 'old' }), { authorization: `Bearer ${SECRET}` });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());
    expect(inactive.json()).toEqual(wrong.json());
  });

  it('names the invalid fields with 400, after authentication, and publishes nothing', async () => {
    const body = withBody({ direction: 'sideways', duration: -1, externalCallId: '' });
    const res = await post(body, { authorization: `Bearer ${SECRET}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toEqual(
      expect.arrayContaining(['direction', 'duration', 'externalCallId']),
    );
    expect(res.json().error.message).toContain('direction');
    expect(bus.events).toEqual([]);
  });

  it('answers 400 naming `line` when the body has no line, and naming `body` for broken JSON', async () => {
    const noLine = await post(JSON.stringify({ direction: 'inbound' }), {
      authorization: `Bearer ${SECRET}`,
    });
    expect(noLine.statusCode).toBe(400);
    expect(noLine.json().error.fields).toEqual(['line']);
    const broken = await post('{"line": "main",', { authorization: `Bearer ${SECRET}` });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.fields).toEqual(['body']);
  });

  it('answers 422 for a contradictory timeline', async () => {
    const res = await post(withBody({ endedAt: '2025-03-14T10:00:00+03:00' }), {
      authorization: `Bearer ${SECRET}`,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual(['endedAt']);
    expect(bus.events).toEqual([]);
  });

  it('records a withheld caller without identity', async () => {
    const body = fixture('generic/missed-anonymous.json');
    const res = await post(body, { 'x-signature': sign(body) });
    expect(res.statusCode).toBe(202);
    const e = bus.events[0]!;
    expect(e.sender.identities).toEqual([]);
    expect(e.content.call).toMatchObject({ status: 'missed', anonymous: true, durationSec: 25, waitSec: 25 });
  });

  it('yields the same event id when the same delivery is retried', async () => {
    await post(ANSWERED, { authorization: `Bearer ${SECRET}` });
    await post(ANSWERED, { authorization: `Bearer ${SECRET}` });
    expect(bus.events).toHaveLength(2);
    expect(bus.events[0]!.id).toBe(bus.events[1]!.id);
  });

  it('answers 503 with Retry-After when the bus cannot take the event', async () => {
    bus.failWith = busDown();
    const res = await post(ANSWERED, { authorization: `Bearer ${SECRET}` });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(bus.events).toEqual([]);
  });
});
