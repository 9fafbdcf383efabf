import type { Queryable } from '../db/database.js';
import { entityVisibleSql, ownedVisibleSql, type Viewer } from './visibility.repository.js';

/**
 * The operator's work list in one query: open conversations, new leads, emails awaiting an answer, missed calls
 * and other planned callbacks, each filtered by the one visibility rule (visibility.repository.ts), so an
 * operator gets their own plus the unassigned queue of their regions and a supervisor their regions.
 */
export type WorkKind = 'conversation' | 'lead' | 'email' | 'missed_call' | 'callback';

export interface WorkRow {
  kind: WorkKind;
  id: number;
  activity_id: number | null;
  owner_type: string;
  owner_id: number | null;
  client_name: string | null;
  region_id: number | null;
  channel: string | null;
  preview: string | null;
  /** When the client started waiting for us; NULL when nobody waits (an answered conversation). */
  waiting_since: Date | null;
  last_activity_at: Date;
  deadline: Date | null;
  responsible_id: number | null;
}

/** How far back an unanswered email still counts as waiting (older ones are the counters' business). */
const EMAIL_WINDOW_DAYS = 30;

export async function listWork(db: Queryable, v: Viewer, limit: number): Promise<WorkRow[]> {
  const params: unknown[] = [];
  const visibleActivity = (alias: string) => ownedVisibleSql(v, params, alias);
  const conversations = `
    SELECT 'conversation' AS kind, c.id, a.id AS activity_id, c.owner_type, c.owner_id, c.channel,
           (SELECT m.text FROM messages m WHERE m.conversation_id = c.id ORDER BY m.occurred_at DESC, m.id DESC
             LIMIT 1) AS preview,
           CASE WHEN a.state = 'planned' THEN COALESCE(c.last_inbound_at, c.last_message_at) END AS waiting_since,
           c.last_message_at AS last_activity_at, a.deadline, a.responsible_id
      FROM conversations c JOIN activities a ON a.id = c.activity_id
     WHERE c.status = 'open' AND ${visibleActivity('a')}`;
  const leads = `
    SELECT 'lead', l.id, NULL::bigint, 'lead', l.id, l.channel, l.title, l.created_at, l.updated_at, NULL::timestamptz,
           l.responsible_id
      FROM leads l
     WHERE l.status = 'new' AND ${entityVisibleSql(v, params, 'lead', 'l')}`;
  // The client's latest email, when nothing went out to them after it.
  const emails = `
    SELECT * FROM (
      SELECT DISTINCT ON (a.owner_type, a.owner_id) 'email', a.id, a.id, a.owner_type, a.owner_id, a.channel,
             a.subject, a.created_at, a.created_at AS last_at, a.deadline, a.responsible_id
        FROM activities a
       WHERE a.type = 'email' AND a.direction = 'inbound' AND a.owner_type <> 'queue'
         AND a.created_at > now() - interval '${EMAIL_WINDOW_DAYS} days'
         AND NOT EXISTS (SELECT 1 FROM activities o WHERE o.type = 'email' AND o.direction = 'outbound'
                          AND o.owner_type = a.owner_type AND o.owner_id = a.owner_id AND o.created_at > a.created_at)
         AND ${visibleActivity('a')}
       ORDER BY a.owner_type, a.owner_id, a.created_at DESC) e`;
  const callbacks = `
    SELECT CASE WHEN a.details ? 'missedCall' THEN 'missed_call' ELSE 'callback' END, a.id, a.id, a.owner_type,
           a.owner_id, a.channel, a.subject, a.created_at, a.updated_at, a.deadline, a.responsible_id
      FROM activities a
     WHERE a.type = 'callback' AND a.state = 'planned' AND ${visibleActivity('a')}`;
  params.push(limit);
  const r = await db.query<WorkRow>(
    `WITH w AS (${conversations} UNION ALL ${leads} UNION ALL ${emails} UNION ALL ${callbacks})
     SELECT w.*,
            CASE w.owner_type WHEN 'lead' THEN (SELECT COALESCE(name, title) FROM leads WHERE id = w.owner_id)
                              WHEN 'contact' THEN (SELECT name FROM contacts WHERE id = w.owner_id)
                              WHEN 'company' THEN (SELECT name FROM companies WHERE id = w.owner_id) END AS client_name,
            CASE w.owner_type WHEN 'lead' THEN (SELECT region_id FROM leads WHERE id = w.owner_id)
                              WHEN 'contact' THEN (SELECT region_id FROM contacts WHERE id = w.owner_id)
                              WHEN 'company' THEN (SELECT region_id FROM companies WHERE id = w.owner_id) END AS region_id
       FROM w
      ORDER BY w.waiting_since ASC NULLS LAST, w.last_activity_at DESC, w.kind, w.id
      LIMIT $${params.length}`,
    params,
  );
  return r.rows;
}
