import type { MessengerAccountSettings, MessengerVendor } from '../../channels/messengers.js';
import { MESSENGER_SECRETS } from '../../channels/messengers.js';
import type { Queryable } from '../db/database.js';

/* Messenger accounts: written by the admin API, read by connectors (ChannelSettings) and outbound senders. */

interface AccountRow {
  key: string;
  vendor: MessengerVendor;
  name: string;
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
  source: string | null;
  region_id: number | null;
  active: boolean;
}

const toAccount = (r: AccountRow): MessengerAccountSettings =>
  ({
    ...r.settings,
    ...r.secrets,
    key: r.key,
    vendor: r.vendor,
    name: r.name,
    source: r.source ?? undefined,
    regionId: r.region_id ?? undefined,
    active: r.active,
  }) as MessengerAccountSettings;

/** Splits an account into its columns: the vendor's secret fields go to `secrets`, the rest to `settings`. */
function columns(a: MessengerAccountSettings) {
  const { key, vendor, name, source, regionId, active, ...rest } = a;
  const secretNames = new Set(MESSENGER_SECRETS[vendor]);
  const settings: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest))
    if (v !== undefined) (secretNames.has(k) ? secrets : settings)[k] = v;
  return { key, vendor, name, source: source ?? null, regionId: regionId ?? null, active, settings, secrets };
}

export async function listMessengerAccounts(db: Queryable): Promise<MessengerAccountSettings[]> {
  return (await db.query<AccountRow>('SELECT * FROM messenger_accounts ORDER BY key')).rows.map(toAccount);
}

export async function getMessengerAccount(
  db: Queryable,
  key: string,
): Promise<MessengerAccountSettings | undefined> {
  const r = (await db.query<AccountRow>('SELECT * FROM messenger_accounts WHERE key = $1', [key])).rows[0];
  return r && toAccount(r);
}

export async function upsertMessengerAccount(db: Queryable, a: MessengerAccountSettings): Promise<void> {
  const c = columns(a);
  await db.query(
    `INSERT INTO messenger_accounts (key, vendor, name, settings, secrets, source, region_id, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (key) DO UPDATE SET vendor = EXCLUDED.vendor, name = EXCLUDED.name, settings = EXCLUDED.settings,
       secrets = EXCLUDED.secrets, source = EXCLUDED.source, region_id = EXCLUDED.region_id,
       active = EXCLUDED.active, updated_at = now()`,
    [
      c.key,
      c.vendor,
      c.name,
      JSON.stringify(c.settings),
      JSON.stringify(c.secrets),
      c.source,
      c.regionId,
      c.active,
    ],
  );
}

export async function deleteMessengerAccount(db: Queryable, key: string): Promise<boolean> {
  return (await db.query('DELETE FROM messenger_accounts WHERE key = $1', [key])).rowCount > 0;
}
