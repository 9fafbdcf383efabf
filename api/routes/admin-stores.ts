import type { FastifyInstance } from 'fastify';
import { STORE_PLATFORMS, type StoreSettings } from '../../channels/settings.js';
import * as repo from '../../crm-core/repositories/store.repository.js';
import { AppError } from '../../lib/errors.js';
import type { RouteContext } from './context.js';
import { keepSecret, MASK } from './present.js';
import * as s from './schemas.js';

/** Shared secrets are guessable below this; checked after unmasking (the mask itself is shorter). */
const MIN_SECRET = 16;

const storeFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  secret: {
    type: 'string',
    minLength: 1,
    maxLength: 500,
    description: `At least ${MIN_SECRET} characters; required for a new store; omit it (or send the mask back) to keep the stored one. For WooCommerce it is the webhook's Secret.`,
  },
  platform: { type: 'string', enum: [...STORE_PLATFORMS], default: 'generic' },
  source: { type: 'string', minLength: 1, maxLength: 200 },
  regionId: { ...s.id, nullable: true },
  active: { type: 'boolean', default: true },
};
const store = s.obj({ key: s.str, ...storeFields, regionId: s.int });

type StoreBody = Omit<StoreSettings, 'key' | 'regionId' | 'secret'> & {
  secret?: string;
  regionId?: number | null;
};

const masked = (st: StoreSettings): StoreSettings => ({ ...st, secret: MASK });

/**
 * Online stores posting orders to POST /v1/orders/:key (connectors/store), keyed like forms and lines, so PUT is
 * an upsert (201 when it created). The secret is write-only: answers carry the mask.
 */
export function adminStoreRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const T = 'admin: stores';
  const schema = (summary: string, parts: object, ok: Record<number, unknown>, ...codes: number[]) => ({
    tags: [T],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(401, ...codes) },
  });
  const params = { params: s.keyParams };
  const gone = (key: string) =>
    new AppError('NOT_FOUND', `key: store "${key}" not found`, { fields: ['key'] });

  app.get(
    '/v1/admin/stores',
    {
      onRequest,
      schema: schema(
        'List online stores (secrets masked)',
        {},
        { 200: s.obj({ items: { type: 'array', items: store } }) },
      ),
    },
    async () => ({ items: (await repo.listStores(db)).map(masked) }),
  );
  app.get<{ Params: { key: string } }>(
    '/v1/admin/stores/:key',
    { onRequest, schema: schema('One online store (secret masked)', params, { 200: store }, 400, 404) },
    async (request) => {
      const st = await repo.getStore(db, request.params.key);
      if (!st) throw gone(request.params.key);
      return masked(st);
    },
  );
  app.put<{ Params: { key: string }; Body: StoreBody }>(
    '/v1/admin/stores/:key',
    {
      onRequest,
      schema: schema(
        'Create or replace an online store',
        { ...params, body: s.body(storeFields, ['name']) },
        { 200: store, 201: store },
        400,
        422,
      ),
    },
    async (request, reply) => {
      const { key } = request.params;
      const b = request.body;
      const stored = await repo.getStore(db, key);
      const secret = keepSecret(b.secret, stored?.secret);
      if (!secret)
        throw new AppError('VALIDATION', 'secret: is required for a new store', { fields: ['secret'] });
      if (secret !== stored?.secret && secret.length < MIN_SECRET) {
        throw new AppError('VALIDATION', `secret: must be at least ${MIN_SECRET} characters`, {
          fields: ['secret'],
        });
      }
      await repo.upsertStore(db, { ...b, key, secret, regionId: b.regionId ?? undefined });
      return reply.code(stored ? 200 : 201).send(masked((await repo.getStore(db, key))!));
    },
  );
  app.delete<{ Params: { key: string } }>(
    '/v1/admin/stores/:key',
    { onRequest, schema: schema('Delete an online store', params, { 204: { type: 'null' } }, 400, 404) },
    async (request, reply) => {
      if (!(await repo.deleteStore(db, request.params.key))) throw gone(request.params.key);
      return reply.code(204).send();
    },
  );
}
