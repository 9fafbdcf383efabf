import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getMessengerAccount } from '../../../crm-core/repositories/messenger-account.repository.js';
import { type ApiTestApp, admin, apiBackends, bearer, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';

const MASK = '********';
const TOKEN = '123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const SECRET = 'a-webhook-secret-0123456789';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`admin messengers API on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: object) =>
      a.app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    const expectError = (
      r: { statusCode: number; json(): { error: unknown } },
      status: number,
      field: string,
    ) => {
      expect(r.statusCode).toBe(status);
      expect(r.json().error).toMatchObject({ fields: [field] });
    };

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('creates, reads with secrets masked and the webhook URL, keeps secrets on replace, deletes', async () => {
      const bot = {
        vendor: 'telegram',
        name: 'Sales bot',
        botToken: TOKEN,
        webhookSecret: SECRET,
        mode: 'webhook',
        source: 'spring campaign',
      };
      const created = await call('PUT', '/v1/admin/messengers/sales-bot', bot);
      expect(created.statusCode).toBe(201);
      expect(created.json()).toEqual({
        key: 'sales-bot',
        vendor: 'telegram',
        name: 'Sales bot',
        botToken: MASK,
        webhookSecret: MASK,
        mode: 'webhook',
        source: 'spring campaign',
        regionId: null,
        active: true,
        webhookUrl: `${a.config.publicUrl.replace(/\/$/, '')}/v1/messengers/telegram/sales-bot`,
      });
      expect(JSON.stringify((await call('GET', '/v1/admin/messengers')).json())).not.toContain(TOKEN);
      // The masks sent back keep the stored secrets; the region is set.
      const region = (await t.db.query<{ id: number }>('SELECT id FROM regions ORDER BY id LIMIT 1')).rows[0]!
        .id;
      const replaced = await call('PUT', '/v1/admin/messengers/sales-bot', {
        ...created.json(),
        webhookUrl: undefined,
        key: undefined,
        regionId: region,
        name: 'Sales',
      });
      expect(replaced.statusCode).toBe(200);
      expect(await getMessengerAccount(t.db, 'sales-bot')).toMatchObject({
        botToken: TOKEN,
        webhookSecret: SECRET,
        regionId: region,
        name: 'Sales',
      });
      expect((await call('DELETE', '/v1/admin/messengers/sales-bot')).statusCode).toBe(204);
      expectError(await call('GET', '/v1/admin/messengers/sales-bot'), 404, 'key');
    });

    it("names the field: per-vendor required fields, another vendor's field, bad values, unknown region", async () => {
      expectError(
        await call('PUT', '/v1/admin/messengers/wa', {
          vendor: 'whatsapp',
          name: 'WA',
          phoneNumberId: '1065',
          accessToken: 'x',
          appSecret: 'y',
        }),
        400,
        'verifyToken',
      );
      expectError(
        await call('PUT', '/v1/admin/messengers/wa', {
          vendor: 'whatsapp',
          name: 'WA',
          phoneNumberId: '1065',
          accessToken: 'x',
          appSecret: 'y',
          verifyToken: 'z',
          botToken: TOKEN,
        }),
        400,
        'botToken',
      );
      expectError(
        await call('PUT', '/v1/admin/messengers/wa', {
          vendor: 'whatsapp',
          name: 'WA',
          phoneNumberId: 'abc',
          accessToken: 'x',
          appSecret: 'y',
          verifyToken: 'z',
        }),
        400,
        'phoneNumberId',
      );
      expectError(await call('PUT', '/v1/admin/messengers/wa', { vendor: 'icq', name: 'x' }), 400, 'vendor');
      expectError(
        await call('PUT', '/v1/admin/messengers/tg', {
          vendor: 'telegram',
          name: 'T',
          botToken: TOKEN,
          mode: 'webhook',
        }),
        400,
        'webhookSecret',
      );
      // A mask for a secret never stored is not a secret.
      expectError(
        await call('PUT', '/v1/admin/messengers/vb', {
          vendor: 'viber',
          name: 'V',
          authToken: MASK,
          senderName: 'Shop',
        }),
        400,
        'authToken',
      );
      const vk = {
        vendor: 'vk',
        name: 'VK',
        groupId: 1,
        accessToken: 'vk1',
        secret: 's',
        confirmationCode: 'c',
        regionId: 999_999,
      };
      expect((await call('PUT', '/v1/admin/messengers/vk', vk)).statusCode).toBe(422);
      expect((await call('PUT', '/v1/admin/messengers/vk', { ...vk, regionId: undefined })).statusCode).toBe(
        201,
      );
      // Another vendor on the same key: its secrets are required again, not carried over.
      expectError(
        await call('PUT', '/v1/admin/messengers/vk', { vendor: 'viber', name: 'V', senderName: 'Shop' }),
        400,
        'authToken',
      );
      expect(await getMessengerAccount(t.db, 'wa')).toBeUndefined();
      expect(await getMessengerAccount(t.db, 'tg')).toBeUndefined();
    });

    it('is for the administrator only', async () => {
      const r = await a.app.inject({
        method: 'GET',
        url: '/v1/admin/messengers',
        headers: bearer(a.tokens.anna!),
      });
      expect(r.statusCode).toBe(403);
    });
  });
}
