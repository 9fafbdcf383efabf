import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestApp, admin, apiBackends, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';
import { formEvent } from '../../support/events.js';

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`admin regions API on ${backend.name}`, () => {
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

    describe('regions and the default operator', () => {
      it('creates, changes and deletes a region, telling the router each time', async () => {
        const before = a.regionsChanged.count;
        const r = await call('POST', '/v1/admin/regions', {
          code: 'kzn',
          name: 'Kazan',
          strategy: 'least_loaded',
          priority: 5,
          rules: [
            { kind: 'phone_prefix', value: '+7843' },
            { kind: 'form_city', value: 'Kazan' },
          ],
        });
        expect(r.statusCode).toBe(201);
        const region = r.json();
        expect(region).toMatchObject({
          code: 'kzn',
          strategy: 'least_loaded',
          defaultOperatorId: null,
          rules: [
            { kind: 'phone_prefix', value: '+7843' },
            { kind: 'form_city', value: 'Kazan' },
          ],
        });
        const p = await call('PATCH', `/v1/admin/regions/${region.id}`, {
          rules: [{ kind: 'country', value: 'KZ' }],
          defaultOperatorId: a.ops.vera,
        });
        expect(p.json()).toMatchObject({
          name: 'Kazan',
          defaultOperatorId: a.ops.vera,
          rules: [{ kind: 'country', value: 'KZ' }],
        });
        expect((await call('GET', '/v1/admin/regions')).json().items[0].code).toBe('kzn');
        expect((await call('DELETE', `/v1/admin/regions/${region.id}`)).statusCode).toBe(204);
        expectError(await call('GET', `/v1/admin/regions/${region.id}`), 404, 'NOT_FOUND', 'id');
        expect(a.regionsChanged.count).toBe(before + 3);
      });

      it('rejects a bad rule kind or strategy with 400 naming the field', async () => {
        const bad = await call('POST', '/v1/admin/regions', {
          code: 'x',
          name: 'X',
          rules: [
            { kind: 'phone_prefix', value: '+7' },
            { kind: 'zip', value: '123' },
          ],
        });
        expectError(bad, 400, 'VALIDATION', 'rules.1.kind');
        expect(bad.json().error.message).toMatch(
          /phone_prefix, country, called_line, form_region, form_city/,
        );
        expectError(
          await call('POST', '/v1/admin/regions', { code: 'x', name: 'X', strategy: 'random' }),
          400,
          'VALIDATION',
          'strategy',
        );
        expectError(
          await call('POST', '/v1/admin/regions', { code: 'x', name: 'X', rules: [{ kind: 'country' }] }),
          400,
          'VALIDATION',
          'rules.0.value',
        );
      });

      it('answers 409 for a duplicate code, 422 for an unknown default operator or a region still in use', async () => {
        expectError(
          await call('POST', '/v1/admin/regions', { code: 'msk', name: 'Moscow 2' }),
          409,
          'CONFLICT',
          'code',
        );
        expectError(
          await call('POST', '/v1/admin/regions', {
            code: 'nsk',
            name: 'Novosibirsk',
            defaultOperatorId: 99999,
          }),
          422,
          'UNPROCESSABLE',
          'defaultOperatorId',
        );
        await a.router.handle([formEvent({ phone: '+74954440000', region: 'Moscow' })]);
        const msk = (await call('GET', '/v1/admin/regions'))
          .json()
          .items.find((x: { code: string }) => x.code === 'msk');
        expectError(await call('DELETE', `/v1/admin/regions/${msk.id}`), 422, 'UNPROCESSABLE', 'id');
      });

      it('sets, reads and clears the global default operator; unknown operators are 422', async () => {
        expect(
          (await call('PUT', '/v1/admin/settings/default-operator', { operatorId: a.ops.boris })).json(),
        ).toEqual({ operatorId: a.ops.boris });
        expect((await call('GET', '/v1/admin/settings/default-operator')).json()).toEqual({
          operatorId: a.ops.boris,
        });
        expectError(
          await call('PUT', '/v1/admin/settings/default-operator', { operatorId: 99999 }),
          422,
          'UNPROCESSABLE',
          'operatorId',
        );
        expectError(
          await call('PUT', '/v1/admin/settings/default-operator', {}),
          400,
          'VALIDATION',
          'operatorId',
        );
        expect(
          (await call('PUT', '/v1/admin/settings/default-operator', { operatorId: null })).json(),
        ).toEqual({ operatorId: null });
      });
    });
  });
}
