import type { Queryable } from '../../crm-core/db/database.js';
import type { RuleKind } from '../../crm-core/repositories/automation-rule.repository.js';
import * as timers from '../../crm-core/repositories/automation-timer.repository.js';
import { getOperator } from '../../crm-core/repositories/operator.repository.js';
import type { OfflineSettings, SlaSettings } from '../../crm-core/services/automation-rules.service.js';
import { recordChange } from '../../crm-core/services/timeline.js';
import { type Handover, nextOperator, ownerRegion, supervisorOf } from './escalation.js';

/** One thing a rule did: counted in automation_fired_total{rule_kind, action}. */
export interface Firing {
  ruleKind: RuleKind;
  action: string;
  /** Operators whose work changed (the one who did not answer, the one it went to): their consoles are told. A
   * condition rule fires inside the router's transaction, whose own notices already tell the responsible. */
  operatorIds?: number[];
}

type Owner = { type: string; id: number | null };
const ENTITY = new Set(['lead', 'contact', 'company', 'deal']);

/** A firing on the client's timeline (activities in the line queue have no client: their record is the timer). */
async function onTimeline(
  tx: Queryable,
  owner: Owner,
  ruleId: number,
  subject: string,
  details: Record<string, unknown>,
) {
  if (owner.id == null || !ENTITY.has(owner.type)) return;
  await recordChange(tx, { type: owner.type as 'lead', id: owner.id }, subject, {
    change: 'automation',
    by: { kind: 'automation', ruleId },
    ...details,
  });
}

/**
 * Fires one claimed timer inside the claiming transaction and settles it; what it did commits with the timer's
 * new state, or neither does. The target is locked first (before the timer row changes), so a router batch that
 * holds it is waited for rather than deadlocked with.
 */
export async function fireTimer(tx: Queryable, timer: timers.ClaimedTimer, now: Date): Promise<Firing[]> {
  const rule = timer.rule;
  if (!rule.active) {
    await timers.finishTimer(tx, timer.id, 'cancelled', now, { reason: 'rule inactive' });
    return [];
  }
  if (rule.kind === 'first_response_sla' && timer.target_type === 'activity')
    return fireSla(tx, timer, rule.settings as unknown as SlaSettings, now);
  if (rule.kind === 'offline_reassign' && timer.target_type === 'operator')
    return fireOffline(tx, timer, rule.settings as unknown as OfflineSettings, now);
  await timers.finishTimer(tx, timer.id, 'cancelled', now, { reason: 'no action for this target' });
  return [];
}

/**
 * First response: answered → resolved, nothing on the timeline. Still waiting, but since later than the timer
 * assumed (the client wrote again after an answer) → due again. Otherwise overdue: on the timeline, in the
 * counters until answered, and handed on when the rule escalates.
 */
async function fireSla(
  tx: Queryable,
  timer: timers.ClaimedTimer,
  s: SlaSettings,
  now: Date,
): Promise<Firing[]> {
  const target = await timers.lockSlaTarget(tx, timer.target_id);
  if (!target) {
    await timers.finishTimer(tx, timer.id, 'cancelled', now, { reason: 'target gone' });
    return [];
  }
  if (target.answered) {
    await timers.finishTimer(tx, timer.id, 'resolved', now, { reason: 'answered' });
    return [];
  }
  const due = new Date(new Date(target.waiting_since).getTime() + s.minutes * 60_000);
  if (due > now) {
    await timers.rescheduleTimer(tx, timer.id, due);
    return [];
  }
  const owner = { type: target.owner_type, id: target.owner_id };
  const from = target.responsible_id;
  let to: Handover | null = null;
  if (s.escalate !== 'none') {
    const region = await ownerRegion(tx, owner);
    to =
      s.escalate === 'supervisor'
        ? await supervisorOf(tx, region, from)
        : await nextOperator(tx, region, from);
    if (to)
      await timers.reassignActivity(tx, target.id, to.operatorId, {
        by: { kind: 'automation', ruleId: timer.rule_id },
        at: now.toISOString(),
        responsible: { from, to: to.operatorId },
        reason: to.reason,
      });
  }
  const action = to ? `escalated_${s.escalate}` : 'overdue';
  const toName = to ? ((await getOperator(tx, to.operatorId))?.name ?? `operator ${to.operatorId}`) : null;
  const waited = Math.round((now.getTime() - new Date(target.waiting_since).getTime()) / 60_000);
  await onTimeline(
    tx,
    owner,
    timer.rule_id,
    to
      ? `No answer in ${s.minutes} min (${target.channel ?? s.channel}): handed to ${toName}`
      : `No answer in ${s.minutes} min (${target.channel ?? s.channel}): overdue`,
    {
      rule: timer.rule.name,
      action,
      activityId: target.id,
      waitedMinutes: waited,
      ...(s.escalate !== 'none'
        ? { escalation: to ? { from, to: to.operatorId, reason: to.reason } : 'nobody' }
        : {}),
    },
  );
  await timers.finishTimer(tx, timer.id, 'fired', now, {
    action,
    responsibleId: to?.operatorId ?? from,
    ...(to ? { from } : {}),
  });
  const operatorIds = [from, to?.operatorId].filter((id): id is number => id != null);
  return [{ ruleKind: 'first_response_sla', action, operatorIds }];
}

/** Offline: the operator's unanswered conversations go to the next operator of each client's region. */
async function fireOffline(
  tx: Queryable,
  timer: timers.ClaimedTimer,
  s: OfflineSettings,
  now: Date,
): Promise<Firing[]> {
  const operatorId = timer.target_id;
  const op = await getOperator(tx, operatorId);
  if (!op || (op.status !== 'offline' && op.active)) {
    await timers.finishTimer(tx, timer.id, 'cancelled', now, { reason: 'operator back' });
    return [];
  }
  const firings: Firing[] = [];
  const handed: { activityId: number; to: number | null }[] = [];
  for (const c of await timers.lockUnansweredConversations(tx, operatorId, s.channels)) {
    const owner = { type: c.owner_type, id: c.owner_id };
    const to = await nextOperator(tx, await ownerRegion(tx, owner), operatorId);
    handed.push({ activityId: c.id, to: to?.operatorId ?? null });
    if (to)
      await timers.reassignActivity(tx, c.id, to.operatorId, {
        by: { kind: 'automation', ruleId: timer.rule_id },
        at: now.toISOString(),
        responsible: { from: operatorId, to: to.operatorId },
        reason: `operator offline; ${to.reason}`,
      });
    const action = to ? 'reassigned' : 'nobody_available';
    const toName = to ? ((await getOperator(tx, to.operatorId))?.name ?? `operator ${to.operatorId}`) : null;
    await onTimeline(
      tx,
      owner,
      timer.rule_id,
      to
        ? `${op.name} went offline: conversation handed to ${toName}`
        : `${op.name} went offline: nobody online to take the conversation`,
      { rule: timer.rule.name, action, activityId: c.id, from: operatorId, to: to?.operatorId ?? null },
    );
    firings.push({
      ruleKind: 'offline_reassign',
      action,
      operatorIds: to ? [operatorId, to.operatorId] : [operatorId],
    });
  }
  await timers.finishTimer(tx, timer.id, 'fired', now, { action: 'reassign', handed });
  return firings;
}
