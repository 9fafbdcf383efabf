import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeCdrBody } from '../../../connectors/telephony/freeswitch-cdr.js';
import {
  basicAuth,
  buildTelephonyApp,
  fixture,
  freeswitchUrlEncode,
  type RecordingPublisher,
  telephonyLine,
} from '../../support/telephony-app.js';

const SECRET = 'line-secret-0123456789';
const A_LEG = 'a1f3c2e4-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const B_LEG = 'b7e2d1c0-9f8e-4d7c-a6b5-4c3d2e1f0a9b';

/** json_cdr.conf `encode` → the content type mod_json_cdr sends with that fixture file. */
const ENCODINGS = [
  ['false (JSON)', 'wire.json', 'application/json'],
  ['true (url-encoded)', 'wire.urlencoded', 'application/x-www-form-urlencoded'],
  ['base64', 'wire.base64', 'application/x-www-form-base64-encoded'],
] as const;

let app: FastifyInstance;
let bus: RecordingPublisher;
beforeEach(async () => {
  ({ app, bus } = await buildTelephonyApp({
    lines: [
      telephonyLine({ options: { recordingBaseUrl: 'https://pbx.example.ru/recordings/' } }),
      telephonyLine({ key: 'branch', options: { basicUser: 'fs-cdr' } }),
    ],
  }));
});

const post = (
  payload: string,
  contentType: string,
  opts: { auth?: string; line?: string; uuid?: string } = {},
) =>
  app.inject({
    method: 'POST',
    url: `/v1/telephony/freeswitch/${opts.line ?? 'main'}?uuid=${opts.uuid ?? A_LEG}`,
    payload,
    headers: { 'content-type': contentType, authorization: opts.auth ?? basicAuth('main', SECRET) },
  });

describe('mod_json_cdr encodings', () => {
  it.each(ENCODINGS)('decodes encode=%s to the same CDR as the fixture', (_name, suffix, contentType) => {
    for (const leg of ['a-leg', 'b-leg']) {
      const cdr = decodeCdrBody({ contentType, text: fixture(`freeswitch/${leg}.${suffix}`) });
      expect(cdr).toEqual(JSON.parse(fixture(`freeswitch/${leg}.json`)));
    }
  });

  it("restores base64 '+' that a form decoder turned into a space", () => {
    const b64 = Buffer.from('{"variables":{"uuid":"x","p":">>>"}}').toString('base64');
    expect(b64).toContain('+');
    const asForm = decodeCdrBody({ contentType: 'application/x-www-form-urlencoded', text: `cdr=${b64}` });
    expect(asForm.variables.uuid).toBe('x');
  });

  it('keeps the url-encoded variant byte-compatible with switch_url_encode', () => {
    const json = fixture('freeswitch/a-leg.wire.json');
    expect(fixture('freeswitch/a-leg.wire.urlencoded')).toBe(`cdr=${freeswitchUrlEncode(json)}`);
  });
});

describe('POST /v1/telephony/freeswitch/:line', () => {
  it.each(ENCODINGS)(
    'publishes the same event for the a-leg sent with encode=%s',
    async (_n, suffix, type) => {
      const res = await post(fixture(`freeswitch/a-leg.${suffix}`), type);
      expect(res.statusCode).toBe(200);
      const e = bus.events[0]!;
      expect(res.json()).toEqual({ id: e.id, status: 'accepted' });
      expect(e.externalId).toBe(`freeswitch:${A_LEG}:ended:answered`);
      expect(e.raw).toEqual({ contentType: type, body: fixture(`freeswitch/a-leg.${suffix}`) });
    },
  );

  it('maps the a-leg: url-decoded caller, IVR time excluded from talk, operator, recording', async () => {
    await post(fixture('freeswitch/a-leg.wire.json'), 'application/json');
    const e = bus.events[0]!;
    expect(e).toMatchObject({
      direction: 'inbound',
      occurredAt: '2025-03-14T07:24:07.000Z',
      sender: { name: 'Иван Петров', identities: [{ kind: 'phone', value: '+74951234567', valid: true }] },
      regionHints: { callerNumber: '+74951234567', calledLine: '+74957654321' },
      meta: { stage: 'ended', leg: 'a', hangupCause: 'NORMAL_CLEARING', lineRegionId: 7 },
    });
    expect(e.content.call).toEqual({
      status: 'answered',
      externalCallId: A_LEG,
      durationSec: 135,
      talkSec: 120,
      waitSec: 15,
      recordingUrl: `https://pbx.example.ru/recordings/${A_LEG}.wav`,
      operatorExtension: '1003',
      from: '+74951234567',
      to: '74957654321',
      startedAt: '2025-03-14T07:21:52.000Z',
      answeredAt: '2025-03-14T07:21:54.000Z',
      endedAt: '2025-03-14T07:24:07.000Z',
    });
  });

  it('files the b-leg under the a-leg uuid with the a-leg view of the numbers, as a distinct event', async () => {
    await post(fixture('freeswitch/a-leg.wire.urlencoded'), 'application/x-www-form-urlencoded');
    await post(fixture('freeswitch/b-leg.wire.base64'), 'application/x-www-form-base64-encoded', {
      uuid: B_LEG,
    });
    const [a, b] = bus.events;
    expect(b!.content.call?.externalCallId).toBe(a!.content.call?.externalCallId);
    expect(b!.content.call).toMatchObject({ externalCallId: A_LEG, from: '+74951234567', to: '74957654321' });
    expect(b!.content.call).toMatchObject({ status: 'answered', talkSec: 120, operatorExtension: '1003' });
    expect(b!.externalId).toBe(`freeswitch:${B_LEG}:ended:answered`);
    expect(b!.id).not.toBe(a!.id);
    expect(b!.meta?.leg).toBe('b');
  });

  it('yields the same event id when mod_json_cdr retries the same CDR', async () => {
    await post(fixture('freeswitch/a-leg.wire.json'), 'application/json');
    await post(fixture('freeswitch/a-leg.wire.base64'), 'application/x-www-form-base64-encoded');
    expect(bus.events[0]!.id).toBe(bus.events[1]!.id);
  });

  const variant = (leg: string, vars: Record<string, string>) => {
    const cdr = JSON.parse(fixture(`freeswitch/${leg}.json`));
    Object.assign(cdr.variables, vars);
    return JSON.stringify(cdr);
  };

  it.each([
    [
      'an unanswered b-leg',
      'b-leg',
      { answer_epoch: '0', billsec: '0', hangup_cause: 'NO_ANSWER' },
      'missed',
    ],
    ['a busy operator', 'b-leg', { answer_epoch: '0', hangup_cause: 'USER_BUSY' }, 'busy'],
    [
      'an a-leg answered by the IVR only',
      'a-leg',
      { bridge_epoch: '0', hangup_cause: 'NORMAL_CLEARING' },
      'missed',
    ],
    ['voicemail', 'a-leg', { bridge_epoch: '0', last_app: 'voicemail' }, 'voicemail'],
    [
      'an unroutable call',
      'a-leg',
      { answer_epoch: '0', bridge_epoch: '0', hangup_cause: 'NO_ROUTE_DESTINATION' },
      'failed',
    ],
  ])('maps %s', async (_name, leg, vars, status) => {
    await post(variant(leg, vars), 'application/json');
    expect(bus.events[0]!.content.call?.status).toBe(status);
  });

  it('records a withheld caller without identity', async () => {
    await post(variant('a-leg', { caller_id_number: 'anonymous' }), 'application/json');
    expect(bus.events[0]!.sender.identities).toEqual([]);
    expect(bus.events[0]!.content.call?.anonymous).toBe(true);
  });

  it('takes an extension calling out as an outbound call to the dialled client', async () => {
    await post(
      variant('a-leg', { caller_id_number: '1003', destination_number: '89161234567' }),
      'application/json',
    );
    const e = bus.events[0]!;
    expect(e.direction).toBe('outbound');
    expect(e.sender.identities[0]?.value).toBe('+79161234567');
    expect(e.content.call?.operatorExtension).toBe('1003');
  });

  it('acknowledges an extension-to-extension call without publishing it', async () => {
    const res = await post(
      variant('a-leg', { caller_id_number: '1001', destination_number: '1003' }),
      'application/json',
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ignored');
    expect(bus.events).toEqual([]);
  });

  it('checks HTTP Basic credentials: line key or options.basicUser, and the line secret', async () => {
    const body = fixture('freeswitch/a-leg.wire.json');
    const branch = { line: 'branch' };
    expect(
      (await post(body, 'application/json', { ...branch, auth: basicAuth('fs-cdr', SECRET) })).statusCode,
    ).toBe(200);
    for (const auth of [basicAuth('main', 'wrong'), basicAuth('branch', SECRET), `Bearer ${SECRET}`, '']) {
      expect((await post(body, 'application/json', { ...branch, auth })).statusCode).toBe(401);
    }
    expect((await post(body, 'application/json', { line: 'nope' })).statusCode).toBe(401);
    expect(bus.events).toHaveLength(1);
  });

  it('answers 400 naming the field for a body that is no CDR, and publishes nothing', async () => {
    const notCdr = await post('hello', 'text/plain');
    expect(notCdr.statusCode).toBe(400);
    expect(notCdr.json().error.fields).toEqual(['cdr']);
    const noVars = await post('{"channel_data":{}}', 'application/json');
    expect(noVars.json().error.fields).toEqual(['cdr.variables']);
    const badB64 = await post('cdr=%%%%', 'application/x-www-form-base64-encoded');
    expect(badB64.statusCode).toBe(400);
    expect(bus.events).toEqual([]);
  });
});
