import type { Queryable } from '../db/database.js';
import * as timers from '../repositories/automation-timer.repository.js';
import { activeRules, type OfflineSettings } from './automation-rules.service.js';

/**
 * An operator's availability changed (their own status, an administrator's change, deactivation): going offline
 * schedules each active offline_reassign rule's timer (due after its grace period; the scheduler hands their
 * unanswered conversations on), coming back (online, or away: at the desk, taking no new contacts) cancels the
 * ones not fired yet. Runs in the caller's
 * transaction, so the status and its timers commit together.
 */
export async function operatorAvailabilityChanged(
  tx: Queryable,
  operatorId: number,
  status: 'online' | 'away' | 'offline',
  now = new Date(),
): Promise<void> {
  if (status !== 'offline') {
    await timers.cancelOperatorTimers(tx, operatorId, now);
    return;
  }
  const rules = (await activeRules(tx)).filter((r) => r.kind === 'offline_reassign');
  await timers.scheduleOperatorTimers(
    tx,
    rules.map((r) => ({
      ruleId: r.id,
      dueAt: new Date(now.getTime() + (r.settings as OfflineSettings).graceMinutes * 60_000).toISOString(),
    })),
    operatorId,
  );
}
