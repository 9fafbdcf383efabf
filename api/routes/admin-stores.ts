import type { FastifyInstance } from 'fastify';
import { STORE_PLATFORMS, type StoreSettings } from '../../channels/settings.js';
import * as repo from '../../crm-core/repositories/store.repository.js';
import type { RouteContext } from './context.js';
import { MIN_SECRET, registerKeyedResource, requiredSecret } from './keyed-resource.js';
import { MASK } from './present.js';
import * as s from './schemas.js';

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
  const db = ctx.db;
  registerKeyedResource<StoreSettings, StoreBody>(app, {
    path: '/v1/admin/stores',
    tag: 'admin: stores',
    noun: 'store',
    onRequest: ctx.auth.requireAdmin,
    item: store,
    body: s.body(storeFields, ['name']),
    summaries: {
      list: 'List online stores (secrets masked)',
      get: 'One online store (secret masked)',
      put: 'Create or replace an online store',
      delete: 'Delete an online store',
    },
    list: () => repo.listStores(db),
    get: (key) => repo.getStore(db, key),
    save: async (key, b, stored) => {
      const secret = requiredSecret(b.secret, stored?.secret, 'store');
      await repo.upsertStore(db, { ...b, key, secret, regionId: b.regionId ?? undefined });
    },
    remove: (key) => repo.deleteStore(db, key),
    present: masked,
  });
}
