import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestApp, admin, buildApiApp } from '../../support/api-app.js';
import { createTestPglite, type TestDatabase } from '../../support/db.js';
import { expectError } from '../../support/expect-error.js';

/**
 * Admin bodies are validated without coercion (api/validation.ts): a wrong JSON type is refused naming the field,
 * never converted (Fastify's default turned `priority: null` into 0, which moved a region to the top).
 */
describe('strict admin input', () => {
  let t: TestDatabase;
  let a: ApiTestApp;
  const call = (method: 'POST' | 'PUT' | 'PATCH' | 'GET', url: string, payload?: unknown) =>
    a.app.inject({
      method,
      url,
      headers: { ...admin, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });

  beforeAll(async () => {
    t = await createTestPglite();
    a = await buildApiApp(t);
  });
  afterAll(async () => {
    await a?.app.close();
    await t?.drop();
  });

  it('refuses wrong JSON types in bodies instead of converting them', async () => {
    const region = (await call('GET', '/v1/admin/regions')).json().items[0];
    const before = (await call('GET', `/v1/admin/regions/${region.id}`)).json();
    for (const [url, method, payload, field] of [
      ['/v1/admin/operators', 'POST', { login: 'x1', name: true }, 'name'],
      ['/v1/admin/operators', 'POST', { login: 'x2', name: 'X', active: null }, 'active'],
      ['/v1/admin/operators', 'POST', { login: 'x3', name: 'X', regionIds: 7 }, 'regionIds'],
      ['/v1/admin/operators', 'POST', { login: 'x4', name: 'X', regionIds: ['1'] }, 'regionIds.0'],
      [`/v1/admin/regions/${region.id}`, 'PATCH', { priority: null }, 'priority'],
      [`/v1/admin/regions/${region.id}`, 'PATCH', { priority: 'Infinity' }, 'priority'],
      [`/v1/admin/regions/${region.id}`, 'PATCH', { priority: 1.5 }, 'priority'],
      ['/v1/admin/settings/default-operator', 'PUT', { operatorId: 'Infinity' }, 'operatorId'],
      ['/v1/admin/settings/default-operator', 'PUT', { operatorId: '1' }, 'operatorId'],
      ['/v1/admin/forms/f1', 'PUT', { name: 1 }, 'name'],
      ['/v1/admin/telephony-lines/l1', 'PUT', { name: 'L', secret: 's'.repeat(16), active: 'yes' }, 'active'],
    ] as const) {
      expectError(await call(method, url, payload), 400, 'VALIDATION', field);
    }
    expect((await call('GET', `/v1/admin/regions/${region.id}`)).json()).toEqual(before);
    expect((await call('GET', '/v1/admin/operators')).json().items).toHaveLength(3);
  });

  it('refuses a mailbox port that is not an integer, and dates PostgreSQL cannot store', async () => {
    const mailbox = (over: object) => ({
      name: 'Sales',
      address: 'sales@example.com',
      imap: { host: 'imap.example.com', port: 993, secure: true, user: 'u', password: 'p' },
      ...over,
    });
    const imap = { host: 'h', port: 'Infinity', secure: true, user: 'u', password: 'p' };
    expectError(await call('POST', '/v1/admin/mailboxes', mailbox({ imap })), 400, 'VALIDATION', 'imap.port');
    for (const syncSince of ['0000-01-01T00:00:00Z', '2026-01-01T00:00:00-23:59', '2026-02-31T00:00:00Z']) {
      const r = await call('POST', '/v1/admin/mailboxes', mailbox({ syncSince }));
      expectError(r, 400, 'VALIDATION', 'syncSince');
    }
    expect((await call('GET', '/v1/admin/mailboxes')).json().items).toHaveLength(0);
    expect((await call('POST', '/v1/admin/mailboxes', mailbox({}))).statusCode).toBe(201);
  });

  it('refuses NUL, control characters and lone surrogates naming the field, also inside JSON settings', async () => {
    const line = { name: 'L', secret: 's'.repeat(16) };
    const imap = { host: 'h', port: 993, secure: true, user: 'u', password: 'p' };
    const mailbox = { name: 'M', address: 'm@example.com', imap };
    for (const [method, url, payload, field] of [
      ['POST', '/v1/admin/operators', { login: 'n1', name: 'A\u0000' }, 'name'],
      ['POST', '/v1/admin/regions', { code: 'r1', name: 'R\u0001' }, 'name'],
      [
        'PUT',
        '/v1/admin/telephony-lines/l2',
        { ...line, options: { authToken: 'a\ud800' } },
        'options.authToken',
      ],
      ['PUT', '/v1/admin/telephony-lines/l3', { ...line, options: { 'k\u0000': 1 } }, 'options.k'],
      ['PUT', '/v1/admin/forms/f2', { name: 'F', fieldMap: { phone: 'tel\udc00' } }, 'fieldMap.phone'],
      ['POST', '/v1/admin/mailboxes', { ...mailbox, imap: { ...imap, password: '\ud800' } }, 'imap.password'],
      ['GET', '/v1/clients/lookup?phone=%00', undefined, 'phone'],
    ] as const) {
      expectError(await call(method, url, payload), 400, 'VALIDATION', field);
    }
    expect(
      (await call('GET', '/v1/admin/telephony-lines')).json().items.map((l: { key: string }) => l.key),
    ).toEqual(['demo']);
    // Tabs and line breaks are text.
    const ok = await call('POST', '/v1/admin/regions', { code: 'r2', name: 'Two\tlines\n' });
    expect(ok.statusCode).toBe(201);
  });

  it('still reads numbers from query strings', async () => {
    const r = await call('GET', '/v1/leads?limit=5&offset=0');
    expect(r.statusCode).toBe(200);
    expect(r.json().limit).toBe(5);
    expectError(await call('GET', '/v1/leads?limit=Infinity'), 400, 'VALIDATION', 'limit');
  });
});
