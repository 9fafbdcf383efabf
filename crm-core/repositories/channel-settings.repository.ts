import type {
  ChannelSettings,
  CursorStore,
  FormSettings,
  MailboxSettings,
  TelephonyLineSettings,
} from '../../channels/settings.js';
import { ttlCache } from '../../lib/ttl-cache.js';
import type { Queryable } from '../db/database.js';
import { getMessengerAccount, listMessengerAccounts } from './messenger-account.repository.js';
import { getStore } from './store.repository.js';

/* Channel settings: written by the admin API, read by connectors through the ChannelSettings interface. */

interface FormRow {
  key: string;
  name: string;
  field_map: FormSettings['fieldMap'];
  allowed_origins: string[];
  honeypot_field: string | null;
  redirect_url: string | null;
  region_id: number | null;
  active: boolean;
}
const toForm = (r: FormRow): FormSettings => ({
  key: r.key,
  name: r.name,
  fieldMap: r.field_map,
  allowedOrigins: r.allowed_origins,
  honeypotField: r.honeypot_field ?? undefined,
  redirectUrl: r.redirect_url ?? undefined,
  regionId: r.region_id ?? undefined,
  active: r.active,
});

interface LineRow {
  key: string;
  name: string;
  number: string | null;
  secret: string;
  source: string | null;
  region_id: number | null;
  create_lead_on_outbound: boolean;
  options: Record<string, unknown>;
  active: boolean;
}
const toLine = (r: LineRow): TelephonyLineSettings => ({
  key: r.key,
  name: r.name,
  number: r.number ?? undefined,
  secret: r.secret,
  source: r.source ?? undefined,
  regionId: r.region_id ?? undefined,
  createLeadOnOutbound: r.create_lead_on_outbound,
  options: r.options,
  active: r.active,
});

interface MailboxRow {
  id: number;
  name: string;
  address: string;
  imap: MailboxSettings['imap'];
  smtp: MailboxSettings['smtp'] | null;
  folders: string[];
  sync_since: Date | null;
  processed: MailboxSettings['processed'];
  attachment_max_bytes: number;
  active: boolean;
}
const toMailbox = (r: MailboxRow): MailboxSettings => ({
  id: r.id,
  name: r.name,
  address: r.address,
  imap: r.imap,
  smtp: r.smtp ?? undefined,
  folders: r.folders,
  syncSince: r.sync_since ? new Date(r.sync_since).toISOString() : undefined,
  processed: r.processed,
  attachmentMaxBytes: r.attachment_max_bytes,
  active: r.active,
});

export async function listForms(db: Queryable): Promise<FormSettings[]> {
  return (await db.query<FormRow>('SELECT * FROM forms ORDER BY key')).rows.map(toForm);
}
export async function getForm(db: Queryable, key: string): Promise<FormSettings | undefined> {
  const r = (await db.query<FormRow>('SELECT * FROM forms WHERE key = $1', [key])).rows[0];
  return r && toForm(r);
}
export async function upsertForm(db: Queryable, f: FormSettings): Promise<void> {
  await db.query(
    `INSERT INTO forms (key, name, field_map, allowed_origins, honeypot_field, redirect_url, region_id, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, field_map = EXCLUDED.field_map,
       allowed_origins = EXCLUDED.allowed_origins, honeypot_field = EXCLUDED.honeypot_field,
       redirect_url = EXCLUDED.redirect_url, region_id = EXCLUDED.region_id, active = EXCLUDED.active`,
    [
      f.key,
      f.name,
      JSON.stringify(f.fieldMap),
      f.allowedOrigins,
      f.honeypotField ?? null,
      f.redirectUrl ?? null,
      f.regionId ?? null,
      f.active,
    ],
  );
}
export async function deleteForm(db: Queryable, key: string): Promise<boolean> {
  return (await db.query('DELETE FROM forms WHERE key = $1', [key])).rowCount > 0;
}

export async function listLines(db: Queryable): Promise<TelephonyLineSettings[]> {
  return (await db.query<LineRow>('SELECT * FROM telephony_lines ORDER BY key')).rows.map(toLine);
}
export async function getLine(db: Queryable, key: string): Promise<TelephonyLineSettings | undefined> {
  const r = (await db.query<LineRow>('SELECT * FROM telephony_lines WHERE key = $1', [key])).rows[0];
  return r && toLine(r);
}
export async function upsertLine(db: Queryable, l: TelephonyLineSettings): Promise<void> {
  await db.query(
    `INSERT INTO telephony_lines (key, name, number, secret, source, region_id, create_lead_on_outbound, options, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, number = EXCLUDED.number, secret = EXCLUDED.secret,
       source = EXCLUDED.source, region_id = EXCLUDED.region_id, create_lead_on_outbound = EXCLUDED.create_lead_on_outbound,
       options = EXCLUDED.options, active = EXCLUDED.active`,
    [
      l.key,
      l.name,
      l.number ?? null,
      l.secret,
      l.source ?? null,
      l.regionId ?? null,
      l.createLeadOnOutbound,
      JSON.stringify(l.options),
      l.active,
    ],
  );
}
export async function deleteLine(db: Queryable, key: string): Promise<boolean> {
  return (await db.query('DELETE FROM telephony_lines WHERE key = $1', [key])).rowCount > 0;
}

export async function listMailboxes(db: Queryable): Promise<MailboxSettings[]> {
  return (await db.query<MailboxRow>('SELECT * FROM mailboxes ORDER BY id')).rows.map(toMailbox);
}
export async function getMailbox(db: Queryable, id: number): Promise<MailboxSettings | undefined> {
  const r = (await db.query<MailboxRow>('SELECT * FROM mailboxes WHERE id = $1', [id])).rows[0];
  return r && toMailbox(r);
}
/** Column values of a mailbox row, in the order both statements below use ($1..$9 / $2..$10). */
const mailboxValues = (m: Omit<MailboxSettings, 'id'>) => [
  m.name,
  m.address,
  JSON.stringify(m.imap),
  m.smtp ? JSON.stringify(m.smtp) : null,
  m.folders,
  m.syncSince ?? null,
  JSON.stringify(m.processed),
  m.attachmentMaxBytes,
  m.active,
];

export async function insertMailbox(db: Queryable, m: Omit<MailboxSettings, 'id'>): Promise<number> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO mailboxes (name, address, imap, smtp, folders, sync_since, processed, attachment_max_bytes, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    mailboxValues(m),
  );
  return r.rows[0]!.id;
}
export async function updateMailbox(
  db: Queryable,
  id: number,
  m: Omit<MailboxSettings, 'id'>,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE mailboxes SET name = $2, address = $3, imap = $4, smtp = $5, folders = $6, sync_since = $7, processed = $8,
            attachment_max_bytes = $9, active = $10 WHERE id = $1`,
    [id, ...mailboxValues(m)],
  );
  return r.rowCount > 0;
}
export async function deleteMailbox(db: Queryable, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM mailboxes WHERE id = $1', [id])).rowCount > 0;
}

/** Webhooks read their form or line on every request; a few seconds of caching saves that round trip. */
export const SETTINGS_CACHE_MS = 5_000;

/** The read-only view connectors get (forms, lines, messenger accounts and stores cached for SETTINGS_CACHE_MS). */
export function channelSettings(db: Queryable, cacheMs = SETTINGS_CACHE_MS): ChannelSettings {
  const form = ttlCache((key) => getForm(db, key), cacheMs);
  const line = ttlCache((key) => getLine(db, key), cacheMs);
  const account = ttlCache((key) => getMessengerAccount(db, key), cacheMs);
  const store = ttlCache((key) => getStore(db, key), cacheMs);
  return {
    getForm: form,
    getTelephonyLine: line,
    listMailboxes: async () => (await listMailboxes(db)).filter((m) => m.active),
    getMessengerAccount: account,
    listMessengerAccounts: () => listMessengerAccounts(db),
    getStore: store,
  };
}

/** Connectors' cursors: the only thing a connector may write, and only its own rows. */
export function cursorStore(db: Queryable): CursorStore {
  return {
    async get<T>(connector: string, key: string) {
      const r = await db.query<{ value: T }>(
        'SELECT value FROM connector_cursors WHERE connector = $1 AND key = $2',
        [connector, key],
      );
      return r.rows[0]?.value;
    },
    async set(connector, key, value) {
      await db.query(
        `INSERT INTO connector_cursors (connector, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (connector, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [connector, key, JSON.stringify(value)],
      );
    },
  };
}
