import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeCallId, encodeCallId } from '../../../connectors/telephony/bitrix24-call-id.js';
import { statusFromCode } from '../../../connectors/telephony/bitrix24-methods.js';
import {
  buildTelephonyApp,
  fixture,
  type RecordingPublisher,
  telephonyLine,
} from '../../support/telephony-app.js';

const SECRET = 'line-secret-0123456789';
const BASE = '/v1/telephony/bitrix24/main';
const FORM = 'application/x-www-form-urlencoded';
const REGISTER = fixture('bitrix24/register-inbound.urlencoded');

let app: FastifyInstance;
let bus: RecordingPublisher;
beforeEach(async () => {
  ({ app, bus } = await buildTelephonyApp({ lines: [telephonyLine(), telephonyLine({ key: 'other' })] }));
});

const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload, headers: { 'content-type': FORM, ...headers } });
const register = async () => {
  const res = await post(`${BASE}/telephony.externalcall.register.json?auth=${SECRET}`, REGISTER);
  return res.json().result.CALL_ID as string;
};

describe('telephony.externalcall.register', () => {
  it('answers a CALL_ID with null CRM entities and publishes the ringing stage', async () => {
    const res = await post(`${BASE}/telephony.externalcall.register`, `${REGISTER}&auth=${SECRET}`);
    expect(res.statusCode).toBe(200);
    const { result } = res.json();
    expect(result).toEqual({
      CALL_ID: expect.stringMatching(/^externalCall\.[A-Za-z0-9_-]+$/),
      CRM_CREATED_LEAD: null,
      CRM_CREATED_ENTITIES: [],
      CRM_ENTITY_TYPE: null,
      CRM_ENTITY_ID: null,
    });
    expect(bus.events[0]).toMatchObject({
      direction: 'inbound',
      externalId: 'bitrix24:1741936912.1234:ringing:ringing',
      occurredAt: '2025-03-14T07:21:52.000Z',
      sender: { identities: [{ kind: 'phone', value: '+74951234567' }] },
      regionHints: { calledLine: '+74957654321' },
      content: {
        call: {
          status: 'ringing',
          externalCallId: '1741936912.1234',
          operatorExtension: '101',
          to: '74957654321',
        },
      },
      meta: { stage: 'ringing', bitrixCallId: result.CALL_ID, bitrixCallType: 2, crmCreate: true },
    });
  });

  it('never copies the auth secret into the audit body', async () => {
    await post(`${BASE}/telephony.externalcall.register`, `${REGISTER}&auth=${SECRET}`);
    expect(bus.events[0]!.raw.body).not.toContain(SECRET);
    expect(bus.events[0]!.raw.body).toContain('auth=%5Bredacted%5D');
  });

  it('accepts GET with query parameters, JSON bodies, Bearer auth and the secret as a path segment', async () => {
    const get = await app.inject({
      method: 'GET',
      url: `${BASE}/telephony.externalcall.register.json?${REGISTER}&auth=${SECRET}`,
    });
    expect(get.statusCode).toBe(200);
    const json = await post(
      `${BASE}/telephony.externalcall.register`,
      fixture('bitrix24/register-outbound.json'),
      {
        'content-type': 'application/json',
        authorization: `Bearer ${SECRET}`,
      },
    );
    expect(json.statusCode).toBe(200);
    const path = await post(`${BASE}/${SECRET}/telephony.externalcall.register.json`, REGISTER);
    expect(path.statusCode).toBe(200);
    expect(path.json().result.CALL_ID).toBe(get.json().result.CALL_ID);
    const outbound = bus.events[1]!;
    expect(outbound).toMatchObject({ direction: 'outbound', meta: { bitrixCallType: 1, crmCreate: false } });
    expect(outbound.sender.identities[0]?.value).toBe('+79161234567');
    expect(outbound.content.call?.externalCallId).toMatch(/^b24\.[0-9a-f]{24}$/);
  });

  it('derives the same CALL_ID for a retried register, hence the same event id', async () => {
    const body = fixture('bitrix24/register-outbound.json');
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` };
    const a = await post(`${BASE}/telephony.externalcall.register`, body, headers);
    const b = await post(`${BASE}/telephony.externalcall.register`, body, headers);
    expect(a.json().result.CALL_ID).toBe(b.json().result.CALL_ID);
    expect(bus.events[0]!.id).toBe(bus.events[1]!.id);
  });

  it('names missing or invalid parameters with 400 and publishes nothing', async () => {
    const url = `${BASE}/telephony.externalcall.register?auth=${SECRET}`;
    for (const [body, field] of [
      ['TYPE=2&USER_ID=1', 'PHONE_NUMBER'],
      ['PHONE_NUMBER=1&USER_ID=1&TYPE=9', 'TYPE'],
      ['PHONE_NUMBER=1&USER_ID=1&TYPE=toString', 'TYPE'],
      ['PHONE_NUMBER=1&TYPE=2', 'USER_PHONE_INNER'],
      ['PHONE_NUMBER=1&TYPE=2&USER_ID=1&CALL_START_DATE=yesterday', 'CALL_START_DATE'],
    ] as const) {
      const res = await post(url, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.fields).toEqual([field]);
    }
    expect(bus.events).toEqual([]);
  });
});

describe('telephony.externalcall.finish', () => {
  it('maps the CALL_ID back to the registered call and publishes the ended stage', async () => {
    const callId = await register();
    const body = fixture('bitrix24/finish-answered.urlencoded').replace(
      '__CALL_ID__',
      encodeURIComponent(callId),
    );
    const res = await post(`${BASE}/telephony.externalcall.finish.json`, body, {
      authorization: `Bearer ${SECRET}`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().result).toMatchObject({
      CALL_ID: callId,
      CALL_TYPE: 2,
      CALL_DURATION: 120,
      CALL_FAILED_CODE: '200',
    });
    const [ringing, ended] = bus.events;
    expect(ended!.content.call?.externalCallId).toBe(ringing!.content.call?.externalCallId);
    expect(ended).toMatchObject({
      direction: 'inbound',
      externalId: 'bitrix24:1741936912.1234:ended:answered',
      sender: { identities: [{ value: '+74951234567' }] },
      content: {
        call: {
          status: 'answered',
          durationSec: 120,
          talkSec: 120,
          recordingUrl: 'https://pbx.example.ru/recordings/1741936912.1234.mp3',
          startedAt: '2025-03-14T07:21:52.000Z',
        },
      },
      meta: { stage: 'ended', bitrixStatusCode: '200' },
    });
  });

  it('records a missed call (STATUS_CODE 304)', async () => {
    const callId = await register();
    const body = fixture('bitrix24/finish-missed.urlencoded').replace(
      '__CALL_ID__',
      encodeURIComponent(callId),
    );
    await post(`${BASE}/telephony.externalcall.finish?auth=${SECRET}`, body);
    expect(bus.events[1]!.content.call).toMatchObject({ status: 'missed', talkSec: 0 });
  });

  it.each([
    ['200', 'answered'],
    ['304', 'missed'],
    ['486', 'busy'],
    ['603', 'busy'],
    ['603-S', 'missed'],
    ['403', 'failed'],
    ['404', 'failed'],
    ['484', 'failed'],
    ['503', 'failed'],
  ])('maps STATUS_CODE %s to %s', (code, status) => expect(statusFromCode(code)).toBe(status));

  it('answers 422 for a CALL_ID it did not issue or issued for another line', async () => {
    const foreign = encodeCallId({
      line: 'other',
      externalCallId: 'x',
      phone: '1',
      type: 2,
      start: 0,
      operator: '1',
    });
    for (const id of ['externalCall.cf1649fa0f4479870b76a0686f4a7058.1513888745', foreign]) {
      const res = await post(
        `${BASE}/telephony.externalcall.finish?auth=${SECRET}`,
        `CALL_ID=${id}&DURATION=5`,
      );
      expect(res.statusCode).toBe(422);
      expect(res.json().error.fields).toEqual(['CALL_ID']);
    }
    expect(bus.events).toEqual([]);
  });

  it('round-trips the CALL_ID encoding', () => {
    const call = {
      line: 'main',
      externalCallId: 'e',
      phone: '+7',
      type: 3,
      start: 1,
      operator: '101',
      lineNumber: '495',
    };
    expect(decodeCallId(encodeCallId(call))).toEqual(call);
  });
});

describe('Bitrix24 method routing and auth', () => {
  it('refuses a wrong or missing auth with 401 and publishes nothing', async () => {
    const url = `${BASE}/telephony.externalcall.register`;
    expect((await post(`${url}?auth=wrong`, REGISTER)).statusCode).toBe(401);
    expect((await post(url, REGISTER)).statusCode).toBe(401);
    expect((await post(`${BASE}/wrong/telephony.externalcall.register`, REGISTER)).statusCode).toBe(401);
    expect(
      (await post(`/v1/telephony/bitrix24/nope/telephony.externalcall.register?auth=${SECRET}`, REGISTER))
        .statusCode,
    ).toBe(401);
    expect(bus.events).toEqual([]);
  });

  it('answers an unknown line and a wrong secret alike, whatever the body (no probing of line keys)', async () => {
    const answers = [];
    for (const line of ['main', 'nope']) {
      for (const [type, body] of [
        ['application/json', '{"PHONE_NUMBER":'],
        ['application/json', '[1,2]'],
        [FORM, REGISTER],
        [FORM, ''],
      ]) {
        for (const url of [
          `/v1/telephony/bitrix24/${line}/telephony.externalcall.register?auth=wrong`,
          `/v1/telephony/bitrix24/${line}/wrong-token/telephony.externalcall.finish`,
        ]) {
          const res = await post(url, body!, { 'content-type': type! });
          answers.push({ status: res.statusCode, body: res.body });
        }
      }
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]!.status).toBe(401);
    expect(bus.events).toEqual([]);
  });

  it.each(['telephony.externalcall.hide.json', 'constructor'])(
    'answers 404 for the unknown method %s',
    async (m) => {
      const res = await post(`${BASE}/${m}?auth=${SECRET}`, 'CALL_ID=x');
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
      expect(bus.events).toEqual([]);
    },
  );
});
