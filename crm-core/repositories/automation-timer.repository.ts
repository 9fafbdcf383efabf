import type { Queryable } from '../db/database.js';
import type { RuleRow } from './automation-rule.repository.js';

/*
 * Automation timers (migration 016): PostgreSQL is the timer store. Claiming uses FOR UPDATE SKIP LOCKED, so
 * schedulers on several instances take disjoint rows, and the state change out of 'pending' commits with what the
 * firing wrote: a timer fires once, or (crash, rollback) not yet.
 */

export interface TimerRow {
  id: number;
  rule_id: number;
  target_type: 'activity' | 'operator';
  target_id: number;
  due_at: Date;
  state: 'pending' | 'fired' | 'resolved' | 'cancelled';
  fired_at: Date | null;
  resolved_at: Date | null;
  outcome: Record<string, unknown> | null;
}

/**
 * Whether activity `a` has had its answer: an email by a reply (through the API, or any outbound email of its
 * thread on its client since), a conversation or callback by leaving 'planned' (answered, called back, closed).
 */
const ANSWERED = (a: string) => `CASE WHEN ${a}.type = 'email' THEN
    EXISTS (SELECT 1 FROM outbound_emails o WHERE o.reply_to_activity_id = ${a}.id)
    OR (${a}.thread_ref IS NOT NULL AND EXISTS (
      SELECT 1 FROM activities r WHERE r.owner_type = ${a}.owner_type AND r.owner_id = ${a}.owner_id
         AND r.type = 'email' AND r.direction = 'outbound' AND r.thread_ref = ${a}.thread_ref
         AND r.created_at >= ${a}.created_at))
  ELSE ${a}.state <> 'planned' END`;

/**
 * SLA timers for activities waiting for an answer. A conversation or callback that is no longer planned gets
 * none; one that already has a live timer of the rule keeps it (the firing re-reads when the wait began).
 */
export async function scheduleActivityTimers(
  db: Queryable,
  items: { ruleId: number; activityId: number; dueAt: string }[],
): Promise<number> {
  if (items.length === 0) return 0;
  const r = await db.query(
    `INSERT INTO automation_timers (rule_id, target_type, target_id, due_at)
     SELECT t.rule_id, 'activity', t.activity_id, t.due_at
       FROM unnest($1::int[], $2::bigint[], $3::timestamptz[]) AS t(rule_id, activity_id, due_at)
       JOIN activities a ON a.id = t.activity_id
      WHERE (a.type = 'email' AND a.direction = 'inbound') OR (a.type IN ('message', 'callback') AND a.state = 'planned')
     ON CONFLICT (rule_id, target_type, target_id)
       WHERE state = 'pending' OR (state = 'fired' AND target_type = 'activity') DO NOTHING`,
    [items.map((i) => i.ruleId), items.map((i) => i.activityId), items.map((i) => i.dueAt)],
  );
  return r.rowCount;
}

/** Planned callbacks by their external key (a missed call's callback is keyed `callback:<line>:<callId>`). */
export async function plannedByExternalKeys(db: Queryable, keys: string[]) {
  if (keys.length === 0) return [];
  return (
    await db.query<{ id: number; external_key: string; created_at: Date }>(
      `SELECT id, external_key, created_at FROM activities WHERE external_key = ANY($1::text[]) AND state = 'planned'`,
      [keys],
    )
  ).rows;
}

export async function scheduleOperatorTimers(
  db: Queryable,
  ruleIds: { ruleId: number; dueAt: string }[],
  operatorId: number,
): Promise<number> {
  if (ruleIds.length === 0) return 0;
  const r = await db.query(
    `INSERT INTO automation_timers (rule_id, target_type, target_id, due_at)
     SELECT t.rule_id, 'operator', $3, t.due_at FROM unnest($1::int[], $2::timestamptz[]) AS t(rule_id, due_at)
     ON CONFLICT (rule_id, target_type, target_id)
       WHERE state = 'pending' OR (state = 'fired' AND target_type = 'activity') DO NOTHING`,
    [ruleIds.map((r) => r.ruleId), ruleIds.map((r) => r.dueAt), operatorId],
  );
  return r.rowCount;
}

/** The operator is back online: their offline timers that have not fired have nothing left to do. */
export async function cancelOperatorTimers(db: Queryable, operatorId: number, now: Date): Promise<number> {
  const r = await db.query(
    `UPDATE automation_timers SET state = 'cancelled', resolved_at = $2,
            outcome = jsonb_build_object('reason', 'operator back online')
      WHERE target_type = 'operator' AND target_id = $1 AND state = 'pending'`,
    [operatorId, now.toISOString()],
  );
  return r.rowCount;
}

export type ClaimedTimer = TimerRow & { rule: RuleRow };

/**
 * One due timer, locked until the transaction ends; rows another scheduler holds are skipped, not waited for.
 * Oldest first, so a backlog drains in order.
 */
export async function claimDueTimer(db: Queryable, now: Date): Promise<ClaimedTimer | undefined> {
  const r = await db.query<TimerRow & { r: RuleRow }>(
    `SELECT t.*, to_jsonb(r) AS r FROM automation_timers t JOIN automation_rules r ON r.id = t.rule_id
      WHERE t.state = 'pending' AND t.due_at <= $1
      ORDER BY t.due_at, t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED`,
    [now.toISOString()],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const { r: rule, ...timer } = row;
  return { ...timer, rule };
}

export async function finishTimer(
  db: Queryable,
  id: number,
  state: 'fired' | 'resolved' | 'cancelled',
  now: Date,
  outcome: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `UPDATE automation_timers SET state = $2, outcome = $4,
            fired_at = CASE WHEN $2 = 'fired' THEN $3::timestamptz ELSE fired_at END,
            resolved_at = CASE WHEN $2 = 'fired' THEN NULL ELSE $3::timestamptz END
      WHERE id = $1`,
    [id, state, now.toISOString(), JSON.stringify(outcome)],
  );
}

/** The wait began later than the timer assumed (the client wrote again after an answer): due again later. */
export async function rescheduleTimer(db: Queryable, id: number, dueAt: Date): Promise<void> {
  await db.query('UPDATE automation_timers SET due_at = $2 WHERE id = $1', [id, dueAt.toISOString()]);
}

export interface SlaTarget {
  id: number;
  type: string;
  owner_type: string;
  owner_id: number | null;
  responsible_id: number | null;
  subject: string | null;
  channel: string | null;
  answered: boolean;
  /** When the client began waiting: a conversation's first inbound message since our last reply; else created_at. */
  waiting_since: Date;
}

/** The SLA timer's activity, locked (an escalation rewrites its responsible), with its answer state. */
export async function lockSlaTarget(db: Queryable, activityId: number): Promise<SlaTarget | undefined> {
  await db.query('SELECT 1 FROM activities WHERE id = $1 FOR UPDATE', [activityId]);
  return (
    await db.query<SlaTarget>(
      `SELECT a.id, a.type, a.owner_type, a.owner_id, a.responsible_id, a.subject, a.channel, ${ANSWERED('a')} AS answered,
              COALESCE((SELECT min(m.occurred_at) FROM conversations c JOIN messages m ON m.conversation_id = c.id
                         WHERE c.activity_id = a.id AND m.direction = 'inbound'
                           AND m.occurred_at > COALESCE((SELECT max(o.occurred_at) FROM messages o
                                WHERE o.conversation_id = c.id AND o.direction = 'outbound'), '-infinity')),
                       a.created_at) AS waiting_since
         FROM activities a WHERE a.id = $1`,
      [activityId],
    )
  ).rows[0];
}

/** Overdue timers whose target has been answered since they fired leave the counters. */
export async function resolveAnswered(db: Queryable, now: Date): Promise<number> {
  const r = await db.query(
    `UPDATE automation_timers t SET state = 'resolved', resolved_at = $1
       FROM activities a
      WHERE t.state = 'fired' AND t.target_type = 'activity' AND a.id = t.target_id AND ${ANSWERED('a')}`,
    [now.toISOString()],
  );
  return r.rowCount;
}

/** Activities of this operator past a first-response SLA and still unanswered (one per activity). */
export async function slaOverdueCount(db: Queryable, operatorId: number): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(DISTINCT a.id)::int AS n FROM automation_timers t JOIN activities a ON a.id = t.target_id
      WHERE t.state = 'fired' AND t.target_type = 'activity' AND a.responsible_id = $1 AND NOT (${ANSWERED('a')})`,
    [operatorId],
  );
  return r.rows[0]?.n ?? 0;
}

/** Conversations of this operator still waiting for an answer (the offline reassignment's work), locked. */
export async function lockUnansweredConversations(db: Queryable, operatorId: number, channels: string[]) {
  return (
    await db.query<{ id: number; owner_type: string; owner_id: number | null; channel: string }>(
      `SELECT a.id, a.owner_type, a.owner_id, a.channel FROM activities a JOIN conversations c ON c.activity_id = a.id
        WHERE a.responsible_id = $1 AND a.state = 'planned' AND a.type = 'message' AND c.status = 'open'
          AND (cardinality($2::text[]) = 0 OR a.channel = ANY($2::text[]))
        ORDER BY a.id FOR UPDATE OF a`,
      [operatorId, channels],
    )
  ).rows;
}

/** Hands an activity to another operator, the change appended to details.changes like a manual reassignment. */
export async function reassignActivity(
  db: Queryable,
  id: number,
  responsibleId: number,
  change: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `UPDATE activities SET responsible_id = $2, updated_at = now(),
            details = jsonb_set(details, '{changes}', COALESCE(details->'changes', '[]'::jsonb) || jsonb_build_array($3::jsonb))
      WHERE id = $1`,
    [id, responsibleId, JSON.stringify(change)],
  );
}

/** Timers of one target (tests and the console's "why is this overdue"). */
export async function timersOf(db: Queryable, targetType: string, targetId: number): Promise<TimerRow[]> {
  return (
    await db.query<TimerRow>(
      'SELECT * FROM automation_timers WHERE target_type = $1 AND target_id = $2 ORDER BY id',
      [targetType, targetId],
    )
  ).rows;
}
