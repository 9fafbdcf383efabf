import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestApp, admin, apiBackends, bearer, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`admin operators API on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      a.app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    const expectError = (
      r: { statusCode: number; json(): { error: unknown } },
      status: number,
      code: string,
      field: string,
    ) => {
      expect(r.statusCode).toBe(status);
      expect(r.json().error).toMatchObject({
        code,
        fields: [field],
        message: expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')}: `)),
      });
    };

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
    });
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    describe('operators', () => {
      let id: number;
      let token: string;

      it('creates an operator and shows the token once', async () => {
        const r = await call('POST', '/v1/admin/operators', {
          login: 'gleb',
          name: 'Gleb',
          extension: '301',
          regionIds: [],
          status: 'online',
        });
        expect(r.statusCode).toBe(201);
        ({ token } = r.json());
        id = r.json().operator.id;
        expect(token).toMatch(/^op_/);
        expect(r.json().operator).toMatchObject({
          login: 'gleb',
          extension: '301',
          status: 'online',
          active: true,
          regionIds: [],
        });
        expect((await call('GET', `/v1/admin/operators/${id}`)).json()).not.toHaveProperty('token');
        expect(
          (await a.app.inject({ method: 'GET', url: '/v1/leads', headers: bearer(token) })).statusCode,
        ).toBe(200);
      });

      it('lists and changes operators, replacing their regions', async () => {
        const regions = (await call('GET', '/v1/admin/regions')).json().items;
        const r = await call('PATCH', `/v1/admin/operators/${id}`, {
          name: 'Gleb S.',
          regionIds: [regions[0].id, regions[1].id],
        });
        expect(r.statusCode).toBe(200);
        expect(r.json()).toMatchObject({
          name: 'Gleb S.',
          login: 'gleb',
          regionIds: [regions[0].id, regions[1].id],
        });
        expect(
          (await call('GET', '/v1/admin/operators')).json().items.map((o: { login: string }) => o.login),
        ).toEqual(['anna', 'boris', 'vera', 'gleb']);
      });

      it('answers 409 naming login for a duplicate login, and 422 naming regionIds for an unknown region', async () => {
        expectError(
          await call('POST', '/v1/admin/operators', { login: 'anna', name: 'Another Anna' }),
          409,
          'CONFLICT',
          'login',
        );
        expectError(
          await call('PATCH', `/v1/admin/operators/${id}`, { extension: '101' }),
          409,
          'CONFLICT',
          'extension',
        );
        expectError(
          await call('POST', '/v1/admin/operators', { login: 'zed', name: 'Zed', regionIds: [99999] }),
          422,
          'UNPROCESSABLE',
          'regionIds',
        );
        // the failed create left nothing behind
        expect(
          (await call('GET', '/v1/admin/operators'))
            .json()
            .items.some((o: { login: string }) => o.login === 'zed'),
        ).toBe(false);
      });

      it('validates bodies, naming the field', async () => {
        expectError(
          await call('POST', '/v1/admin/operators', { name: 'No login' }),
          400,
          'VALIDATION',
          'login',
        );
        expectError(
          await call('POST', '/v1/admin/operators', { login: 'x', name: 'X', email: 'not-an-email' }),
          400,
          'VALIDATION',
          'email',
        );
        expectError(
          await call('PATCH', `/v1/admin/operators/${id}`, { status: 'busy' }),
          400,
          'VALIDATION',
          'status',
        );
      });

      it('rotates the token: the old one stops working', async () => {
        const r = await call('POST', `/v1/admin/operators/${id}/token`);
        expect(r.statusCode).toBe(200);
        const fresh = r.json().token;
        expect(fresh).not.toBe(token);
        expect(
          (await a.app.inject({ method: 'GET', url: '/v1/leads', headers: bearer(token) })).statusCode,
        ).toBe(401);
        token = fresh;
        expect(
          (await a.app.inject({ method: 'GET', url: '/v1/leads', headers: bearer(token) })).statusCode,
        ).toBe(200);
      });

      it('deactivates on DELETE: the token stops working, the row stays', async () => {
        const r = await call('DELETE', `/v1/admin/operators/${id}`);
        expect(r.json()).toMatchObject({ id, active: false, status: 'offline' });
        expect(
          (await a.app.inject({ method: 'GET', url: '/v1/leads', headers: bearer(token) })).statusCode,
        ).toBe(401);
        expect((await call('GET', `/v1/admin/operators/${id}`)).statusCode).toBe(200);
      });

      it('answers 404 for unknown operators', async () => {
        for (const [m, url] of [
          ['GET', '/v1/admin/operators/999999'],
          ['PATCH', '/v1/admin/operators/999999'],
          ['DELETE', '/v1/admin/operators/999999'],
          ['POST', '/v1/admin/operators/999999/token'],
        ] as const) {
          expectError(await call(m, url, m === 'PATCH' ? { name: 'x' } : undefined), 404, 'NOT_FOUND', 'id');
        }
      });
    });
  });
}
