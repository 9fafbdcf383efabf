import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStore } from '../../../crm-core/repositories/store.repository.js';
import { type ApiTestApp, admin, apiBackends, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';

const MASK = '********';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`admin stores API on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: object) =>
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
    const shop = { name: 'Shop', secret: 'store-secret-0123456789', platform: 'woocommerce', source: 'site' };

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('creates (201), replaces (200), never shows the secret, keeps it when the mask is sent back', async () => {
      const created = await call('PUT', '/v1/admin/stores/shop', shop);
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({
        key: 'shop',
        name: 'Shop',
        platform: 'woocommerce',
        secret: MASK,
      });
      expect(JSON.stringify((await call('GET', '/v1/admin/stores')).json())).not.toContain(shop.secret);
      const again = await call('PUT', '/v1/admin/stores/shop', { ...shop, name: 'Shop 2', secret: MASK });
      expect(again.statusCode).toBe(200);
      expect(await getStore(t.db, 'shop')).toMatchObject({
        name: 'Shop 2',
        secret: shop.secret,
        active: true,
      });
      const noSecret = await call('PUT', '/v1/admin/stores/shop', { name: 'Shop 3' });
      expect(noSecret.statusCode).toBe(200);
      expect((await getStore(t.db, 'shop'))?.secret).toBe(shop.secret);
      expect((await call('DELETE', '/v1/admin/stores/shop')).statusCode).toBe(204);
      expectError(await call('GET', '/v1/admin/stores/shop'), 404, 'NOT_FOUND', 'key');
    });

    it('names the field: missing or short secret, unknown platform, missing region', async () => {
      expectError(await call('PUT', '/v1/admin/stores/s2', { name: 'S' }), 400, 'VALIDATION', 'secret');
      expectError(
        await call('PUT', '/v1/admin/stores/s2', { name: 'S', secret: 'short' }),
        400,
        'VALIDATION',
        'secret',
      );
      expectError(
        await call('PUT', '/v1/admin/stores/s2', { ...shop, platform: 'shopify' }),
        400,
        'VALIDATION',
        'platform',
      );
      expectError(
        await call('PUT', '/v1/admin/stores/s2', { ...shop, regionId: 999_999 }),
        422,
        'UNPROCESSABLE',
        'regionId',
      );
      expect(await getStore(t.db, 's2')).toBeUndefined();
    });
  });
}
