import type { Queryable } from '../crm-core/db/database.js';
import * as activities from '../crm-core/repositories/activity.repository.js';
import { activitySubject, activityType } from './activity-kind.js';
import { callActivityRow, callerOf, callKeyOf, foldCalls } from './call-activities.js';
import { isMissedInbound } from './call-merge.js';
import type { OwnerRef } from './owner-resolution.js';
import type { Decision } from './plan.js';

/**
 * Writes the activities of a routed batch and returns, per decision, the id of its activity.
 * Calls: all events of one vendor call fold into one activity keyed 'call:<line>:<callId>' (merged in
 * memory with the stored row, which is locked meanwhile). A missed inbound call plans one callback; an
 * answered call completes the client's open callbacks.
 */
export async function buildActivities(
  tx: Queryable,
  decisions: Decision[],
  storedCalls: Map<string, activities.ActivityRow>,
  resolve: (t: Decision['target']) => OwnerRef | null,
  responsibleOf: (d: Decision, owner: OwnerRef | null) => number | null,
  opts: { callbackDeadlineMin: number; meaningfulCallSec: number },
): Promise<(number | null)[]> {
  const calls = await foldCalls(tx, decisions, storedCalls, resolve, responsibleOf);
  const rows: activities.NewActivity[] = [];
  const rowOf: number[] = []; // decision index -> row index
  const callRow = new Map<string, number>();
  for (const [key, f] of calls) {
    callRow.set(key, rows.length);
    rows.push(callActivityRow(f, opts.meaningfulCallSec));
  }
  for (const [i, d] of decisions.entries()) {
    const key = callKeyOf(d);
    if (key) {
      rowOf[i] = callRow.get(key)!;
      continue;
    }
    const e = d.event;
    const owner = resolve(d.target);
    rowOf[i] = rows.length;
    rows.push({
      ownerType: owner?.type ?? 'queue',
      ownerId: owner?.id ?? null,
      type: activityType(e),
      direction: e.direction,
      state: 'completed',
      subject: activitySubject(e),
      body: e.content.text ?? null,
      deadline: null,
      completedAt: e.occurredAt,
      responsibleId: responsibleOf(d, owner),
      channel: e.channel,
      sourceKey: e.source.key,
      eventId: e.id,
      externalKey: null,
      messageId: e.thread?.messageId ?? null,
      threadRef: d.threadRef ?? null,
      details: {
        utm: e.utm,
        regionHints: e.regionHints,
        meta: e.meta ?? {},
        senderName: e.sender.name,
        thread: e.thread,
      },
      createdAt: e.occurredAt,
    });
  }
  const ids = await activities.upsertActivities(tx, rows);

  // Callbacks: planned once per missed call; completed by a later answered call with the same client.
  const callbacks: activities.NewActivity[] = [];
  const reached: { ownerType: string; ownerId: number; at: string; byEventId: string }[] = [];
  for (const [key, rowIndex] of callRow) {
    const m = calls.get(key)!;
    const row = rows[rowIndex]!;
    if (row.ownerId == null) continue;
    if (isMissedInbound(m.call)) {
      callbacks.push({
        ...row,
        type: 'callback',
        state: 'planned',
        direction: 'outbound',
        subject: `Call back ${callerOf(m)}`.trim(),
        body: null,
        completedAt: null,
        deadline: new Date(Date.parse(m.firstAt) + opts.callbackDeadlineMin * 60_000).toISOString(),
        externalKey: `callback:${key.slice('call:'.length)}`,
        details: { missedCall: key },
        createdAt: m.firstAt,
      });
    } else if (m.call.status === 'answered') {
      reached.push({
        ownerType: row.ownerType,
        ownerId: row.ownerId,
        at: m.firstAt,
        byEventId: row.eventId ?? '',
      });
    }
  }
  await activities.insertActivitiesOnce(tx, callbacks);
  await activities.completeCallbacks(tx, reached);
  return decisions.map((_, i) => ids[rowOf[i]!] ?? null);
}
