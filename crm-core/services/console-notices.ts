import type { InboundContact } from '../../event/inbound-contact.js';
import type { RealtimeNotice } from '../../realtime/hub.js';
import { conversationTouched, topic, type WorkPlace, workChanged } from '../../realtime/notices.js';
import type { Queryable } from '../db/database.js';
import type { MessageRow } from '../repositories/conversation.repository.js';
import * as repo from '../repositories/notice.repository.js';

/**
 * What the operators' consoles are told after a change commits (README "Operator console"): the notices are
 * small (ids, a preview) and the console reads details through the API's visibility rules.
 */

/** NOTIFY carries < 8,000 bytes: a long message travels as a preview, the console reads the rest. */
const PREVIEW_CHARS = 1_500;

type MessageLike = Pick<MessageRow, 'id' | 'direction' | 'text' | 'status' | 'operator_id'> & {
  occurred_at: Date | string;
  attachments?: unknown[];
};

export function messageCreated(conversationId: number, m: MessageLike): RealtimeNotice {
  const text = m.text ?? null;
  const cut = text != null && text.length > PREVIEW_CHARS;
  return {
    topic: topic.conversation(conversationId),
    type: 'message.created',
    data: {
      conversationId,
      message: {
        id: Number(m.id),
        direction: m.direction,
        text: cut ? text.slice(0, PREVIEW_CHARS) : text,
        ...(cut ? { truncated: true } : {}),
        sentAt: new Date(m.occurred_at).toISOString(),
        status: m.status,
        operatorId: m.operator_id,
        attachments: (m.attachments ?? []).length,
      },
    },
  };
}

const touchOf = (conversationId: number, m: MessageLike) => ({
  conversationId,
  preview: m.text ?? null,
  at: new Date(m.occurred_at).toISOString(),
  waiting: m.direction === 'inbound',
});

export function messageStatus(
  conversationId: number,
  messageId: number,
  status: string,
  error?: { code?: string; message: string } | null,
): RealtimeNotice {
  return {
    topic: topic.conversation(conversationId),
    type: 'message.status',
    data: {
      conversationId,
      messageId,
      status,
      ...(error ? { error: { ...error, message: error.message.slice(0, 500) } } : {}),
    },
  };
}

export interface RingingCall {
  operatorId: number;
  phone: string;
  line: string;
  client: { entityType: string; entityId: number; name: string | null } | null;
  regionId?: number | null;
  source?: string | null;
  /** false: the caller is new (a lead made by this call, or nobody yet). */
  known: boolean;
}

export function callRinging(c: RingingCall): RealtimeNotice {
  return {
    topic: topic.operator(c.operatorId),
    type: 'call.ringing',
    data: {
      phone: c.phone,
      line: c.line,
      client: c.client,
      known: c.known,
      regionId: c.regionId ?? null,
      source: c.source ?? null,
    },
  };
}

const isRinging = (e: InboundContact) =>
  e.kind === 'call' && e.direction === 'inbound' && e.content.call?.status === 'ringing';

/**
 * After a router batch commits: `work.changed` to each responsible operator (or to the region's queue when
 * nobody is responsible), `message.created` for messenger messages, `call.ringing` for a ringing inbound call.
 */
export async function routedNotices(
  db: Queryable,
  events: InboundContact[],
  created: ReadonlySet<string>,
): Promise<RealtimeNotice[]> {
  const details = await repo.routedDetails(
    db,
    events.map((e) => e.id),
  );
  const byEvent = new Map(events.map((e) => [e.id, e]));
  const notices: RealtimeNotice[] = [];
  const places: WorkPlace[] = [];
  for (const d of details) {
    const place = { responsibleId: d.responsible_id, regionId: d.region_id };
    // A message in a client's conversation patches that entry; a new client (a new lead) changes the list.
    if (d.conversation_id != null && d.message && !created.has(d.event_id))
      notices.push(...conversationTouched(place, touchOf(d.conversation_id, d.message)));
    else places.push(place);
    if (d.conversation_id != null && d.message) notices.push(messageCreated(d.conversation_id, d.message));
    const e = byEvent.get(d.event_id);
    if (e && isRinging(e) && d.responsible_id != null) {
      notices.push(
        callRinging({
          operatorId: d.responsible_id,
          phone: e.sender.identities.find((i) => i.kind === 'phone')?.value ?? e.content.call?.from ?? '',
          line: e.source.key,
          client:
            d.owner_id != null && d.owner_type !== 'queue'
              ? { entityType: d.owner_type, entityId: d.owner_id, name: d.client_name }
              : null,
          known: !created.has(e.id),
          regionId: d.region_id,
          source: d.source_name ?? e.source.name ?? null,
        }),
      );
    }
  }
  return [...workChanged(places), ...notices];
}

/** After vendor delivery statuses were applied: the messages' current status. */
export async function statusNotices(
  db: Queryable,
  statuses: { channel: string; accountKey: string; vendorMessageId: string }[],
): Promise<RealtimeNotice[]> {
  const rows = await repo.messagesByVendorIds(db, statuses);
  return rows
    .filter((m) => m.status != null)
    .map((m) => messageStatus(m.conversation_id, m.id, m.status!, m.status === 'failed' ? m.error : null));
}

/** Where a conversation sits in the work lists (its activity's responsible, its client's region). */
export async function audienceOf(db: Queryable, conversationId: number): Promise<WorkPlace | undefined> {
  const a = await repo.conversationAudience(db, conversationId);
  return a && { responsibleId: a.responsible_id, regionId: a.region_id };
}

/** An operator's reply was recorded: the conversation hears of the message, its audience of changed work. */
export async function replyNotices(
  db: Queryable,
  conversationId: number,
  message: MessageLike,
): Promise<RealtimeNotice[]> {
  const place = await audienceOf(db, conversationId);
  return [
    messageCreated(conversationId, message),
    ...(place ? conversationTouched(place, touchOf(conversationId, message)) : []),
  ];
}

/**
 * An activity changed through the API (completed, rescheduled, reassigned, added, an email reply recorded):
 * the work lists it is on changed, and so did the acting operator's (who may just have handed it away).
 */
export async function activityNotices(
  db: Queryable,
  activityId: number,
  actorId: number | null,
): Promise<RealtimeNotice[]> {
  const p = await repo.activityPlace(db, activityId);
  if (!p) return workChanged([], [actorId]);
  return workChanged(
    [
      { responsibleId: p.responsible_id, regionId: p.region_id },
      { responsibleId: p.owner_responsible_id, regionId: p.region_id },
    ],
    [actorId],
  );
}
