import type { Queryable } from '../crm-core/db/database.js';
import * as activities from '../crm-core/repositories/activity.repository.js';
import type { OwnerRef } from '../crm-core/services/owner-resolution.js';
import { activitySubject, activityType } from './activity-kind.js';
import { type CallRecord, isMissedInbound, mergeCall } from './call-merge.js';
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
  resolve: (t: Decision['target']) => OwnerRef | null,
  responsibleOf: (d: Decision, owner: OwnerRef | null) => number | null,
  opts: { callbackDeadlineMin: number; meaningfulCallSec: number },
  operatorByExtension: Map<string, number> = new Map(),
): Promise<(number | null)[]> {
  const callKey = (d: Decision) => {
    const c = d.event.content.call;
    return c ? `call:${d.event.source.key}:${c.externalCallId}` : null;
  };
  const callKeys = [...new Set(decisions.map(callKey).filter((k): k is string => k != null))];
  const stored = new Map(
    (await activities.lockByExternalKeys(tx, callKeys)).map((r) => [r.external_key!, r]),
  );
  const merged = new Map<string, { call: CallRecord; d: Decision; firstAt: string }>();
  for (const [key, row] of stored) {
    const call = row.details.call as CallRecord | undefined;
    if (call)
      merged.set(key, { call, d: undefined as never, firstAt: new Date(row.created_at).toISOString() });
  }

  const rows: activities.NewActivity[] = [];
  const rowOf: number[] = []; // decision index -> row index
  const callRow = new Map<string, number>();
  for (const [i, d] of decisions.entries()) {
    const e = d.event;
    const owner = resolve(d.target);
    const key = callKey(d);
    if (key && e.content.call) {
      const prev = merged.get(key);
      // Recording callbacks carry no direction (connectors default them to inbound): keep the call's own.
      const direction = e.meta?.stage === 'recording' && prev ? prev.call.direction : e.direction;
      const call = mergeCall(prev?.call, { ...e.content.call, direction });
      const firstAt = prev?.firstAt && prev.firstAt < e.occurredAt ? prev.firstAt : e.occurredAt;
      merged.set(key, { call, d, firstAt });
      const existing = callRow.get(key);
      const handledBy = call.operatorExtension ? operatorByExtension.get(call.operatorExtension) : undefined;
      // The operator who answered owns the call activity; otherwise the client's responsible does.
      const responsible = call.status === 'answered' && handledBy ? handledBy : responsibleOf(d, owner);
      const row = callActivity(d, owner, responsible, call, key, firstAt, opts.meaningfulCallSec);
      if (handledBy) row.details.operatorId = handledBy;
      if (existing !== undefined)
        rows[existing] = { ...row, ownerType: rows[existing]!.ownerType, ownerId: rows[existing]!.ownerId };
      else {
        // A stored call keeps its owner: later events of the same call must not move it.
        const s = stored.get(key);
        if (s)
          Object.assign(row, {
            ownerType: s.owner_type,
            ownerId: s.owner_id,
            responsibleId: s.responsible_id ?? row.responsibleId,
          });
        callRow.set(key, rows.length);
        rows.push(row);
      }
      rowOf[i] = callRow.get(key)!;
      continue;
    }
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
      threadRef: e.thread?.ref ?? null,
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
    const m = merged.get(key)!;
    const row = rows[rowIndex]!;
    if (row.ownerId == null) continue;
    if (isMissedInbound(m.call)) {
      callbacks.push({
        ...row,
        type: 'callback',
        state: 'planned',
        direction: 'outbound',
        subject: `Call back ${m.d?.event.sender.identities[0]?.value ?? m.call.from ?? ''}`.trim(),
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

function callActivity(
  d: Decision,
  owner: OwnerRef | null,
  responsibleId: number | null,
  call: CallRecord,
  key: string,
  firstAt: string,
  meaningfulSec: number,
): activities.NewActivity {
  const e = d.event;
  return {
    ownerType: owner?.type ?? 'queue',
    ownerId: owner?.id ?? null,
    type: 'call',
    direction: call.direction,
    state: 'completed',
    subject: activitySubject(e),
    body: null,
    deadline: null,
    completedAt: call.endedAt ?? e.occurredAt,
    responsibleId,
    channel: e.channel,
    sourceKey: e.source.key,
    eventId: e.id,
    externalKey: key,
    messageId: null,
    threadRef: null,
    details: {
      call,
      result: call.status,
      meaningful: (call.talkSec ?? 0) >= meaningfulSec,
      line: e.source.key,
      lineSource: e.meta?.lineSource ?? e.source.name,
      utm: e.utm,
    },
    createdAt: firstAt,
  };
}
