import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twilioSignature } from '../../connectors/telephony/twilio-signature.js';
import { apiBackends } from '../support/api-app.js';
import type { TestDatabase } from '../support/db.js';
import { buildEdgeApp, EDGE_ADMIN_TOKEN, type EdgeApp } from '../support/edge-app.js';

/**
 * Drives every kind of endpoint with known secrets and personal data (admin settings, forms, every telephony
 * vendor, wrong credentials, a database error forced by a constraint) while capturing the pino output, then
 * checks that none of those values was logged. The database error matters most: PGlite's error carries the
 * statement's parameters and PostgreSQL's `detail` the failing row, both holding the line secret.
 */
const LINE_SECRET = 'LineSecret-4f1e9b7a2c5d';
const TWILIO_TOKEN = 'TwilioToken-8c3a1f6e9d2b';
const IMAP_PASSWORD = 'ImapPass-5e2d8a1c7f4b';
const SMTP_PASSWORD = 'SmtpPass-9b4c2e7a1d6f';
const BOOM_SECRET = 'BoomSecret-1a7f3c9e5b2d';
const NAME = 'Zinaida Prokhorova';
const EMAIL = 'zinaida.prokhorova@example.org';
const PHONES = ['+7 (495) 765-43-21', '+74957654321', '74957654321', '765-43-21'];

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`logs on ${backend.name}`, () => {
    let t: TestDatabase;
    let e: EdgeApp;
    const admin = { authorization: `Bearer ${EDGE_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const send = (
      method: 'POST' | 'PUT' | 'PATCH' | 'GET',
      url: string,
      payload?: unknown,
      headers = admin,
    ) =>
      e.app.inject({
        method,
        url,
        headers,
        ...(payload === undefined
          ? {}
          : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
      });

    beforeAll(async () => {
      t = await backend.make();
      e = await buildEdgeApp(t);
    });
    afterAll(async () => {
      await e?.app.close();
      await t?.drop();
    });

    it('holds no secret and no personal value after every endpoint ran, failures included', async () => {
      const secrets: string[] = [
        LINE_SECRET,
        TWILIO_TOKEN,
        IMAP_PASSWORD,
        SMTP_PASSWORD,
        BOOM_SECRET,
        EDGE_ADMIN_TOKEN,
      ];
      const line = {
        name: 'Main',
        secret: LINE_SECRET,
        number: '+74950000001',
        options: { authToken: TWILIO_TOKEN },
      };
      expect((await send('PUT', '/v1/admin/telephony-lines/main', line)).statusCode).toBe(201);
      expect((await send('PUT', '/v1/admin/forms/contact', { name: 'Contact' })).statusCode).toBe(201);
      const op = await send('POST', '/v1/admin/operators', { login: 'zina', name: NAME, email: EMAIL });
      secrets.push(op.json().token);
      const imap = {
        host: 'imap.example.org',
        port: 993,
        secure: true,
        user: EMAIL,
        password: IMAP_PASSWORD,
      };
      const smtp = {
        host: 'smtp.example.org',
        port: 465,
        secure: true,
        user: EMAIL,
        password: SMTP_PASSWORD,
      };
      const mailbox = { name: 'Sales', address: EMAIL, imap, smtp };
      expect((await send('POST', '/v1/admin/mailboxes', mailbox)).statusCode).toBe(201);
      expect((await send('POST', '/v1/admin/mailboxes', mailbox)).statusCode).toBe(409); // unique violation

      const formBody = { name: NAME, email: EMAIL, phone: PHONES[0], message: `call ${PHONES[0]}` };
      expect(
        (await send('POST', '/v1/forms/contact', formBody, { 'content-type': 'application/json' } as never))
          .statusCode,
      ).toBe(202);
      const generic = {
        line: 'main',
        direction: 'inbound',
        from: PHONES[0],
        to: '+74950000001',
        startedAt: '2026-11-23T10:00:00Z',
        status: 'missed',
        externalCallId: 'c-1',
      };
      const bearer = { authorization: `Bearer ${LINE_SECRET}`, 'content-type': 'application/json' };
      expect((await send('POST', '/v1/telephony/generic', generic, bearer)).statusCode).toBe(202);
      const text = JSON.stringify({ ...generic, externalCallId: 'c-2' });
      const signed = {
        'x-signature': `sha256=${createHmac('sha256', LINE_SECRET).update(text).digest('hex')}`,
        'content-type': 'application/json',
      };
      expect((await send('POST', '/v1/telephony/generic', text, signed as never)).statusCode).toBe(202);
      const wrong = { authorization: 'Bearer wrong-secret-000000', 'content-type': 'application/json' };
      expect((await send('POST', '/v1/telephony/generic', generic, wrong)).statusCode).toBe(401);
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const twilioBody = new URLSearchParams({
        CallSid: 'CA1',
        CallStatus: 'ringing',
        From: PHONES[0]!,
        To: '+74950000001',
        CallerName: NAME,
      }).toString();
      const sig = twilioSignature(
        TWILIO_TOKEN,
        'https://ingest.example.com/v1/telephony/twilio/main',
        new URLSearchParams(twilioBody),
      );
      expect(
        (
          await send('POST', '/v1/telephony/twilio/main', twilioBody, {
            ...form,
            'x-twilio-signature': sig,
          } as never)
        ).statusCode,
      ).toBe(200);
      const cti = `event=newCall&from=${encodeURIComponent(PHONES[1]!)}&to=74950000001&direction=in&callId=z1&user[]=${encodeURIComponent(NAME)}`;
      expect(
        (await send('POST', `/v1/telephony/cti/main/${LINE_SECRET}`, cti, form as never)).statusCode,
      ).toBe(200);
      expect((await send('POST', '/v1/telephony/cti/main/wrong-token', cti, form as never)).statusCode).toBe(
        401,
      );
      const reg = `PHONE_NUMBER=${encodeURIComponent(PHONES[2]!)}&TYPE=2&USER_PHONE_INNER=101&auth=${LINE_SECRET}`;
      expect(
        (
          await send(
            'POST',
            '/v1/telephony/bitrix24/main/telephony.externalcall.register',
            reg,
            form as never,
          )
        ).statusCode,
      ).toBe(200);
      expect(
        (
          await send(
            'POST',
            `/v1/telephony/bitrix24/main/${LINE_SECRET}/telephony.externalcall.register`,
            '{"x":',
            { 'content-type': 'application/json' } as never,
          )
        ).statusCode,
      ).toBe(400);
      const basic = `Basic ${Buffer.from(`main:${LINE_SECRET}`).toString('base64')}`;
      const cdr = JSON.stringify({
        variables: {
          uuid: 'u1',
          caller_id_number: PHONES[1],
          caller_id_name: NAME,
          destination_number: '74950000001',
          hangup_cause: 'NO_ANSWER',
        },
      });
      expect(
        (
          await send('POST', '/v1/telephony/freeswitch/main', cdr, {
            authorization: basic,
            'content-type': 'application/json',
          })
        ).statusCode,
      ).toBe(200);
      expect(
        (
          await send(
            'GET',
            `/v1/telephony/route?from=${encodeURIComponent(PHONES[0]!)}&line=main`,
            undefined,
            { authorization: `Bearer ${LINE_SECRET}` } as never,
          )
        ).statusCode,
      ).toBe(200);
      expect(
        (await send('GET', `/v1/clients/lookup?phone=${encodeURIComponent(PHONES[0]!)}&email=${EMAIL}`))
          .statusCode,
      ).toBe(200);

      // A database error nobody expected: the row it refuses holds a secret (PostgreSQL's detail, PGlite's params).
      await t.db.exec(`ALTER TABLE telephony_lines ADD CONSTRAINT no_boom CHECK (name <> 'boom')`);
      const boom = await send('PUT', '/v1/admin/telephony-lines/boom', { name: 'boom', secret: BOOM_SECRET });
      expect(boom.statusCode).toBe(500);
      expect(boom.body).not.toContain(BOOM_SECRET);

      const log = e.logs.join('');
      // The failures were logged (so this scan reads real entries), just without the values.
      expect(log).toContain('unhandled error');
      expect(log).toContain('telephony request refused');
      for (const value of [...secrets, NAME, EMAIL, ...PHONES]) expect(log, value).not.toContain(value);
      expect(e.bus.events.length).toBeGreaterThanOrEqual(7);
    });
  });
}
