import type { Queryable } from '../crm-core/db/database.js';
import * as activities from '../crm-core/repositories/activity.repository.js';
import * as conv from '../crm-core/repositories/conversation.repository.js';
import { type InboundContact, MESSENGER_CHANNELS, type MessageInfo } from '../event/inbound-contact.js';
import { stableUuid } from '../event/stable-id.js';
import { activitySubject, shownIdentity } from './activity-kind.js';
import { type OwnerRef, ownerKey } from './owner-resolution.js';

/**
 * Messenger messages: one conversation per chat (channel account + chat id) while it is open, one activity of
 * type message on the client's entity per conversation, every message in its own row.
 *
 * - A message after CONVERSATION_IDLE_HOURS without messages closes the old conversation (at its last message +
 *   the idle time) and opens a new one, with a new activity.
 * - A vendor message id already stored (a redelivered update, the echo of our own reply) changes nothing; an edit
 *   replaces the stored text (the newest edit wins, whatever order edits arrive in).
 * - The conversation follows its chat's client: when the chat's identity now leads to another client (a contact
 *   share joined it to the client's calls; a chat the business opened waited in the queue), the conversation and
 *   its activity move there.
 * - The activity is what the operator's counters see: planned, due `replyDeadlineMin` after the client's first
 *   unanswered message, while the client waits; completed once answered (an outbound message) or closed.
 */
export interface MessageItem {
  event: InboundContact & { content: { message: MessageInfo } };
  owner: OwnerRef | null;
  /** The owner's responsible, for a new conversation's activity (null: assigned later in the batch). */
  responsibleId: number | null;
}

export interface ConversationOptions {
  idleHours: number;
  replyDeadlineMin: number;
}

const MESSENGER = new Set<string>(MESSENGER_CHANNELS);

export const isMessengerMessage = (e: InboundContact): e is MessageItem['event'] =>
  e.kind === 'message' && MESSENGER.has(e.channel) && e.content.message !== undefined;

interface State {
  row?: conv.ConversationRow;
  /** A conversation opened by this batch: its index in `opened`. */
  openedIndex?: number;
  chat: conv.ChatRef;
  owner: OwnerRef | null;
  status: 'open' | 'closed';
  openedAt: number;
  lastMessageAt: number;
  lastInboundAt: number | null;
  closedAt: number | null;
  activityId?: number;
  state: 'planned' | 'completed';
  deadline: number | null;
  completedAt: number | null;
  lastText: string | null;
  lastTextAt: number;
  moved: boolean;
  responsibleId: number | null;
  dirty: boolean;
}

const iso = (t: number | null) => (t == null ? null : new Date(t).toISOString());
const chatKey = (c: conv.ChatRef) => `${c.channel}\0${c.accountKey}\0${c.chatId}`;
const vendorKey = (channel: string, accountKey: string, id: string) => `${channel}\0${accountKey}\0${id}`;
const chatOf = (e: MessageItem['event']): conv.ChatRef => ({
  channel: e.channel,
  accountKey: e.source.key,
  chatId: e.content.message.chatId,
});

/** Stores a batch's messenger messages; returns, per item, the activity of its conversation. */
export async function routeMessages(
  tx: Queryable,
  items: MessageItem[],
  opts: ConversationOptions,
): Promise<number[]> {
  if (items.length === 0) return [];
  const idleMs = opts.idleHours * 3_600_000;
  const chats = [...new Map(items.map((i) => [chatKey(chatOf(i.event)), chatOf(i.event)])).values()];
  await conv.lockChats(tx, chats);
  const openRows = await conv.openConversationsOf(tx, chats);
  const stored = await conv.messagesByVendorIds(
    tx,
    items.map((i) => ({ ...chatOf(i.event), vendorMessageId: i.event.content.message.vendorMessageId })),
  );
  const storedConvs = new Map(
    [
      ...openRows,
      ...(await conv.conversationsByIds(tx, [
        ...new Set(stored.map((m) => m.conversation_id).filter((id) => !openRows.some((r) => r.id === id))),
      ])),
    ].map((r) => [r.id, r]),
  );
  const acts = new Map(
    (
      await conv.conversationActivityStates(
        tx,
        openRows.map((r) => r.activity_id),
      )
    ).map((a) => [a.id, a]),
  );

  const current = new Map<string, State>();
  const states: State[] = [];
  for (const r of openRows) {
    const a = acts.get(r.activity_id);
    const s: State = {
      row: r,
      chat: { channel: r.channel, accountKey: r.account_key, chatId: r.chat_id },
      owner: r.owner_type === 'queue' ? null : { type: r.owner_type, id: r.owner_id! },
      status: 'open',
      openedAt: +new Date(r.opened_at),
      lastMessageAt: +new Date(r.last_message_at),
      lastInboundAt: r.last_inbound_at ? +new Date(r.last_inbound_at) : null,
      closedAt: null,
      activityId: r.activity_id,
      state: a?.state ?? 'completed',
      deadline: a?.deadline ? +new Date(a.deadline) : null,
      completedAt: a?.completed_at ? +new Date(a.completed_at) : null,
      lastText: null,
      lastTextAt: +new Date(r.last_message_at),
      moved: false,
      responsibleId: null,
      dirty: false,
    };
    current.set(chatKey(s.chat), s);
    states.push(s);
  }

  const known = new Map(stored.map((m) => [vendorKey(m.channel, m.account_key, m.vendor_message_id!), m]));
  const fresh = new Map<string, { state: State; row: Omit<conv.NewMessage, 'conversationId'> }>();
  const edits: { id: number; text: string | null; attachments: unknown[] | null; editedAt: string }[] = [];
  const opened: { state: State; item: MessageItem }[] = [];
  const result = new Map<MessageItem, State | number>(); // a State, or an activity id of a stored conversation

  // Time order, so idleness is measured between consecutive messages of a chat.
  const ordered = [...items].sort((a, b) => Date.parse(a.event.occurredAt) - Date.parse(b.event.occurredAt));
  for (const item of ordered) {
    const e = item.event;
    const m = e.content.message;
    const chat = chatOf(e);
    const vk = vendorKey(chat.channel, chat.accountKey, m.vendorMessageId);
    const at = Date.parse(e.occurredAt);
    const seen = known.get(vk);
    const batchSeen = fresh.get(vk);
    if (seen || batchSeen) {
      if (m.edited && seen) {
        edits.push({
          id: seen.id,
          text: e.content.text ?? null,
          attachments: m.attachments ?? null,
          editedAt: e.occurredAt,
        });
      } else if (
        m.edited &&
        batchSeen &&
        (batchSeen.row.editedAt == null || Date.parse(batchSeen.row.editedAt) < at)
      ) {
        batchSeen.row.text = e.content.text ?? null;
        if (m.attachments) batchSeen.row.attachments = m.attachments;
        batchSeen.row.editedAt = e.occurredAt;
      }
      // A redelivery (or the echo of our own reply): nothing changes.
      result.set(item, batchSeen ? batchSeen.state : storedConvs.get(seen!.conversation_id)!.activity_id);
      continue;
    }

    let s = current.get(chatKey(chat));
    if (s && s.status === 'open' && at - s.lastMessageAt > idleMs) {
      s.status = 'closed';
      s.closedAt = s.lastMessageAt + idleMs;
      if (s.state === 'planned') {
        s.state = 'completed';
        s.completedAt = s.closedAt;
      }
      s.dirty = true;
      s = undefined;
    }
    if (!s) {
      s = {
        chat,
        owner: item.owner,
        status: 'open',
        openedAt: at,
        lastMessageAt: at,
        lastInboundAt: null,
        closedAt: null,
        state: 'completed',
        deadline: null,
        completedAt: null,
        lastText: null,
        lastTextAt: at,
        moved: false,
        responsibleId: item.responsibleId,
        dirty: true,
        openedIndex: opened.length,
      };
      opened.push({ state: s, item });
      current.set(chatKey(chat), s);
      states.push(s);
    } else if (
      item.owner &&
      (!s.owner || (e.direction === 'inbound' && ownerKey(s.owner) !== ownerKey(item.owner)))
    ) {
      // The chat's client is now someone else (or the chat waited in the queue): the conversation follows.
      s.owner = item.owner;
      s.moved = true;
      s.responsibleId = item.responsibleId;
      s.dirty = true;
    }
    s.lastMessageAt = Math.max(s.lastMessageAt, at);
    if (e.direction === 'inbound') {
      s.lastInboundAt = Math.max(s.lastInboundAt ?? at, at);
      if (s.state !== 'planned') {
        s.state = 'planned';
        s.deadline = at + opts.replyDeadlineMin * 60_000;
        s.completedAt = null;
      }
    } else if (s.state === 'planned') {
      s.state = 'completed';
      s.completedAt = at;
    }
    if (at >= s.lastTextAt || s.lastText == null) {
      s.lastText = messagePreview(e);
      s.lastTextAt = at;
    }
    s.dirty = true;
    fresh.set(vk, {
      state: s,
      row: {
        channel: chat.channel,
        accountKey: chat.accountKey,
        direction: e.direction,
        vendorMessageId: m.vendorMessageId,
        eventId: e.id,
        text: e.content.text ?? null,
        attachments: m.attachments ?? [],
        extras: extrasOf(m),
        replyToVendorMessageId: m.replyToVendorMessageId ?? null,
        status: e.direction === 'outbound' ? 'sent' : null,
        operatorId: null,
        occurredAt: e.occurredAt,
        editedAt: m.edited ? e.occurredAt : null,
      },
    });
    result.set(item, s);
  }

  // --- writes ---------------------------------------------------------------------------------------
  // Closed (idle) and changed conversations first: a chat's new conversation may only open once the old is closed.
  const changed = states.filter((s) => s.row && s.dirty);
  await conv.updateConversations(
    tx,
    changed.map((s) => ({
      id: s.row!.id,
      ownerType: s.owner?.type ?? 'queue',
      ownerId: s.owner?.id ?? null,
      status: s.status,
      lastMessageAt: iso(s.lastMessageAt)!,
      lastInboundAt: iso(s.lastInboundAt),
      closedAt: iso(s.closedAt),
      closedBy: s.status === 'closed' ? 'idle' : null,
    })),
  );
  await conv.updateConversationActivities(tx, changed.map(activityChange));

  const activityIds = await activities.upsertActivities(
    tx,
    opened.map(({ state: s, item }) => ({
      ownerType: s.owner?.type ?? 'queue',
      ownerId: s.owner?.id ?? null,
      type: 'message',
      direction: item.event.direction,
      state: s.state,
      subject: conversationSubject(item.event),
      body: s.lastText,
      deadline: iso(s.state === 'planned' ? s.deadline : null),
      completedAt: iso(s.state === 'completed' ? (s.completedAt ?? s.openedAt) : null),
      responsibleId: item.responsibleId,
      channel: item.event.channel,
      sourceKey: item.event.source.key,
      eventId: item.event.id,
      externalKey: `conversation:${stableUuid('conversation', chatKey(s.chat), item.event.id)}`,
      messageId: null,
      threadRef: null,
      details: conversationDetails(s, item.event),
      createdAt: item.event.occurredAt,
    })),
  );
  opened.forEach((o, i) => {
    o.state.activityId = activityIds[i]!;
  });
  const convIds = await conv.insertConversations(
    tx,
    opened.map(({ state: s }) => ({
      ...s.chat,
      activityId: s.activityId!,
      ownerType: s.owner?.type ?? 'queue',
      ownerId: s.owner?.id ?? null,
      openedAt: iso(s.openedAt)!,
      lastMessageAt: iso(s.lastMessageAt)!,
      lastInboundAt: iso(s.lastInboundAt),
      status: s.status,
      closedAt: iso(s.closedAt),
    })),
  );
  const idOf = (s: State) => (s.row ? s.row.id : convIds[s.openedIndex!]!);
  await conv.insertMessages(
    tx,
    [...fresh.values()].map(({ state, row }) => ({ ...row, conversationId: idOf(state) })),
  );
  await conv.editMessages(tx, edits);
  // Outbound messages written from the vendor's own app may have had statuses before they were routed.
  await conv.applyPendingStatuses(
    tx,
    [...fresh.values()]
      .filter((f) => f.row.direction === 'outbound')
      .map((f) => ({
        channel: f.row.channel,
        accountKey: f.row.accountKey,
        vendorMessageId: f.row.vendorMessageId!,
      })),
  );
  return items.map((i) => {
    const r = result.get(i)!;
    return typeof r === 'number' ? r : r.activityId!;
  });
}

function activityChange(s: State): conv.ConversationActivityChange {
  return {
    activityId: s.activityId!,
    ownerType: s.owner?.type ?? 'queue',
    ownerId: s.owner?.id ?? null,
    state: s.state,
    deadline: iso(s.deadline),
    completedAt: iso(s.state === 'completed' ? (s.completedAt ?? s.lastMessageAt) : null),
    body: s.lastText,
    moved: s.moved,
    responsibleId: s.moved ? s.responsibleId : null,
    details: { conversation: { status: s.status, lastMessageAt: iso(s.lastMessageAt) } },
  };
}

function conversationDetails(s: State, e: InboundContact) {
  return {
    conversation: {
      chatId: s.chat.chatId,
      accountKey: s.chat.accountKey,
      status: s.status,
      lastMessageAt: iso(s.lastMessageAt),
    },
    senderName: e.sender.name,
    utm: e.utm,
    regionHints: e.regionHints,
    meta: e.meta ?? {},
  };
}

function conversationSubject(e: InboundContact): string {
  const who = e.sender.name ?? shownIdentity(e);
  return who ? `${e.channel} conversation with ${who}` : activitySubject(e);
}

/** What the activity shows of the latest message: its text, else what it carries. */
function messagePreview(e: MessageItem['event']): string | null {
  const m = e.content.message;
  if (e.content.text) return e.content.text.slice(0, 1_000);
  if (m.attachments?.length) return `[${m.attachments.map((a) => a.name ?? a.kind).join(', ')}]`;
  if (m.location) return '[location]';
  if (m.sharedContact) return '[contact]';
  if (m.interactive) return m.interactive.title ?? m.interactive.id;
  return null;
}

function extrasOf(m: MessageInfo): Record<string, unknown> {
  const x: Record<string, unknown> = {};
  if (m.location) x.location = m.location;
  if (m.interactive) x.interactive = m.interactive;
  if (m.sharedContact) x.sharedContact = m.sharedContact;
  return x;
}
