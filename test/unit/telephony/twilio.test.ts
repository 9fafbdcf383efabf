import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  twilioSignature,
  urlVariants,
  validTwilioSignature,
} from '../../../connectors/telephony/twilio-signature.js';
import {
  buildTelephonyApp,
  fixture,
  PUBLIC_URL,
  type RecordingPublisher,
  telephonyLine,
} from '../../support/telephony-app.js';

const AUTH_TOKEN = 'twilio-auth-token-5f2c';
const PARENT = 'CA7c2e9f4b1a6d3e8c5b0f7a2d9e4c1b63';

/** Computed here independently of the connector: Twilio's documented algorithm, step by step. */
function expectedSignature(token: string, url: string, body: string): string {
  const pairs = [...new URLSearchParams(body)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHmac('sha1', token)
    .update(url + pairs.map(([k, v]) => `${k}${v}`).join(''))
    .digest('base64');
}

describe('Twilio request signature', () => {
  const docParams: [string, string][] = [
    ['CallSid', 'CA1234567890ABCDE'],
    ['Caller', '+12349013030'],
    ['Digits', '1234'],
    ['From', '+12349013030'],
    ['To', '+18005551212'],
  ];
  const docUrl = 'https://mycompany.com/myapp.php?foo=1&bar=2';

  it("matches the example from Twilio's security documentation", () => {
    expect(twilioSignature('12345', docUrl, docParams)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    // Parameter order on the wire does not matter: they are sorted before signing.
    expect(twilioSignature('12345', docUrl, [...docParams].reverse())).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  });

  it('rejects tampered vectors: another value, another URL, another token', () => {
    const sig = '0/KCTR6DLpKmkAf8muzZqo1nDgQ=';
    const tampered = new URLSearchParams(docParams);
    tampered.set('Digits', '1235');
    expect(validTwilioSignature('12345', docUrl, new URLSearchParams(docParams), sig)).toBe(true);
    expect(validTwilioSignature('12345', docUrl, tampered, sig)).toBe(false);
    expect(validTwilioSignature('12345', `${docUrl}&baz=3`, new URLSearchParams(docParams), sig)).toBe(false);
    expect(validTwilioSignature('54321', docUrl, new URLSearchParams(docParams), sig)).toBe(false);
    expect(validTwilioSignature('12345', docUrl, new URLSearchParams(docParams), undefined)).toBe(false);
  });

  it('accepts the URL with and without the default port, never another port', () => {
    expect(urlVariants('https://a.example/x?y=1')).toEqual([
      'https://a.example/x?y=1',
      'https://a.example:443/x?y=1',
    ]);
    expect(urlVariants('https://a.example:443/x')).toEqual([
      'https://a.example:443/x',
      'https://a.example/x',
    ]);
    expect(urlVariants('http://a.example:8080/x')).toEqual(['http://a.example:8080/x']);
  });
});

describe('POST /v1/telephony/twilio/:line', () => {
  let app: FastifyInstance;
  let bus: RecordingPublisher;
  beforeEach(async () => {
    ({ app, bus } = await buildTelephonyApp({
      lines: [
        telephonyLine({ options: { authToken: AUTH_TOKEN } }),
        telephonyLine({ key: 'proxied', options: { twilioUrl: 'https://voice.example.org/hooks/' } }),
      ],
    }));
  });

  const send = (name: string, opts: { line?: string; query?: string; sig?: string; base?: string } = {}) => {
    const body = fixture(`twilio/${name}`);
    const path = `/v1/telephony/twilio/${opts.line ?? 'main'}${opts.query ?? ''}`;
    const token = opts.line === 'proxied' ? telephonyLine().secret : AUTH_TOKEN;
    const sig = opts.sig ?? expectedSignature(token, `${opts.base ?? PUBLIC_URL}${path}`, body);
    return app.inject({
      method: 'POST',
      url: path,
      payload: body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
    });
  };

  it('answers empty TwiML and publishes the ringing stage', async () => {
    const res = await send('status-ringing.txt');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(bus.events[0]).toMatchObject({
      externalId: `twilio:${PARENT}:ringing:ringing`,
      direction: 'inbound',
      occurredAt: '2025-03-14T07:21:52.000Z',
      sender: { identities: [{ kind: 'phone', value: '+74951234567' }] },
      content: { call: { status: 'ringing', externalCallId: PARENT, startedAt: '2025-03-14T07:21:52.000Z' } },
      meta: { stage: 'ringing', vendor: 'twilio' },
    });
  });

  it('maps in-progress to the answered stage and completed to an ended, answered call', async () => {
    await send('status-in-progress.txt');
    await send('status-completed.txt');
    expect(bus.events.map((e) => [e.meta?.stage, e.content.call?.status])).toEqual([
      ['answered', 'answered'],
      ['ended', 'answered'],
    ]);
    expect(bus.events[1]!.content.call).toMatchObject({
      durationSec: 135,
      talkSec: 135,
      endedAt: '2025-03-14T07:24:07.000Z',
    });
  });

  it('maps the other final statuses', async () => {
    const body = fixture('twilio/status-completed.txt');
    for (const [twilio, ours] of [
      ['busy', 'busy'],
      ['no-answer', 'missed'],
      ['canceled', 'missed'],
      ['failed', 'failed'],
    ]) {
      const payload = body.replace('CallStatus=completed', `CallStatus=${twilio}`);
      const path = '/v1/telephony/twilio/main';
      const sig = expectedSignature(AUTH_TOKEN, PUBLIC_URL + path, payload);
      const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig };
      expect((await app.inject({ method: 'POST', url: path, payload, headers })).statusCode).toBe(200);
      expect(bus.events.at(-1)!.content.call?.status).toBe(ours);
    }
  });

  it('records a completed call of 0 s from an anonymous caller as missed, without identity', async () => {
    await send('status-anonymous-completed.txt');
    expect(bus.events[0]!.content.call).toMatchObject({
      status: 'missed',
      anonymous: true,
      from: '+266696687',
    });
    expect(bus.events[0]!.sender.identities).toEqual([]);
  });

  it('files a <Dial> child leg under the parent call, as the forwarded leg of the inbound call', async () => {
    await send('dial-child-no-answer.txt');
    const e = bus.events[0]!;
    expect(e.externalId).toBe('twilio:CA0b5d8e2f7a4c9b1e6d3f8a5c2e7b9d40:ended:missed');
    expect(e.direction).toBe('inbound');
    expect(e.content.call).toMatchObject({ externalCallId: PARENT, operatorExtension: '+79161234567' });
    expect(e.sender.identities[0]?.value).toBe('+74951234567');
  });

  it('publishes a completed recording callback as the recording stage of the call', async () => {
    await send('recording-completed.txt');
    const e = bus.events[0]!;
    expect(e.meta?.stage).toBe('recording');
    expect(e.content.call?.recordingUrl).toMatch(/^https:\/\/api\.twilio\.com\/.*\/Recordings\/RE5e1a9c/);
    expect(e.externalId).toBe(`twilio:${PARENT}:recording:answered:${e.content.call?.recordingUrl}`);
  });

  it('signs over the query string too, and honours options.twilioUrl with the line secret as token', async () => {
    expect((await send('status-ringing.txt', { query: '?attempt=1' })).statusCode).toBe(200);
    const proxied = await send('status-ringing.txt', {
      line: 'proxied',
      base: 'https://voice.example.org/hooks',
    });
    expect(proxied.statusCode).toBe(200);
    expect(bus.events).toHaveLength(2);
  });

  it('refuses a tampered body, a wrong signature or none, and publishes nothing', async () => {
    const body = fixture('twilio/status-completed.txt');
    const path = '/v1/telephony/twilio/main';
    const good = expectedSignature(AUTH_TOKEN, PUBLIC_URL + path, body);
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const attempts = [
      {
        payload: body.replace('CallDuration=135', 'CallDuration=1'),
        headers: { ...headers, 'x-twilio-signature': good },
      },
      { payload: body, headers: { ...headers, 'x-twilio-signature': good.replace(/^./, 'x') } },
      { payload: body, headers },
    ];
    for (const a of attempts) {
      const res = await app.inject({ method: 'POST', url: path, ...a });
      expect(res.statusCode).toBe(401);
    }
    // The URL is part of what is signed: the same body and signature on another line's URL fail.
    expect((await send('status-completed.txt', { line: 'proxied', sig: good })).statusCode).toBe(401);
    expect(bus.events).toEqual([]);
  });

  it.each(['exploded', 'constructor'])(
    'names CallStatus=%s as unknown (400) and publishes nothing',
    async (st) => {
      const payload = fixture('twilio/status-ringing.txt').replace('CallStatus=ringing', `CallStatus=${st}`);
      const path = '/v1/telephony/twilio/main';
      const sig = expectedSignature(AUTH_TOKEN, PUBLIC_URL + path, payload);
      const res = await app.inject({
        method: 'POST',
        url: path,
        payload,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.fields).toEqual(['CallStatus']);
      expect(bus.events).toEqual([]);
    },
  );

  it('yields the same event id when Twilio retries a callback', async () => {
    await send('status-completed.txt');
    await send('status-completed.txt');
    expect(bus.events[0]!.id).toBe(bus.events[1]!.id);
  });
});
