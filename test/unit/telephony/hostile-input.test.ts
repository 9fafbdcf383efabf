import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import { twilioSignature } from '../../../connectors/telephony/twilio-signature.js';
import type { MemoryChannelSettings } from '../../support/connector-doubles.js';
import { expectError } from '../../support/expect-error.js';
import {
  basicAuth,
  buildTelephonyApp,
  fixture,
  PUBLIC_URL,
  type RecordingPublisher,
} from '../../support/telephony-app.js';

/**
 * What anyone can send to the telephony webhooks: NUL and other control characters, lone surrogates, dates no
 * database stores, keys that cannot exist. Never a 5xx; characters are removed from the event (lib/text.ts),
 * unusable dates are refused naming the field, impossible keys are refused before any look-up.
 */
const SECRET = 'line-secret-0123456789';
let app: FastifyInstance;
let bus: RecordingPublisher;
let settings: MemoryChannelSettings;
beforeEach(async () => {
  ({ app, bus, settings } = await buildTelephonyApp());
});

const form = (body: string) => ({ 'content-type': 'application/x-www-form-urlencoded', payload: body });

describe('telephony webhooks and hostile input', () => {
  it('a NUL in the line of any vendor is 401 like an unknown line, never 500', async () => {
    for (const url of [
      '/v1/telephony/twilio/demo%00',
      '/v1/telephony/freeswitch/demo%00',
      '/v1/telephony/cti/ma%00in/x',
      '/v1/telephony/bitrix24/ma%00in/telephony.externalcall.register',
    ]) {
      const res = await app.inject({ method: 'POST', url, payload: 'a=b' });
      expectError(res, 401, 'UNAUTHORIZED');
    }
    const generic = await app.inject({
      method: 'POST',
      url: '/v1/telephony/generic',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ line: 'ma\u0000in' }),
    });
    expectError(generic, 401, 'UNAUTHORIZED');
    expect(settings.lookups).toEqual([]);
    expect(bus.events).toHaveLength(0);
  });

  it('removes control characters from CTI, Bitrix24, FreeSWITCH and generic values and keeps the call', async () => {
    const cti = await app.inject({
      method: 'POST',
      url: `/v1/telephony/cti/main/${SECRET}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'event=newCall&from=74951234567&to=74957654321&direction=in&callId=ab%00c%01d',
    });
    expect(cti.statusCode).toBe(200);
    const bitrix = await app.inject({
      method: 'POST',
      url: `/v1/telephony/bitrix24/main/${SECRET}/telephony.externalcall.register`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: fixture('bitrix24/register-inbound.urlencoded').replace('1741936912.1234', 'ext%00-1'),
    });
    expect(bitrix.statusCode).toBe(200);
    const cdr = JSON.parse(fixture('freeswitch/a-leg.json'));
    cdr.variables.caller_id_name = 'Iv\u0000an\ud800';
    const fs = await app.inject({
      method: 'POST',
      url: '/v1/telephony/freeswitch/main',
      headers: { 'content-type': 'application/json', authorization: basicAuth('main', SECRET) },
      payload: JSON.stringify(cdr),
    });
    expect(fs.statusCode).toBe(200);
    const generic = JSON.parse(fixture('generic/answered.json'));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/telephony/generic',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        ...generic,
        line: 'main',
        externalCallId: 'g\u0000-1',
        from: '+7495\u00001234567',
      }),
    });
    expect(res.statusCode).toBe(202);
    const calls = bus.events.map((e) => e.content.call?.externalCallId);
    expect(calls[0]).toBe('abcd');
    expect(calls[1]).toBe('ext-1');
    expect(bus.events[2]!.sender.name).toBe('Ivan\ufffd');
    expect(calls[3]).toBe('g-1');
    expect(bus.events[3]!.sender.identities[0]).toMatchObject({ value: '+74951234567', valid: true });
    // The audit copy keeps the sender's JSON escapes as text (`\\u0000`); no actual control character remains.
    for (const e of bus.events) expect(JSON.stringify(e)).not.toMatch(/(?<!\\)\\u000[01]/);
  });

  it('refuses dates PostgreSQL cannot store, naming the vendor field', async () => {
    const generic = JSON.parse(fixture('generic/answered.json'));
    for (const startedAt of ['0000-01-01T00:00:00Z', '2025-03-14T10:00:00-23:59']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/telephony/generic',
        headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ ...generic, line: 'main', startedAt }),
      });
      expectError(res, 400, 'VALIDATION', 'startedAt');
    }
    const path = '/v1/telephony/twilio/main';
    const body = fixture('twilio/status-completed.txt').replace(
      /Timestamp=[^&]*/,
      'Timestamp=0000-01-01T00%3A00%3A00Z',
    );
    const sig = twilioSignature(SECRET, PUBLIC_URL + path, new URLSearchParams(body));
    const twilio = await app.inject({
      method: 'POST',
      url: path,
      ...form(body),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
    });
    expectError(twilio, 400, 'VALIDATION', 'Timestamp');
    expect(bus.events).toHaveLength(0);
  });
});
