import {
  LIVECHAT_CHANNEL,
  type LivechatMessage,
  type LivechatReader,
  PRE_CHAT_FIELDS,
  type WidgetSettings,
} from '../../channels/widgets.js';
import { ttlCache } from '../../lib/ttl-cache.js';
import type { Queryable } from '../db/database.js';
import { SETTINGS_CACHE_MS } from './channel-settings.repository.js';

/* Live-chat widgets (migration 015): written by the admin API, read by the visitor socket and the live-chat sender. */

interface WidgetRow {
  key: string;
  name: string;
  allowed_origins: string[];
  colors: WidgetSettings['colors'];
  texts: WidgetSettings['texts'];
  pre_chat: WidgetSettings['preChat'];
  source: string | null;
  region_id: number | null;
  active: boolean;
}

const toWidget = (r: WidgetRow): WidgetSettings => ({
  key: r.key,
  name: r.name,
  allowedOrigins: r.allowed_origins,
  colors: r.colors,
  texts: r.texts,
  preChat: r.pre_chat,
  source: r.source ?? undefined,
  regionId: r.region_id ?? undefined,
  active: r.active,
});

export async function listWidgets(db: Queryable): Promise<WidgetSettings[]> {
  return (await db.query<WidgetRow>('SELECT * FROM widgets ORDER BY key')).rows.map(toWidget);
}

export async function getWidget(db: Queryable, key: string): Promise<WidgetSettings | undefined> {
  const r = (await db.query<WidgetRow>('SELECT * FROM widgets WHERE key = $1', [key])).rows[0];
  return r && toWidget(r);
}

export async function upsertWidget(db: Queryable, w: WidgetSettings): Promise<void> {
  await db.query(
    `INSERT INTO widgets (key, name, allowed_origins, colors, texts, pre_chat, source, region_id, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, allowed_origins = EXCLUDED.allowed_origins,
       colors = EXCLUDED.colors, texts = EXCLUDED.texts, pre_chat = EXCLUDED.pre_chat, source = EXCLUDED.source,
       region_id = EXCLUDED.region_id, active = EXCLUDED.active, updated_at = now()`,
    [
      w.key,
      w.name,
      w.allowedOrigins,
      JSON.stringify(w.colors),
      JSON.stringify(w.texts),
      JSON.stringify(w.preChat),
      w.source ?? null,
      w.regionId ?? null,
      w.active,
    ],
  );
}

export async function deleteWidget(db: Queryable, key: string): Promise<boolean> {
  return (await db.query('DELETE FROM widgets WHERE key = $1', [key])).rowCount > 0;
}

interface VisitorMessageRow {
  id: number;
  direction: 'inbound' | 'outbound';
  vendor_message_id: string | null;
  chat_id: string;
  text: string | null;
  occurred_at: Date;
  author: string | null;
  status: string | null;
}

/** What a visitor is shown: their own messages with text, and operators' replies that did not fail. */
const VISIBLE = `(m.direction = 'outbound' AND m.status IS DISTINCT FROM 'failed') OR
                 (m.direction = 'inbound' AND m.text IS NOT NULL)`;
const SELECT_VISITOR = `SELECT m.id, m.direction, m.vendor_message_id, c.chat_id, m.text, m.occurred_at, m.status, o.name AS author
  FROM messages m JOIN conversations c ON c.id = m.conversation_id LEFT JOIN operators o ON o.id = m.operator_id`;

/** A visitor's message vendor id is `<visitorId>:<clientId>` (connectors/livechat/events.ts). */
const toVisitorMessage = (r: VisitorMessageRow): LivechatMessage => {
  const prefix = `${r.chat_id}:`;
  const own = r.direction === 'inbound' && r.vendor_message_id?.startsWith(prefix);
  return {
    id: Number(r.id),
    ...(own ? { clientId: r.vendor_message_id!.slice(prefix.length) } : {}),
    direction: r.direction === 'inbound' ? 'in' : 'out',
    text: r.text ?? '',
    sentAt: new Date(r.occurred_at).toISOString(),
    ...(r.direction === 'outbound' && r.author ? { author: r.author } : {}),
  };
};

/** The visitor socket's read-only view (connectors/livechat); the widget itself is cached like other settings. */
export function livechatReader(db: Queryable, cacheMs = SETTINGS_CACHE_MS): LivechatReader {
  const widget = ttlCache((key) => getWidget(db, key), cacheMs);
  return {
    getWidget: widget,
    async history(widgetKey, visitorId, { after, limit, overlap = 0 }) {
      const r = await db.query<VisitorMessageRow>(
        `WITH mine AS (
           ${SELECT_VISITOR}
            WHERE c.channel = $1 AND c.account_key = $2 AND c.chat_id = $3 AND (${VISIBLE})
         ),
         fresh AS (SELECT * FROM mine WHERE $4::bigint IS NULL OR id > $4 ORDER BY id DESC LIMIT $5),
         recent AS (SELECT * FROM mine ORDER BY id DESC LIMIT $6)
         SELECT * FROM fresh UNION SELECT * FROM recent ORDER BY id`,
        [LIVECHAT_CHANNEL, widgetKey, visitorId, after ?? null, limit, after == null ? 0 : overlap],
      );
      return r.rows.map((row) => ({ message: toVisitorMessage(row), status: row.status }));
    },
    async message(widgetKey, visitorId, id) {
      const r = await db.query<VisitorMessageRow>(
        `${SELECT_VISITOR} WHERE m.id = $4 AND c.channel = $1 AND c.account_key = $2 AND c.chat_id = $3 AND (${VISIBLE})`,
        [LIVECHAT_CHANNEL, widgetKey, visitorId, id],
      );
      const row = r.rows[0];
      return row && { message: toVisitorMessage(row), status: row.status };
    },
    async messageId(widgetKey, vendorMessageId) {
      const r = await db.query<{ id: number }>(
        'SELECT id FROM messages WHERE channel = $1 AND account_key = $2 AND vendor_message_id = $3',
        [LIVECHAT_CHANNEL, widgetKey, vendorMessageId],
      );
      return r.rows[0] ? Number(r.rows[0].id) : undefined;
    },
    async conversation(widgetKey, visitorId) {
      const r = await db.query<{ id: number; open: boolean }>(
        `SELECT id, status = 'open' AS open FROM conversations WHERE channel = $1 AND account_key = $2 AND chat_id = $3
          ORDER BY (status = 'open') DESC, id DESC LIMIT 1`,
        [LIVECHAT_CHANNEL, widgetKey, visitorId],
      );
      return r.rows[0] ? { id: Number(r.rows[0].id), open: r.rows[0].open } : undefined;
    },
    async operatorsOnline(regionId) {
      const r = await db.query<{ online: boolean }>(
        `SELECT EXISTS (
           SELECT 1 FROM operators o
            WHERE o.active AND o.status = 'online'
              AND ($1::int IS NULL OR EXISTS (
                SELECT 1 FROM operator_regions r WHERE r.operator_id = o.id AND r.region_id = $1))
         ) AS online`,
        [regionId ?? null],
      );
      return r.rows[0]?.online === true;
    },
    async visitorContact(visitorId) {
      const r = await db.query<{ name: boolean; phone: boolean; email: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM identities i WHERE i.owner_type = w.owner_type AND i.owner_id = w.owner_id
                          AND i.kind = 'phone') AS phone,
                EXISTS (SELECT 1 FROM identities i WHERE i.owner_type = w.owner_type AND i.owner_id = w.owner_id
                          AND i.kind = 'email') AS email,
                CASE w.owner_type WHEN 'lead' THEN (SELECT name FROM leads WHERE id = w.owner_id)
                                  WHEN 'contact' THEN (SELECT name FROM contacts WHERE id = w.owner_id)
                                  WHEN 'company' THEN (SELECT name FROM companies WHERE id = w.owner_id)
                END IS NOT NULL AS name
           FROM identities w WHERE w.kind = $1 AND w.value = $2`,
        [LIVECHAT_CHANNEL, visitorId],
      );
      const row = r.rows[0];
      return row ? PRE_CHAT_FIELDS.filter((f) => row[f]) : [];
    },
  };
}
