import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getWidget } from '../../../crm-core/repositories/widget.repository.js';
import { type ApiTestApp, admin, bearer, buildApiApp } from '../../support/api-app.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { pgAvailable } from '../../support/services.js';

const WIDGET = {
  name: 'Shop chat',
  allowedOrigins: ['https://shop.example', 'http://localhost:8080'],
  colors: { primary: '#0a7d5a', text: '#ffffff' },
  texts: { ru: { title: 'Чат с магазином', greeting: 'Здравствуйте!' }, en: { title: 'Chat with us' } },
  preChat: { fields: ['name', 'phone'], required: ['phone'] },
  source: 'site chat',
};

describe.skipIf(!(await pgAvailable()))('admin widgets API on PostgreSQL', () => {
  let t: TestDatabase;
  let a: ApiTestApp;
  const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: object, headers = admin) =>
    a.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const expectField = (
    r: { statusCode: number; json(): { error: unknown } },
    status: number,
    field: string,
  ) => {
    expect(r.statusCode, JSON.stringify(r.json())).toBe(status);
    expect(r.json().error).toMatchObject({ fields: [field] });
  };

  beforeAll(async () => {
    t = await createTestPg();
    a = await buildApiApp(t);
  });
  afterAll(async () => {
    await a?.app.close();
    await t?.drop();
  });

  it('creates (201), reads with the embed tag, replaces (200), lists and deletes', async () => {
    const created = await call('PUT', '/v1/admin/widgets/shop', WIDGET);
    expect(created.statusCode).toBe(201);
    const base = a.config.publicUrl.replace(/\/$/, '');
    expect(created.json()).toEqual({
      key: 'shop',
      ...WIDGET,
      regionId: null,
      active: true,
      embed: `<script src="${base}/widget.js" data-widget="shop" async></script>`,
    });
    const region = (await t.db.query<{ id: number }>('SELECT id FROM regions ORDER BY id LIMIT 1')).rows[0]!
      .id;
    const replaced = await call('PUT', '/v1/admin/widgets/shop', {
      ...WIDGET,
      regionId: region,
      active: false,
    });
    expect(replaced.statusCode).toBe(200);
    expect(await getWidget(t.db, 'shop')).toMatchObject({
      regionId: region,
      active: false,
      source: 'site chat',
    });
    expect((await call('GET', '/v1/admin/widgets')).json().items.map((w: { key: string }) => w.key)).toEqual([
      'shop',
    ]);
    expect((await call('DELETE', '/v1/admin/widgets/shop')).statusCode).toBe(204);
    expectField(await call('GET', '/v1/admin/widgets/shop'), 404, 'key');
    expectField(await call('DELETE', '/v1/admin/widgets/shop'), 404, 'key');
  });

  it('names the field of every bad value and writes nothing', async () => {
    const put = (body: object) => call('PUT', '/v1/admin/widgets/bad', { ...WIDGET, ...body });
    expectField(await put({ allowedOrigins: ['shop.example'] }), 400, 'allowedOrigins.0');
    expectField(await put({ allowedOrigins: [] }), 400, 'allowedOrigins');
    expectField(await put({ colors: { primary: 'green' } }), 400, 'colors.primary');
    expectField(await put({ colors: { accent: '#000000' } }), 400, 'colors.accent');
    expectField(await put({ texts: { de: { title: 'Hallo' } } }), 400, 'texts.de');
    expectField(await put({ texts: { en: { titel: 'Hi' } } }), 400, 'texts.en.titel');
    expectField(await put({ texts: { en: { title: '' } } }), 400, 'texts.en.title');
    expectField(await put({ preChat: { fields: ['name', 'fax'] } }), 400, 'preChat.fields.1');
    expectField(await put({ preChat: { fields: ['name'], required: ['phone'] } }), 400, 'preChat.required');
    expectField(await put({ name: true }), 400, 'name');
    const { name: _n, ...noName } = WIDGET;
    expectField(await call('PUT', '/v1/admin/widgets/bad', noName), 400, 'name');
    expectField(await call('PUT', '/v1/admin/widgets/bad%00x', WIDGET), 400, 'key');
    expect((await put({ regionId: 999_999 })).statusCode).toBe(422);
    expect(await getWidget(t.db, 'bad')).toBeUndefined();
  });

  it('is for the administrator only', async () => {
    expect((await call('GET', '/v1/admin/widgets', undefined, bearer(a.tokens.anna!))).statusCode).toBe(403);
    expect((await call('PUT', '/v1/admin/widgets/x', WIDGET, bearer(a.tokens.anna!))).statusCode).toBe(403);
    expect((await call('GET', '/v1/admin/widgets', undefined, {} as typeof admin)).statusCode).toBe(401);
  });
});
