import type { Queryable } from '../crm-core/db/database.js';
import type * as activities from '../crm-core/repositories/activity.repository.js';
import { operatorsByExtensions } from '../crm-core/repositories/operator.repository.js';
import { activitySubject } from './activity-kind.js';
import { type CallRecord, callKey, mergeCall } from './call-merge.js';
import type { OwnerRef } from './owner-resolution.js';
import type { Decision } from './plan.js';

/** One vendor call after folding the stored row and this batch's events into it. */
export interface FoldedCall {
  key: string;
  call: CallRecord;
  /** When the call began: its startedAt, else the earliest event time seen. */
  firstAt: string;
  /** The latest decision of this batch about the call (its event becomes the row's event_id). */
  last: Decision;
  /** The latest one whose number is the owner's (it names the call), if this batch has one. */
  named?: Decision;
  /** The stored row's subject: kept when only stray numbers spoke in this batch. */
  storedSubject: string | null;
  owner: OwnerRef | null;
  responsibleId: number | null;
  operatorId?: number;
}

export const callKeyOf = (d: Decision) => callKey(d.event);

/**
 * Folds every event of a call (ringing, answered, hangup, recording; both legs) into one record, with the
 * stored row, which the caller locked before planning (activities.lockByExternalKeys). Rules: the call's owner
 * is the stored one, unless that is the line queue and an event now resolves to a client (a recording callback,
 * which carries no number, may arrive first); the operator whose extension answered owns the activity, else the
 * stored or client's responsible does. A stray number (not the owner's, see planBatch) adds only to otherNumbers.
 */
export async function foldCalls(
  tx: Queryable,
  decisions: Decision[],
  stored: Map<string, activities.ActivityRow>,
  resolve: (t: Decision['target']) => OwnerRef | null,
  responsibleOf: (d: Decision, owner: OwnerRef | null) => number | null,
): Promise<Map<string, FoldedCall>> {
  const folded = new Map<string, FoldedCall & { storedResponsible: number | null }>();
  for (const d of decisions) {
    const key = callKeyOf(d);
    const e = d.event;
    if (!key || !e.content.call) continue;
    let f = folded.get(key);
    if (!f) {
      const s = stored.get(key);
      const sCall = s?.details.call as CallRecord | undefined;
      f = {
        key,
        call: sCall as CallRecord,
        firstAt: s ? new Date(s.created_at).toISOString() : e.occurredAt,
        last: d,
        storedSubject: s?.subject ?? null,
        owner:
          s && s.owner_type !== 'queue' && s.owner_id != null
            ? { type: s.owner_type as OwnerRef['type'], id: s.owner_id }
            : null,
        responsibleId: null,
        storedResponsible: s?.responsible_id ?? null,
      };
      folded.set(key, f);
    }
    // Recording callbacks carry no direction (connectors default them to inbound): keep the call's own.
    const direction = e.meta?.stage === 'recording' && f.call ? f.call.direction : e.direction;
    f.call = mergeCall(f.call, { ...callFacts(d), direction });
    if (e.occurredAt < f.firstAt) f.firstAt = e.occurredAt;
    f.last = d;
    if (!d.strayNumber) f.named = d;
    const owner = resolve(d.target);
    if (!f.owner && owner) {
      f.owner = owner;
      f.storedResponsible ??= responsibleOf(d, owner);
    }
  }
  const extensions = [
    ...new Set([...folded.values()].map((f) => f.call.operatorExtension).filter((x): x is string => !!x)),
  ];
  const byExtension = await operatorsByExtensions(tx, extensions);
  for (const f of folded.values()) {
    if (f.call.startedAt && f.call.startedAt < f.firstAt) f.firstAt = f.call.startedAt;
    f.operatorId = f.call.operatorExtension ? byExtension.get(f.call.operatorExtension) : undefined;
    f.responsibleId =
      f.call.status === 'answered' && f.operatorId
        ? f.operatorId
        : (f.storedResponsible ?? responsibleOf(f.last, f.owner));
  }
  return folded;
}

/** What an event says about its call; a stray number is moved from its side of the call to otherNumbers. */
function callFacts(d: Decision): CallRecord {
  const e = d.event;
  const call = { ...e.content.call!, direction: e.direction };
  const phones = e.sender.identities.filter((i) => i.kind === 'phone').map((i) => i.value);
  if (!d.strayNumber) return { ...call, clientNumber: phones[0] };
  const clientSide = e.direction === 'inbound' ? 'from' : 'to';
  return { ...call, [clientSide]: undefined, otherNumbers: phones };
}

/** The call's client number, for subjects: the owner's, never a stray one. */
export const callerOf = (f: FoldedCall) =>
  f.call.clientNumber ?? (f.call.direction === 'inbound' ? f.call.from : f.call.to) ?? '';

export function callActivityRow(f: FoldedCall, meaningfulSec: number): activities.NewActivity {
  const e = f.last.event;
  return {
    ownerType: f.owner?.type ?? 'queue',
    ownerId: f.owner?.id ?? null,
    type: 'call',
    direction: f.call.direction,
    state: 'completed',
    subject: f.named
      ? activitySubject({ ...f.named.event, direction: f.call.direction })
      : (f.storedSubject ?? activitySubject({ ...e, direction: f.call.direction })),
    body: null,
    deadline: null,
    completedAt: f.call.endedAt ?? e.occurredAt,
    responsibleId: f.responsibleId,
    channel: e.channel,
    sourceKey: e.source.key,
    eventId: e.id,
    externalKey: f.key,
    messageId: null,
    threadRef: null,
    details: {
      call: f.call,
      result: f.call.status,
      meaningful: (f.call.talkSec ?? 0) >= meaningfulSec,
      line: e.source.key,
      lineSource: e.meta?.lineSource ?? e.source.name,
      utm: e.utm,
      ...(f.operatorId ? { operatorId: f.operatorId } : {}),
    },
    createdAt: f.firstAt,
  };
}
