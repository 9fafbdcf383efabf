import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_LINE_SECRET } from '../../../app/demo-seed.js';
import { getLine, getMailbox } from '../../../crm-core/repositories/channel-settings.repository.js';
import { type ApiTestApp, admin, apiBackends, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';

const MASK = '********';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`admin channel settings API on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
      a.app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    const expectError = (
      r: { statusCode: number; json(): { error: unknown } },
      status: number,
      code: string,
      field: string,
    ) => {
      expect(r.statusCode).toBe(status);
      expect(r.json().error).toMatchObject({ code, fields: [field] });
    };

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    describe('forms', () => {
      const shop = {
        name: 'Shop',
        fieldMap: { phone: 'tel', city: 'town' },
        allowedOrigins: ['https://shop.example', 'http://localhost:8080'],
        redirectUrl: 'https://shop.example/thanks',
      };

      it('creates with PUT (201), replaces (200), reads, lists and deletes', async () => {
        const created = await call('PUT', '/v1/admin/forms/shop', shop);
        expect(created.statusCode).toBe(201);
        expect(created.json()).toMatchObject({ key: 'shop', ...shop, active: true });
        const replaced = await call('PUT', '/v1/admin/forms/shop', {
          ...shop,
          name: 'Shop 2',
          active: false,
        });
        expect(replaced.statusCode).toBe(200);
        expect((await call('GET', '/v1/admin/forms/shop')).json()).toMatchObject({
          name: 'Shop 2',
          active: false,
        });
        expect(
          (await call('GET', '/v1/admin/forms')).json().items.map((f: { key: string }) => f.key),
        ).toEqual(['demo', 'shop']);
        expect((await call('DELETE', '/v1/admin/forms/shop')).statusCode).toBe(204);
        expectError(await call('GET', '/v1/admin/forms/shop'), 404, 'NOT_FOUND', 'key');
        expectError(await call('DELETE', '/v1/admin/forms/shop'), 404, 'NOT_FOUND', 'key');
      });

      it('validates origins, URLs, field map names and the region, naming the field', async () => {
        expectError(
          await call('PUT', '/v1/admin/forms/x', {
            name: 'X',
            allowedOrigins: ['https://shop.example/path'],
          }),
          400,
          'VALIDATION',
          'allowedOrigins.0',
        );
        expectError(
          await call('PUT', '/v1/admin/forms/x', { name: 'X', redirectUrl: 'javascript:alert(1)' }),
          400,
          'VALIDATION',
          'redirectUrl',
        );
        expectError(
          await call('PUT', '/v1/admin/forms/x', { name: 'X', fieldMap: { fone: 'tel' } }),
          400,
          'VALIDATION',
          'fieldMap.fone',
        );
        expectError(await call('PUT', '/v1/admin/forms/x', { fieldMap: {} }), 400, 'VALIDATION', 'name');
        expectError(await call('PUT', '/v1/admin/forms/bad%20key', { name: 'X' }), 400, 'VALIDATION', 'key');
        expectError(
          await call('PUT', '/v1/admin/forms/x', { name: 'X', regionId: 99999 }),
          422,
          'UNPROCESSABLE',
          'regionId',
        );
      });
    });

    describe('telephony lines', () => {
      it('never returns secrets, including credential-like vendor options', async () => {
        const list = (await call('GET', '/v1/admin/telephony-lines')).json().items;
        expect(list[0]).toMatchObject({ key: 'demo', secret: MASK });
        expect(JSON.stringify(list)).not.toContain(DEMO_LINE_SECRET);
        const r = await call('PUT', '/v1/admin/telephony-lines/twilio', {
          name: 'Twilio',
          number: '+74951234567',
          secret: 'a-long-enough-line-secret',
          options: { authToken: 'twilio-auth-token-value', twilioUrl: 'https://public.example' },
        });
        expect(r.statusCode).toBe(201);
        expect(r.json()).toMatchObject({
          secret: MASK,
          options: { authToken: MASK, twilioUrl: 'https://public.example' },
          createLeadOnOutbound: false,
          active: true,
        });
        expect((await call('GET', '/v1/admin/telephony-lines/twilio')).json().secret).toBe(MASK);
      });

      it('keeps stored secrets when a PUT leaves them out or sends the mask back', async () => {
        const current = (await call('GET', '/v1/admin/telephony-lines/twilio')).json();
        const r = await call('PUT', '/v1/admin/telephony-lines/twilio', {
          ...current,
          key: undefined,
          name: 'Twilio main',
        });
        expect(r.statusCode).toBe(200);
        const stored = (await getLine(t.db, 'twilio'))!;
        expect(stored).toMatchObject({
          name: 'Twilio main',
          secret: 'a-long-enough-line-secret',
          options: { authToken: 'twilio-auth-token-value' },
        });
        await call('PUT', '/v1/admin/telephony-lines/twilio', {
          name: 'Twilio main',
          secret: 'another-long-line-secret',
        });
        expect((await getLine(t.db, 'twilio'))!.secret).toBe('another-long-line-secret');
      });

      it('requires a strong secret for a new line, and 404s unknown ones', async () => {
        expectError(
          await call('PUT', '/v1/admin/telephony-lines/new', { name: 'New' }),
          400,
          'VALIDATION',
          'secret',
        );
        expectError(
          await call('PUT', '/v1/admin/telephony-lines/new', { name: 'New', secret: 'short' }),
          400,
          'VALIDATION',
          'secret',
        );
        expectError(
          await call('PUT', '/v1/admin/telephony-lines/new', {
            name: 'New',
            secret: 'x'.repeat(20),
            number: 'call me',
          }),
          400,
          'VALIDATION',
          'number',
        );
        expectError(await call('GET', '/v1/admin/telephony-lines/new'), 404, 'NOT_FOUND', 'key');
        expect((await call('DELETE', '/v1/admin/telephony-lines/twilio')).statusCode).toBe(204);
      });
    });

    describe('mailboxes', () => {
      const box = {
        name: 'Sales',
        address: 'sales@example.com',
        imap: { host: 'imap.example.com', port: 993, secure: true, user: 'sales', password: 'imap-password' },
        smtp: { host: 'smtp.example.com', port: 465, secure: true, user: 'sales', password: 'smtp-password' },
        processed: { action: 'move', folder: 'Processed' },
      };
      let id: number;

      it('creates a mailbox and masks its passwords in every answer', async () => {
        const r = await call('POST', '/v1/admin/mailboxes', box);
        expect(r.statusCode).toBe(201);
        id = r.json().id;
        expect(r.json()).toMatchObject({
          address: 'sales@example.com',
          folders: ['INBOX'],
          imap: { password: MASK, user: 'sales' },
          smtp: { password: MASK },
          attachmentMaxBytes: 5 * 1024 * 1024,
        });
        for (const url of ['/v1/admin/mailboxes', `/v1/admin/mailboxes/${id}`]) {
          const text = (await call('GET', url)).body;
          expect(text).not.toContain('imap-password');
          expect(text).not.toContain('smtp-password');
        }
      });

      it('replaces a mailbox, keeping passwords sent back masked or left out', async () => {
        const r = await call('PUT', `/v1/admin/mailboxes/${id}`, {
          ...box,
          name: 'Sales desk',
          imap: { ...box.imap, password: MASK },
          smtp: { ...box.smtp, password: undefined },
          folders: ['INBOX', 'Spam'],
        });
        expect(r.statusCode).toBe(200);
        const stored = (await getMailbox(t.db, id))!;
        expect(stored).toMatchObject({
          name: 'Sales desk',
          folders: ['INBOX', 'Spam'],
          imap: { password: 'imap-password' },
          smtp: { password: 'smtp-password' },
        });
      });

      it('validates, 409s a duplicate address, 404s unknown ids, deletes', async () => {
        expectError(
          await call('POST', '/v1/admin/mailboxes', { ...box, imap: { ...box.imap, password: undefined } }),
          400,
          'VALIDATION',
          'imap.password',
        );
        expectError(
          await call('POST', '/v1/admin/mailboxes', { ...box, imap: { ...box.imap, port: 0 } }),
          400,
          'VALIDATION',
          'imap.port',
        );
        expectError(
          await call('POST', '/v1/admin/mailboxes', { ...box, processed: { action: 'move' } }),
          400,
          'VALIDATION',
          'processed.folder',
        );
        expectError(await call('POST', '/v1/admin/mailboxes', box), 409, 'CONFLICT', 'address');
        expectError(await call('GET', '/v1/admin/mailboxes/999999'), 404, 'NOT_FOUND', 'id');
        expectError(await call('PUT', '/v1/admin/mailboxes/999999', box), 404, 'NOT_FOUND', 'id');
        expect((await call('DELETE', `/v1/admin/mailboxes/${id}`)).statusCode).toBe(204);
        expect((await call('GET', '/v1/admin/mailboxes')).json().items).toEqual([]);
      });
    });
  });
}
