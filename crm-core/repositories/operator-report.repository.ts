import type { Database } from '../db/database.js';
import { reportQuery } from './report-query.js';

export interface OperatorReportRow {
  operator_id: number | null;
  operator: string;
  contacts: number;
  calls: number;
  emails: number;
  messages: number;
  forms: number;
  responded: number;
  first_response_p50_sec: number | null;
  first_response_p90_sec: number | null;
  sla_breaches: number;
  sla_rule_breaches: number;
  callbacks: number;
  callbacks_in_time: number;
  callbacks_late: number;
  callbacks_overdue: number;
}

export type OperatorReportQuery = {
  from: string;
  to: string;
  slaSec: number;
  now: Date;
  regionIds: readonly number[] | null;
};

/** The query text and parameters (also what the benchmark EXPLAINs). */
export function operatorReportSql(q: OperatorReportQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [q.from, q.to, q.now.toISOString(), q.slaSec];
  let scope = '';
  if (q.regionIds) {
    params.push([...q.regionIds]);
    scope = `AND responsible_id IN (SELECT operator_id FROM operator_regions WHERE region_id = ANY($${params.length}::int[]))`;
  }
  const wait = 'extract(epoch FROM first_response_at - created_at)';
  const text = `WITH inbound AS (
       SELECT COALESCE(responsible_id, 0) AS op,
              count(*)::int AS contacts,
              count(*) FILTER (WHERE type = 'call')::int AS calls,
              count(*) FILTER (WHERE type = 'email')::int AS emails,
              count(*) FILTER (WHERE type = 'message')::int AS messages,
              count(*) FILTER (WHERE type = 'form')::int AS forms,
              count(first_response_at)::int AS responded,
              -- both percentiles from one sort of each operator's waits
              percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ${wait}) AS waits,
              count(*) FILTER (WHERE COALESCE(first_response_at, $3::timestamptz) - created_at
                                     > make_interval(secs => $4))::int AS sla_breaches
         FROM activities
        WHERE direction = 'inbound' AND type IN ('call', 'email', 'message', 'form')
          AND created_at >= $1 AND created_at < $2 ${scope}
        GROUP BY 1
     ), callbacks AS (
       SELECT COALESCE(responsible_id, 0) AS op,
              count(*)::int AS callbacks,
              count(*) FILTER (WHERE state = 'completed' AND (deadline IS NULL OR completed_at <= deadline))::int AS callbacks_in_time,
              count(*) FILTER (WHERE state = 'completed' AND completed_at > deadline)::int AS callbacks_late,
              count(*) FILTER (WHERE state = 'planned' AND deadline < $3)::int AS callbacks_overdue
         FROM activities
        WHERE type = 'callback' AND created_at >= $1 AND created_at < $2 ${scope}
        GROUP BY 1
     ), sla_rules AS (
       SELECT COALESCE(responsible_id, 0) AS op, count(DISTINCT a.id)::int AS sla_rule_breaches
         FROM automation_timers t
         JOIN automation_rules r ON r.id = t.rule_id AND r.kind = 'first_response_sla'
         JOIN activities a ON a.id = t.target_id
        WHERE t.target_type = 'activity' AND t.fired_at IS NOT NULL AND t.due_at >= $1
          AND a.direction = 'inbound' AND a.type IN ('call', 'email', 'message', 'form')
          AND a.created_at >= $1 AND a.created_at < $2 ${scope}
        GROUP BY 1
     )
     SELECT o.id AS operator_id, COALESCE(o.name, 'unassigned') AS operator,
            COALESCE(i.contacts, 0) AS contacts, COALESCE(i.calls, 0) AS calls, COALESCE(i.emails, 0) AS emails,
            COALESCE(i.messages, 0) AS messages, COALESCE(i.forms, 0) AS forms,
            COALESCE(i.responded, 0) AS responded,
            round(i.waits[1]::numeric, 1)::float AS first_response_p50_sec,
            round(i.waits[2]::numeric, 1)::float AS first_response_p90_sec,
            COALESCE(i.sla_breaches, 0) AS sla_breaches, COALESCE(x.sla_rule_breaches, 0) AS sla_rule_breaches,
            COALESCE(b.callbacks, 0) AS callbacks,
            COALESCE(b.callbacks_in_time, 0) AS callbacks_in_time, COALESCE(b.callbacks_late, 0) AS callbacks_late,
            COALESCE(b.callbacks_overdue, 0) AS callbacks_overdue
       FROM inbound i
       FULL JOIN callbacks b ON b.op = i.op
       FULL JOIN sla_rules x ON x.op = COALESCE(i.op, b.op)
       LEFT JOIN operators o ON o.id = COALESCE(i.op, b.op, x.op)
      ORDER BY o.name NULLS LAST, o.id`;
  return { text, params };
}

/**
 * Per operator (the responsible of each row), over [from, to):
 * - contacts handled: inbound calls, emails, conversations (one activity per conversation) and forms;
 * - first response: from the contact to the first response to that client (activities.first_response_at, kept by
 *   017_reports.sql's triggers); p50 and p90 over the contacts that got one;
 * - SLA breaches: contacts answered later than `slaSec`, or not answered and older than that at `now`; and, by
 *   the administrator's per-channel rules (016_automation.sql), contacts whose first_response_sla timer fired;
 * - callbacks planned in the period: done in time (completed by their deadline, or without one), done late, and
 *   still open past their deadline.
 * `regionIds` limits the rows to operators of those regions (supervisors); null: everyone, the unassigned too
 * (grouped under 0 inside the query: a FULL JOIN needs an equality it can hash, and NULL equals nothing).
 * Both scans are index-only (activities_inbound_report, activities_callback_report).
 */
export async function operatorReport(db: Database, q: OperatorReportQuery): Promise<OperatorReportRow[]> {
  const { text, params } = operatorReportSql(q);
  return reportQuery<OperatorReportRow>(db, text, params);
}
