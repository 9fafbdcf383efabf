import type { Queryable } from '../db/database.js';
import type { MessageRow } from './conversation.repository.js';

/**
 * Reads behind the console's live notices, run after the change committed (never inside the router's
 * transaction): who must hear of a routed event, and the message it brought.
 */
export interface RoutedDetail {
  event_id: string;
  activity_id: number;
  activity_type: string;
  responsible_id: number | null;
  owner_type: string;
  owner_id: number | null;
  region_id: number | null;
  client_name: string | null;
  source_name: string | null;
  conversation_id: number | null;
  message: MessageRow | null;
}

/** The owner's region, name and (for leads) source, by the owner columns of alias `a`. */
const ownerField = (field: 'region_id' | 'name', a = 'a') => `CASE ${a}.owner_type
    WHEN 'lead' THEN (SELECT ${field === 'name' ? 'COALESCE(name, title)' : field} FROM leads WHERE id = ${a}.owner_id)
    WHEN 'contact' THEN (SELECT ${field} FROM contacts WHERE id = ${a}.owner_id)
    WHEN 'company' THEN (SELECT ${field} FROM companies WHERE id = ${a}.owner_id) END`;

/**
 * One index probe per event at each step (LATERAL, LIMIT 1 on unique keys so it is not flattened back into
 * joins): as plain joins the planner, with statistics from when the tables were small, hashed all of
 * activities for each batch (40 ms at 22,000 rows in the WhatsApp bench).
 */
export async function routedDetails(db: Queryable, eventIds: string[]): Promise<RoutedDetail[]> {
  if (eventIds.length === 0) return [];
  const r = await db.query<RoutedDetail>(
    `SELECT p.event_id::text AS event_id, a.id AS activity_id, a.type AS activity_type, a.responsible_id,
            a.owner_type, a.owner_id, ${ownerField('region_id')} AS region_id, ${ownerField('name')} AS client_name,
            CASE a.owner_type WHEN 'lead' THEN (SELECT source_name FROM leads WHERE id = a.owner_id) END
              AS source_name,
            c.id AS conversation_id,
            (SELECT to_jsonb(m) FROM messages m WHERE m.conversation_id = c.id AND m.event_id = p.event_id
              ORDER BY m.id LIMIT 1) AS message
       FROM unnest($1::uuid[]) AS e(id)
       CROSS JOIN LATERAL (SELECT * FROM processed_events p WHERE p.event_id = e.id LIMIT 1) AS p
       CROSS JOIN LATERAL (SELECT * FROM activities a WHERE a.id = p.activity_id LIMIT 1) AS a
       LEFT JOIN LATERAL (SELECT c.id FROM conversations c WHERE c.activity_id = a.id LIMIT 1) AS c ON true`,
    [eventIds],
  );
  return r.rows;
}

/** Outbound messages by their vendor ids, with their current status (delivery statuses just applied). */
export async function messagesByVendorIds(
  db: Queryable,
  refs: { channel: string; accountKey: string; vendorMessageId: string }[],
): Promise<Pick<MessageRow, 'id' | 'conversation_id' | 'status' | 'error'>[]> {
  if (refs.length === 0) return [];
  const r = await db.query<Pick<MessageRow, 'id' | 'conversation_id' | 'status' | 'error'>>(
    `SELECT m.id, m.conversation_id, m.status, m.error
       FROM unnest($1::text[], $2::text[], $3::text[]) AS t(channel, account_key, vendor_message_id)
       CROSS JOIN LATERAL (
         SELECT * FROM messages m
          WHERE m.channel = t.channel AND m.account_key = t.account_key
            AND m.vendor_message_id = t.vendor_message_id AND m.direction = 'outbound'
          LIMIT 1) AS m`,
    [refs.map((x) => x.channel), refs.map((x) => x.accountKey), refs.map((x) => x.vendorMessageId)],
  );
  return r.rows;
}

/** The operators and region a conversation's work list entry belongs to. */
export async function conversationAudience(
  db: Queryable,
  conversationId: number,
): Promise<{ responsible_id: number | null; region_id: number | null } | undefined> {
  const r = await db.query<{ responsible_id: number | null; region_id: number | null }>(
    `SELECT a.responsible_id, ${ownerField('region_id')} AS region_id
       FROM conversations c JOIN activities a ON a.id = c.activity_id WHERE c.id = $1`,
    [conversationId],
  );
  return r.rows[0];
}

export async function operatorRegionIds(db: Queryable, operatorId: number): Promise<number[]> {
  const r = await db.query<{ region_id: number }>(
    'SELECT region_id FROM operator_regions WHERE operator_id = $1 ORDER BY region_id',
    [operatorId],
  );
  return r.rows.map((x) => x.region_id);
}

/** Where an activity sits in the work lists: its responsible, and its owner's responsible and region. */
export async function activityPlace(
  db: Queryable,
  activityId: number,
): Promise<
  { responsible_id: number | null; owner_responsible_id: number | null; region_id: number | null } | undefined
> {
  const r = await db.query<{
    responsible_id: number | null;
    owner_responsible_id: number | null;
    region_id: number | null;
  }>(
    `SELECT a.responsible_id, ${ownerField('region_id')} AS region_id,
            CASE a.owner_type WHEN 'lead' THEN (SELECT responsible_id FROM leads WHERE id = a.owner_id)
                              WHEN 'contact' THEN (SELECT responsible_id FROM contacts WHERE id = a.owner_id)
                              WHEN 'company' THEN (SELECT responsible_id FROM companies WHERE id = a.owner_id) END
              AS owner_responsible_id
       FROM activities a WHERE a.id = $1`,
    [activityId],
  );
  return r.rows[0];
}
