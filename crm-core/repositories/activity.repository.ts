import type { Queryable } from '../db/database.js';
import { jsonArrayParam, jsonbArray } from '../db/jsonb-array.js';
import { ownedVisibleSql, type Viewer } from './visibility.repository.js';

export interface NewActivity {
  ownerType: 'lead' | 'contact' | 'company' | 'deal' | 'queue';
  ownerId: number | null;
  type: 'call' | 'email' | 'message' | 'form' | 'callback' | 'task' | 'meeting' | 'note' | 'system';
  direction: 'inbound' | 'outbound' | null;
  state: 'planned' | 'completed';
  subject: string | null;
  body: string | null;
  deadline: string | null;
  completedAt: string | null;
  responsibleId: number | null;
  channel: string | null;
  sourceKey: string | null;
  eventId: string | null;
  externalKey: string | null;
  messageId: string | null;
  threadRef: string | null;
  details: Record<string, unknown>;
  createdAt?: string | null;
}

export interface ActivityRow {
  id: number;
  owner_type: string;
  owner_id: number | null;
  type: string;
  direction: string | null;
  state: string;
  subject: string | null;
  body: string | null;
  deadline: Date | null;
  completed_at: Date | null;
  responsible_id: number | null;
  channel: string | null;
  source_key: string | null;
  event_id: string | null;
  external_key: string | null;
  message_id: string | null;
  thread_ref: string | null;
  details: Record<string, unknown>;
  created_by?: number | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `owner_type, owner_id, type, direction, state, subject, body, deadline, completed_at, responsible_id,
  channel, source_key, event_id, external_key, message_id, thread_ref, details, created_at`;

/** Column arrays for unnest; details as one JSON array (crm-core/db/jsonb-array.ts), or per row for one row. */
function params(rows: NewActivity[], details: 'each' | 'array' = 'array') {
  const col = <K extends keyof NewActivity>(k: K) => rows.map((r) => r[k] ?? null);
  return [
    col('ownerType'),
    col('ownerId'),
    col('type'),
    col('direction'),
    col('state'),
    col('subject'),
    col('body'),
    col('deadline'),
    col('completedAt'),
    col('responsibleId'),
    col('channel'),
    col('sourceKey'),
    col('eventId'),
    col('externalKey'),
    col('messageId'),
    col('threadRef'),
    details === 'array'
      ? jsonArrayParam(rows.map((r) => r.details))
      : rows.map((r) => JSON.stringify(r.details)),
    rows.map((r) => r.createdAt ?? new Date().toISOString()),
  ];
}

const UNNEST = `unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
  $9::timestamptz[], $10::int[], $11::text[], $12::text[], $13::uuid[], $14::text[], $15::text[], $16::text[], ${jsonbArray(17)}, $18::timestamptz[])`;

/**
 * Inserts activities; a row whose external_key exists replaces that row's fields (call activities are merged
 * by the caller before they get here, so the new row is the complete, merged state). Returns ids in input order.
 */
export async function upsertActivities(db: Queryable, rows: NewActivity[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const r = await db.query<{ id: number; ord: number }>(
    `WITH input AS (SELECT * FROM ${UNNEST} WITH ORDINALITY AS t(${COLUMNS}, ord)),
     up AS (
       INSERT INTO activities (${COLUMNS})
       SELECT ${COLUMNS} FROM input ORDER BY ord
       ON CONFLICT (external_key) DO UPDATE SET
         owner_type = EXCLUDED.owner_type, owner_id = EXCLUDED.owner_id, direction = EXCLUDED.direction,
         state = EXCLUDED.state, subject = EXCLUDED.subject, body = EXCLUDED.body, completed_at = EXCLUDED.completed_at,
         responsible_id = EXCLUDED.responsible_id, details = EXCLUDED.details, event_id = EXCLUDED.event_id,
         created_at = LEAST(activities.created_at, EXCLUDED.created_at), updated_at = now()
       RETURNING id, event_id, external_key
     )
     -- One hashable key per row (external key, else event id): an OR join here was a nested loop, O(n²).
     SELECT up.id, input.ord FROM up JOIN input
       ON COALESCE(up.external_key, up.event_id::text) = COALESCE(input.external_key, input.event_id::text)
     ORDER BY input.ord`,
    params(rows),
  );
  return r.rows.map((x) => x.id);
}

/** Planned activities created once per external key (a callback for a missed call): repeats change nothing. */
export async function insertActivitiesOnce(db: Queryable, rows: NewActivity[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await db.query(
    `INSERT INTO activities (${COLUMNS}) SELECT * FROM ${UNNEST} ON CONFLICT (external_key) DO NOTHING`,
    params(rows),
  );
  return r.rowCount;
}

/**
 * Existing rows for the given external keys, locked until the transaction ends (merging call events).
 * A row lock cannot cover a row that does not exist yet, so the keys themselves are locked first with
 * transaction-scoped advisory locks, taken in one global order (sorted hashes) so two batches never deadlock:
 * two routers receiving the first events of one call at once then merge one after the other.
 */
export async function lockByExternalKeys(db: Queryable, keys: string[]): Promise<ActivityRow[]> {
  if (keys.length === 0) return [];
  await db.query(
    `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1
     ) AS s`,
    [keys],
  );
  return (
    await db.query<ActivityRow>('SELECT * FROM activities WHERE external_key = ANY($1::text[]) FOR UPDATE', [
      keys,
    ])
  ).rows;
}

/**
 * SQL for an array of the ids of the given owners' activities that pass `where` (on alias x), found through the
 * owner index one owner at a time; `types` and `ids` name the parameters holding the owners (text[], int[]).
 * As a join, or with `where` pushed into that scan, the planner (on statistics that lag behind a burst) combined
 * a partial or the responsible index and read every matching activity of the CRM for each batch: every planned
 * callback, every unassigned activity (60-500 ms in the WhatsApp bench). A LATERAL probe with OFFSET 0 keeps
 * both out (test/integration/lookups-probe-index.test.ts). Callers update by `id = ANY(...)` and recheck the
 * newest row in a form no partial index matches.
 */
export const ownerActivityIds = (types: string, ids: string, where: string) => `ARRAY(
  SELECT x.id FROM unnest(${types}::text[], ${ids}::int[]) AS o(owner_type, owner_id)
   CROSS JOIN LATERAL (
     SELECT * FROM activities x WHERE x.owner_type = o.owner_type AND x.owner_id = o.owner_id OFFSET 0) AS x
  WHERE ${where})`;

/**
 * Completes the owner's open callbacks: the client was reached (answered inbound or an outbound call). Found
 * with ownerActivityIds; the recheck of the newest row (another transaction may have completed it) is written
 * `IS NOT DISTINCT FROM` (state is never null) because `state = 'planned'` would let the planner combine the
 * planned callbacks' partial index in again.
 */
export async function completeCallbacks(
  db: Queryable,
  owners: { ownerType: string; ownerId: number; at: string; byEventId: string }[],
): Promise<number> {
  if (owners.length === 0) return 0;
  const r = await db.query(
    `UPDATE activities a SET state = 'completed', completed_at = t.at, updated_at = now(),
            details = a.details || jsonb_build_object('completedByEvent', t.by_event)
       FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[]) AS t(owner_type, owner_id, at, by_event)
      WHERE a.id = ANY (${ownerActivityIds('$1', '$2', "x.type = 'callback' AND x.state = 'planned'")})
        AND a.state IS NOT DISTINCT FROM 'planned' AND a.owner_type = t.owner_type AND a.owner_id = t.owner_id
        AND a.created_at <= t.at`,
    [
      owners.map((o) => o.ownerType),
      owners.map((o) => o.ownerId),
      owners.map((o) => o.at),
      owners.map((o) => o.byEventId),
    ],
  );
  return r.rowCount;
}

/** Owners of messages we received or sent, by Message-ID (email threading). */
export async function ownersByMessageIds(db: Queryable, messageIds: string[]) {
  if (messageIds.length === 0) return [];
  return (
    await db.query<{
      message_id: string;
      owner_type: string;
      owner_id: number | null;
      thread_ref: string | null;
      id: number;
    }>(
      `SELECT DISTINCT ON (message_id) message_id, owner_type, owner_id, thread_ref, id
         FROM activities WHERE message_id = ANY($1::text[]) ORDER BY message_id, id`,
      [messageIds],
    )
  ).rows;
}

export interface ActivityFilter {
  ownerType?: string;
  ownerId?: number;
  responsibleId?: number;
  state?: string;
  type?: string;
  limit: number;
  offset: number;
}

/** Activities the viewer may see (visibility.repository.ts), filtered and paged. */
export async function listActivities(
  db: Queryable,
  f: ActivityFilter,
  viewer: Viewer,
): Promise<ActivityRow[]> {
  const params: unknown[] = [
    f.ownerType ?? null,
    f.ownerId ?? null,
    f.responsibleId ?? null,
    f.state ?? null,
    f.type ?? null,
    f.limit,
    f.offset,
  ];
  const visible = ownedVisibleSql(viewer, params, 'a');
  return (
    await db.query<ActivityRow>(
      `SELECT a.* FROM activities a
        WHERE ($1::text IS NULL OR a.owner_type = $1) AND ($2::int IS NULL OR a.owner_id = $2)
          AND ($3::int IS NULL OR a.responsible_id = $3) AND ($4::text IS NULL OR a.state = $4)
          AND ($5::text IS NULL OR a.type = $5)
          AND ${visible}
        ORDER BY a.created_at DESC, a.id DESC LIMIT $6 OFFSET $7`,
      params,
    )
  ).rows;
}

export async function getActivity(db: Queryable, id: number): Promise<ActivityRow | undefined> {
  return (await db.query<ActivityRow>('SELECT * FROM activities WHERE id = $1', [id])).rows[0];
}

/** An entity's history: its own activities, and for a contact also those of the lead it was converted from. */
export async function timeline(
  db: Queryable,
  ownerType: string,
  ownerId: number,
  limit: number,
): Promise<ActivityRow[]> {
  return (
    await db.query<ActivityRow>(
      `SELECT * FROM activities
        WHERE (owner_type = $1 AND owner_id = $2)
           OR ($1 = 'contact' AND owner_type = 'lead' AND owner_id IN (SELECT id FROM leads WHERE converted_contact_id = $2))
        ORDER BY created_at DESC, id DESC LIMIT $3`,
      [ownerType, ownerId, limit],
    )
  ).rows;
}

/**
 * The operator's counters: overdue, due today, and open leads and deals with nothing planned. Each "nothing
 * planned" is a probe per lead or deal through the owner index: `OFFSET 0` keeps PostgreSQL from turning it into
 * an anti-join, which on statistics older than a burst read every planned activity of the CRM once per lead
 * (38 ms a call in the live-chat bench, the console asks after every change to an operator's work).
 */
export async function operatorCounters(db: Queryable, operatorId: number, now: Date, tz = 'UTC') {
  const r = await db.query<{
    overdue: number;
    due_today: number;
    leads_without_planned: number;
    deals_without_planned: number;
  }>(
    `SELECT
       (SELECT count(*)::int FROM activities WHERE responsible_id = $1 AND state = 'planned' AND deadline < $2) AS overdue,
       (SELECT count(*)::int FROM activities WHERE responsible_id = $1 AND state = 'planned' AND deadline >= $2
           AND (deadline AT TIME ZONE $3)::date = ($2::timestamptz AT TIME ZONE $3)::date) AS due_today,
       (SELECT count(*)::int FROM leads l WHERE l.responsible_id = $1 AND l.status IN ('new', 'in_progress')
           AND NOT EXISTS (SELECT 1 FROM activities a
                            WHERE a.owner_type = 'lead' AND a.owner_id = l.id AND a.state = 'planned' OFFSET 0))
         AS leads_without_planned,
       (SELECT count(*)::int FROM deals d WHERE d.responsible_id = $1 AND NOT d.closed
           AND NOT EXISTS (SELECT 1 FROM activities a
                            WHERE a.owner_type = 'deal' AND a.owner_id = d.id AND a.state = 'planned' OFFSET 0))
         AS deals_without_planned`,
    [operatorId, now.toISOString(), tz],
  );
  return r.rows[0]!;
}

/** One activity written through the API (a task, a note, a workflow record), with the operator who wrote it. */
export async function insertActivity(
  db: Queryable,
  a: NewActivity & { createdBy: number | null },
): Promise<ActivityRow> {
  const r = await db.query<ActivityRow>(
    `INSERT INTO activities (${COLUMNS}, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     RETURNING *`,
    [...params([a], 'each').map((col) => col[0]), a.createdBy],
  );
  return r.rows[0]!;
}

/** The activity, locked until the transaction ends (complete / reschedule / reassign read, decide, write). */
export async function lockActivity(db: Queryable, id: number): Promise<ActivityRow | undefined> {
  return (await db.query<ActivityRow>('SELECT * FROM activities WHERE id = $1 FOR UPDATE', [id])).rows[0];
}

export async function completeActivity(
  db: Queryable,
  id: number,
  at: Date,
  details: Record<string, unknown>,
): Promise<ActivityRow> {
  const r = await db.query<ActivityRow>(
    `UPDATE activities SET state = 'completed', completed_at = $2, details = details || $3::jsonb, updated_at = now()
      WHERE id = $1 RETURNING *`,
    [id, at.toISOString(), JSON.stringify(details)],
  );
  return r.rows[0]!;
}

/** Reschedule / reassign / re-word a planned activity; the change is appended to details.changes. */
export async function updatePlannedActivity(
  db: Queryable,
  id: number,
  p: { deadline?: string; responsibleId?: number; subject?: string; body?: string | null },
  change: Record<string, unknown>,
): Promise<ActivityRow> {
  const r = await db.query<ActivityRow>(
    `UPDATE activities SET deadline = COALESCE($2::timestamptz, deadline),
            responsible_id = COALESCE($3::int, responsible_id), subject = COALESCE($4::text, subject),
            body = CASE WHEN $5::boolean THEN $6::text ELSE body END, updated_at = now(),
            details = jsonb_set(details, '{changes}', COALESCE(details->'changes', '[]'::jsonb) || jsonb_build_array($7::jsonb))
      WHERE id = $1 RETURNING *`,
    [
      id,
      p.deadline ?? null,
      p.responsibleId ?? null,
      p.subject ?? null,
      p.body !== undefined,
      p.body ?? null,
      JSON.stringify(change),
    ],
  );
  return r.rows[0]!;
}
