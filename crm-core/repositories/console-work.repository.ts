import type { Queryable } from '../db/database.js';
import { entityVisibleSql, type Viewer } from './visibility.repository.js';

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

/**
 * The viewer's visibility rule (visibility.repository.ts, ownedVisibleSql) shaped for a list over many
 * activities. Asked per row (an EXISTS per owner table, OR-ed), the planner can only guess how many rows pass,
 * guesses half, and scans: so the owners the viewer sees are listed once (`vis`, materialized), and the
 * activities of a kind are read as three disjoint parts whose union is exactly what ownedVisibleSql passes:
 *   1. those of a visible owner, found through the owner index (activities_owner) from `vis`;
 *   2. those the viewer is responsible for whose owner is not visible (activities_responsible);
 *   3. for a supervisor, those waiting in the queue (no owner) that are not theirs.
 * The admin sees everything: one plain scan.
 */
function visibleActivities(v: Viewer, params: unknown[]) {
  if (v.role === 'admin')
    return {
      cte: '',
      from: (where: string) => `(SELECT a.* FROM activities a WHERE ${where})`,
      check: () => 'TRUE',
    };
  const owners = (['lead', 'contact', 'company', 'deal'] as const).map(
    (t) =>
      `SELECT '${t}'::text AS owner_type, x.id AS owner_id FROM ${OWNER_TABLE[t]} x
        WHERE ${entityVisibleSql(v, params, t, 'x')}`,
  );
  params.push(v.operatorId ?? 0);
  const me = `$${params.length}::int`;
  return {
    cte: `vis AS MATERIALIZED (${owners.join(' UNION ALL ')}),`,
    /** One activity `x` at a time: the same rule, the owner looked up in `vis` (hashed once). */
    check: (x: string) =>
      `(${x}.responsible_id = ${me} OR (${x}.owner_type, ${x}.owner_id) IN (SELECT owner_type, owner_id FROM vis)${
        v.role === 'supervisor' ? ` OR ${x}.owner_type = 'queue'` : ''
      })`,
    from: (where: string) => `(
      SELECT a.* FROM vis JOIN activities a ON a.owner_type = vis.owner_type AND a.owner_id = vis.owner_id
       WHERE ${where}
      UNION ALL
      SELECT a.* FROM activities a
       WHERE a.responsible_id = ${me} AND ${where}
         AND NOT EXISTS (SELECT 1 FROM vis WHERE vis.owner_type = a.owner_type AND vis.owner_id = a.owner_id)
      ${
        v.role === 'supervisor'
          ? `UNION ALL
      SELECT a.* FROM activities a
       WHERE a.owner_type = 'queue' AND a.responsible_id IS DISTINCT FROM ${me} AND ${where}`
          : ''
      })`,
  };
}
const OWNER_TABLE = { lead: 'leads', contact: 'contacts', company: 'companies', deal: 'deals' } as const;

export async function listWork(db: Queryable, v: Viewer, limit: number): Promise<WorkRow[]> {
  const params: unknown[] = [];
  const visible = visibleActivities(v, params);
  // Open conversations are few next to activities: each one's activity is read by its key and checked with
  // the rule as it stands (OFFSET 0 keeps the planner from flattening this into a scan of all activities).
  const conversations = `
    SELECT 'conversation' AS kind, c.id, a.id AS activity_id, c.owner_type, c.owner_id, c.channel,
           NULL::text AS preview,
           CASE WHEN a.state = 'planned' THEN COALESCE(c.last_inbound_at, c.last_message_at) END AS waiting_since,
           c.last_message_at AS last_activity_at, a.deadline, a.responsible_id
      FROM conversations c
      CROSS JOIN LATERAL (SELECT x.id, x.state, x.deadline, x.responsible_id FROM activities x
                           WHERE x.id = c.activity_id AND ${visible.check('x')} OFFSET 0) a
     WHERE c.status = 'open'`;
  const leads = `
    SELECT 'lead', l.id, NULL::bigint, 'lead', l.id, l.channel, l.title, l.created_at, l.updated_at, NULL::timestamptz,
           l.responsible_id
      FROM leads l
     WHERE l.status = 'new' AND ${entityVisibleSql(v, params, 'lead', 'l')}`;
  // The client's latest email, when nothing went out to them after it. An answer later than an email of the
  // window is itself in the window: bounding it too keeps the anti-join on recent outbound emails, probed by
  // client (activities_outbound_email, migration 020) rather than hashing every email ever sent.
  const window = `now() - interval '${EMAIL_WINDOW_DAYS} days'`;
  const emails = `
    SELECT * FROM (
      SELECT DISTINCT ON (a.owner_type, a.owner_id) 'email', a.id, a.id, a.owner_type, a.owner_id, a.channel,
             a.subject, a.created_at, a.created_at AS last_at, a.deadline, a.responsible_id
        FROM ${visible.from(
          `a.type = 'email' AND a.direction = 'inbound' AND a.owner_type <> 'queue' AND a.created_at > ${window}`,
        )} a
       WHERE NOT EXISTS (SELECT 1 FROM activities o WHERE o.type = 'email' AND o.direction = 'outbound'
                          AND o.owner_type = a.owner_type AND o.owner_id = a.owner_id AND o.created_at > a.created_at
                          AND o.created_at > ${window})
       ORDER BY a.owner_type, a.owner_id, a.created_at DESC) e`;
  const callbacks = `
    SELECT CASE WHEN a.details ? 'missedCall' THEN 'missed_call' ELSE 'callback' END, a.id, a.id, a.owner_type,
           a.owner_id, a.channel, a.subject, a.created_at, a.updated_at, a.deadline, a.responsible_id
      FROM ${visible.from(`a.type = 'callback' AND a.state = 'planned'`)} a`;
  params.push(limit);
  // Sorted and cut first; names, regions and the conversations' last message are read for the rows kept only.
  const r = await db.query<WorkRow>(
    `WITH ${visible.cte} w AS (${conversations} UNION ALL ${leads} UNION ALL ${emails} UNION ALL ${callbacks}),
     top AS (SELECT * FROM w ORDER BY waiting_since ASC NULLS LAST, last_activity_at DESC, kind, id
              LIMIT $${params.length})
     SELECT top.kind, top.id, top.activity_id, top.owner_type, top.owner_id, top.channel,
            CASE WHEN top.kind = 'conversation'
                 THEN (SELECT m.text FROM messages m WHERE m.conversation_id = top.id
                        ORDER BY m.occurred_at DESC, m.id DESC LIMIT 1)
                 ELSE top.preview END AS preview,
            top.waiting_since, top.last_activity_at, top.deadline, top.responsible_id,
            CASE top.owner_type WHEN 'lead' THEN (SELECT COALESCE(name, title) FROM leads WHERE id = top.owner_id)
                                WHEN 'contact' THEN (SELECT name FROM contacts WHERE id = top.owner_id)
                                WHEN 'company' THEN (SELECT name FROM companies WHERE id = top.owner_id) END AS client_name,
            CASE top.owner_type WHEN 'lead' THEN (SELECT region_id FROM leads WHERE id = top.owner_id)
                                WHEN 'contact' THEN (SELECT region_id FROM contacts WHERE id = top.owner_id)
                                WHEN 'company' THEN (SELECT region_id FROM companies WHERE id = top.owner_id) END AS region_id
       FROM top
      ORDER BY top.waiting_since ASC NULLS LAST, top.last_activity_at DESC, top.kind, top.id`,
    params,
  );
  return r.rows;
}
