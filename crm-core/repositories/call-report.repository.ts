import type { Queryable } from '../db/database.js';

export type CallGroupBy = 'operator' | 'line' | 'day';

// Fixed SQL fragments chosen by an enum, never from user text.
const GROUP_EXPR: Record<CallGroupBy, string> = {
  operator: `COALESCE(responsible_id::text, 'unassigned')`,
  line: `COALESCE(source_key, 'unknown')`,
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
};

export interface CallReportRow {
  key: string;
  total: number;
  inbound: number;
  outbound: number;
  answered: number;
  missed: number;
  meaningful: number;
  avg_talk_sec: number | null;
  avg_wait_sec: number | null;
  callbacks_done: number;
  callbacks_overdue: number;
}

/** Call statistics for [from, to), one row per group; callbacks are counted in the same groups. */
export async function callReport(
  db: Queryable,
  from: string,
  to: string,
  groupBy: CallGroupBy,
  now: Date,
): Promise<CallReportRow[]> {
  const g = GROUP_EXPR[groupBy];
  const r = await db.query<CallReportRow>(
    `WITH calls AS (
       SELECT ${g} AS key,
              count(*)::int AS total,
              count(*) FILTER (WHERE direction = 'inbound')::int AS inbound,
              count(*) FILTER (WHERE direction = 'outbound')::int AS outbound,
              count(*) FILTER (WHERE details->>'result' = 'answered')::int AS answered,
              count(*) FILTER (WHERE direction = 'inbound' AND details->>'result' IN ('missed', 'busy', 'voicemail'))::int AS missed,
              count(*) FILTER (WHERE (details->>'meaningful')::boolean)::int AS meaningful,
              round(avg((details->'call'->>'talkSec')::numeric) FILTER (WHERE details->>'result' = 'answered'), 1)::float AS avg_talk_sec,
              round(avg((details->'call'->>'waitSec')::numeric), 1)::float AS avg_wait_sec
         FROM activities WHERE type = 'call' AND created_at >= $1 AND created_at < $2 GROUP BY 1
     ), callbacks AS (
       SELECT ${g} AS key,
              count(*) FILTER (WHERE state = 'completed')::int AS callbacks_done,
              count(*) FILTER (WHERE state = 'planned' AND deadline < $3)::int AS callbacks_overdue
         FROM activities WHERE type = 'callback' AND created_at >= $1 AND created_at < $2 GROUP BY 1
     )
     SELECT COALESCE(c.key, b.key) AS key, COALESCE(c.total, 0) AS total, COALESCE(c.inbound, 0) AS inbound,
            COALESCE(c.outbound, 0) AS outbound, COALESCE(c.answered, 0) AS answered, COALESCE(c.missed, 0) AS missed,
            COALESCE(c.meaningful, 0) AS meaningful, c.avg_talk_sec, c.avg_wait_sec,
            COALESCE(b.callbacks_done, 0) AS callbacks_done, COALESCE(b.callbacks_overdue, 0) AS callbacks_overdue
       FROM calls c FULL JOIN callbacks b ON b.key = c.key
      ORDER BY 1`,
    [from, to, now.toISOString()],
  );
  return r.rows;
}
