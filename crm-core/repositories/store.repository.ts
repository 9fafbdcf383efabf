import type { StorePlatform, StoreSettings } from '../../channels/settings.js';
import type { Queryable } from '../db/database.js';

/* Online stores: written by the admin API, read by the store connector (ChannelSettings.getStore). */

interface StoreRow {
  key: string;
  name: string;
  secret: string;
  platform: StorePlatform;
  source: string | null;
  region_id: number | null;
  active: boolean;
}

const toStore = (r: StoreRow): StoreSettings => ({
  key: r.key,
  name: r.name,
  secret: r.secret,
  platform: r.platform,
  source: r.source ?? undefined,
  regionId: r.region_id ?? undefined,
  active: r.active,
});

export async function listStores(db: Queryable): Promise<StoreSettings[]> {
  return (await db.query<StoreRow>('SELECT * FROM stores ORDER BY key')).rows.map(toStore);
}

export async function getStore(db: Queryable, key: string): Promise<StoreSettings | undefined> {
  const r = (await db.query<StoreRow>('SELECT * FROM stores WHERE key = $1', [key])).rows[0];
  return r && toStore(r);
}

export async function upsertStore(db: Queryable, s: StoreSettings): Promise<void> {
  await db.query(
    `INSERT INTO stores (key, name, secret, platform, source, region_id, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, secret = EXCLUDED.secret, platform = EXCLUDED.platform,
       source = EXCLUDED.source, region_id = EXCLUDED.region_id, active = EXCLUDED.active, updated_at = now()`,
    [s.key, s.name, s.secret, s.platform, s.source ?? null, s.regionId ?? null, s.active],
  );
}

export async function deleteStore(db: Queryable, key: string): Promise<boolean> {
  return (await db.query('DELETE FROM stores WHERE key = $1', [key])).rowCount > 0;
}
