import type { Queryable } from '../db/database.js';
import { jsonArrayParam, jsonbArray } from '../db/jsonb-array.js';

/*
 * Conversations and their messages (migration 011). The rules (when a conversation opens, closes, moves) live in
 * router/conversations.ts and outbound/messengers/; this file only reads and writes rows.
 */

export type ConversationOwnerType = 'lead' | 'contact' | 'company' | 'queue';
export type MessageStatus = 'pending' | 'sent' | 'failed' | 'delivered' | 'read';

/** Outbound statuses only move up this order (failed is final unless delivered/read proves otherwise). */
export const STATUS_RANK: Record<MessageStatus, number> = {
  pending: 0,
  sent: 1,
  failed: 2,
  delivered: 3,
  read: 4,
};
const rankSql = (col: string) =>
  `(CASE ${col} ${Object.entries(STATUS_RANK)
    .map(([s, r]) => `WHEN '${s}' THEN ${r}`)
    .join(' ')} ELSE -1 END)`;

export interface ConversationRow {
  id: number;
  activity_id: number;
  channel: string;
  account_key: string;
  chat_id: string;
  owner_type: ConversationOwnerType;
  owner_id: number | null;
  status: 'open' | 'closed';
  opened_at: Date;
  last_message_at: Date;
  last_inbound_at: Date | null;
  closed_at: Date | null;
  closed_by: 'operator' | 'idle' | null;
  closed_by_operator_id: number | null;
  created_at: Date;
  updated_at: Date;
}

/** A conversation as the API shows it: with its activity's responsible operator and message count. */
export interface ConversationView extends ConversationRow {
  responsible_id: number | null;
  messages: number;
}

export interface MessageRow {
  id: number;
  conversation_id: number;
  channel: string;
  account_key: string;
  direction: 'inbound' | 'outbound';
  vendor_message_id: string | null;
  event_id: string | null;
  text: string | null;
  attachments: Record<string, unknown>[];
  extras: Record<string, unknown>;
  reply_to_vendor_message_id: string | null;
  status: MessageStatus | null;
  error: { code?: string; message: string } | null;
  status_at: Date | null;
  operator_id: number | null;
  occurred_at: Date;
  edited_at: Date | null;
  created_at: Date;
}

export interface ChatRef {
  channel: string;
  accountKey: string;
  chatId: string;
}
export interface VendorRef {
  channel: string;
  accountKey: string;
  vendorMessageId: string;
}

/**
 * Locks the given chats until the transaction ends (advisory locks in one global order: no deadlocks), so two
 * routers never open two conversations for one chat; the partial unique index is the last line of defence.
 */
export async function lockChats(tx: Queryable, chats: ChatRef[]): Promise<void> {
  if (chats.length === 0) return;
  await tx.query(
    `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended(k, 11) AS h FROM unnest($1::text[]) AS k ORDER BY 1
     ) AS s`,
    [chats.map((c) => `chat\u001f${c.channel}\u001f${c.accountKey}\u001f${c.chatId}`)],
  );
}

/**
 * The chats' open conversations, locked. One index probe per chat: as a plain join the planner, with
 * statistics from when the table was small, hashed every open conversation for each batch (108 ms a statement
 * at 160,000 of them in the WhatsApp bench), a cost that grows with the table instead of the batch. A LATERAL
 * subquery the planner cannot flatten into a join (the row lock here, LIMIT 1 on unique keys elsewhere) is
 * always probed once per key (test/integration/lookups-probe-index.test.ts).
 *
 * FOR NO KEY UPDATE, the lock an UPDATE of non-key columns takes anyway: it keeps other writers of these rows
 * out until the batch commits, but not an operator's reply inserting its message (the foreign key check takes
 * KEY SHARE, which FOR UPDATE would have made wait for the whole router batch).
 */
export async function openConversationsOf(tx: Queryable, chats: ChatRef[]): Promise<ConversationRow[]> {
  if (chats.length === 0) return [];
  return (
    await tx.query<ConversationRow>(
      `SELECT c.* FROM unnest($1::text[], $2::text[], $3::text[]) AS k(channel, account_key, chat_id)
         CROSS JOIN LATERAL (
           SELECT * FROM conversations c
            WHERE c.channel = k.channel AND c.account_key = k.account_key AND c.chat_id = k.chat_id
              AND c.status = 'open'
              FOR NO KEY UPDATE) AS c`,
      [chats.map((c) => c.channel), chats.map((c) => c.accountKey), chats.map((c) => c.chatId)],
    )
  ).rows;
}

/**
 * Messages already stored under the given vendor ids (redeliveries, edits, echoes of our own replies): one
 * index probe per id, whatever the planner's statistics say (see openConversationsOf).
 */
export async function messagesByVendorIds(tx: Queryable, refs: VendorRef[]): Promise<MessageRow[]> {
  if (refs.length === 0) return [];
  return (
    await tx.query<MessageRow>(
      `SELECT m.* FROM unnest($1::text[], $2::text[], $3::text[]) AS k(channel, account_key, vendor_message_id)
         CROSS JOIN LATERAL (
           SELECT * FROM messages m
            WHERE m.channel = k.channel AND m.account_key = k.account_key
              AND m.vendor_message_id = k.vendor_message_id
            LIMIT 1) AS m`,
      [refs.map((r) => r.channel), refs.map((r) => r.accountKey), refs.map((r) => r.vendorMessageId)],
    )
  ).rows;
}

export interface NewConversation extends ChatRef {
  activityId: number;
  ownerType: ConversationOwnerType;
  ownerId: number | null;
  openedAt: string;
  lastMessageAt: string;
  lastInboundAt: string | null;
  /** A conversation opened and idle-closed within one batch is inserted closed. */
  status: 'open' | 'closed';
  closedAt: string | null;
}

/** Returns the new ids in input order. */
export async function insertConversations(tx: Queryable, rows: NewConversation[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const col = <K extends keyof NewConversation>(k: K) => rows.map((r) => r[k]);
  const r = await tx.query<{ id: number; ord: number }>(
    `WITH input AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                            $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[],
                            $11::timestamptz[])
         WITH ORDINALITY AS t(activity_id, channel, account_key, chat_id, owner_type, owner_id, opened_at,
                              last_message_at, last_inbound_at, status, closed_at, ord)
     ), ins AS (
       INSERT INTO conversations (activity_id, channel, account_key, chat_id, owner_type, owner_id, opened_at,
                                  last_message_at, last_inbound_at, status, closed_at, closed_by)
       SELECT activity_id, channel, account_key, chat_id, owner_type, owner_id, opened_at, last_message_at,
              last_inbound_at, status, closed_at, CASE WHEN status = 'closed' THEN 'idle' END
         FROM input ORDER BY ord
       RETURNING id, activity_id
     )
     SELECT ins.id, input.ord FROM ins JOIN input USING (activity_id) ORDER BY input.ord`,
    [
      col('activityId'),
      col('channel'),
      col('accountKey'),
      col('chatId'),
      col('ownerType'),
      col('ownerId'),
      col('openedAt'),
      col('lastMessageAt'),
      col('lastInboundAt'),
      col('status'),
      col('closedAt'),
    ],
  );
  return r.rows.map((x) => x.id);
}

export interface ConversationChange {
  id: number;
  ownerType: ConversationOwnerType;
  ownerId: number | null;
  status: 'open' | 'closed';
  lastMessageAt: string;
  lastInboundAt: string | null;
  closedAt: string | null;
  closedBy: 'operator' | 'idle' | null;
}

export async function updateConversations(tx: Queryable, rows: ConversationChange[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof ConversationChange>(k: K) => rows.map((r) => r[k]);
  await tx.query(
    `UPDATE conversations c SET owner_type = t.owner_type, owner_id = t.owner_id, status = t.status,
            last_message_at = t.last_message_at, last_inbound_at = t.last_inbound_at, closed_at = t.closed_at,
            closed_by = t.closed_by, updated_at = now()
       FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                   $7::timestamptz[], $8::text[])
            AS t(id, owner_type, owner_id, status, last_message_at, last_inbound_at, closed_at, closed_by)
      WHERE c.id = t.id`,
    [
      col('id'),
      col('ownerType'),
      col('ownerId'),
      col('status'),
      col('lastMessageAt'),
      col('lastInboundAt'),
      col('closedAt'),
      col('closedBy'),
    ],
  );
}

/**
 * The conversation's activity mirrors it: owner, and state — planned (with a deadline: the operator's counters
 * count it) while a client's message waits for an answer, completed once answered or closed.
 */
export interface ConversationActivityChange {
  activityId: number;
  ownerType: ConversationOwnerType;
  ownerId: number | null;
  state: 'planned' | 'completed';
  deadline: string | null;
  /** The conversation moved to another client: the activity takes responsibleId (null: assigned later in the batch). */
  moved: boolean;
  responsibleId: number | null;
  completedAt: string | null;
  /** The last message's text, so activity lists show where the chat stands. */
  body: string | null;
  details: Record<string, unknown>;
}

export async function updateConversationActivities(
  tx: Queryable,
  rows: ConversationActivityChange[],
): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof ConversationActivityChange>(k: K) => rows.map((r) => r[k]);
  await tx.query(
    `UPDATE activities a SET owner_type = t.owner_type, owner_id = t.owner_id, state = t.state,
            deadline = t.deadline, completed_at = t.completed_at, body = COALESCE(t.body, a.body),
            responsible_id = CASE WHEN t.moved THEN t.responsible_id ELSE a.responsible_id END,
            details = a.details || t.details, updated_at = now()
       FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                   $7::text[], ${jsonbArray(8)}, $9::int[], $10::boolean[])
            AS t(id, owner_type, owner_id, state, deadline, completed_at, body, details, responsible_id, moved)
      WHERE a.id = t.id`,
    [
      col('activityId'),
      col('ownerType'),
      col('ownerId'),
      col('state'),
      col('deadline'),
      col('completedAt'),
      col('body'),
      jsonArrayParam(rows.map((r) => r.details)),
      col('responsibleId'),
      col('moved'),
    ],
  );
}

export async function conversationsByIds(tx: Queryable, ids: number[]): Promise<ConversationRow[]> {
  if (ids.length === 0) return [];
  return (await tx.query<ConversationRow>('SELECT * FROM conversations WHERE id = ANY($1::bigint[])', [ids]))
    .rows;
}

/** Activity state of conversations by activity id (the router continues from it). */
export async function conversationActivityStates(tx: Queryable, activityIds: number[]) {
  if (activityIds.length === 0) return [];
  return (
    await tx.query<{
      id: number;
      state: 'planned' | 'completed';
      deadline: Date | null;
      completed_at: Date | null;
    }>('SELECT id, state, deadline, completed_at FROM activities WHERE id = ANY($1::bigint[])', [activityIds])
  ).rows;
}

export interface NewMessage {
  conversationId: number;
  channel: string;
  accountKey: string;
  direction: 'inbound' | 'outbound';
  vendorMessageId: string | null;
  eventId: string | null;
  text: string | null;
  attachments: unknown[];
  extras: Record<string, unknown>;
  replyToVendorMessageId: string | null;
  status: MessageStatus | null;
  operatorId: number | null;
  occurredAt: string;
  editedAt: string | null;
}

/** Inserts messages; one whose vendor id is already stored is skipped. Returns the inserted rows' ids. */
export async function insertMessages(tx: Queryable, rows: NewMessage[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const col = <K extends keyof NewMessage>(k: K) => rows.map((r) => r[k] ?? null);
  const r = await tx.query<{ id: number }>(
    `INSERT INTO messages (conversation_id, channel, account_key, direction, vendor_message_id, event_id, text,
                           attachments, extras, reply_to_vendor_message_id, status, status_at, operator_id,
                           occurred_at, edited_at)
     SELECT conversation_id, channel, account_key, direction, vendor_message_id, event_id, text, attachments,
            extras, reply_to, status, CASE WHEN status IS NULL THEN NULL ELSE occurred_at END, operator_id,
            occurred_at, edited_at
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[],
                   ${jsonbArray(8)}, ${jsonbArray(9)}, $10::text[], $11::text[], $12::int[], $13::timestamptz[],
                   $14::timestamptz[])
            AS t(conversation_id, channel, account_key, direction, vendor_message_id, event_id, text,
                 attachments, extras, reply_to, status, operator_id, occurred_at, edited_at)
     ON CONFLICT (channel, account_key, vendor_message_id) DO NOTHING
     RETURNING id`,
    [
      col('conversationId'),
      col('channel'),
      col('accountKey'),
      col('direction'),
      col('vendorMessageId'),
      col('eventId'),
      col('text'),
      jsonArrayParam(rows.map((r) => r.attachments)),
      jsonArrayParam(rows.map((r) => r.extras)),
      col('replyToVendorMessageId'),
      col('status'),
      col('operatorId'),
      col('occurredAt'),
      col('editedAt'),
    ],
  );
  return r.rows.map((x) => x.id);
}

/** Edits replace text (and attachments when the edit has any); an older edit arriving late changes nothing. */
export async function editMessages(
  tx: Queryable,
  rows: { id: number; text: string | null; attachments: unknown[] | null; editedAt: string }[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `UPDATE messages m SET text = t.text, attachments = COALESCE(t.attachments, m.attachments), edited_at = t.edited_at
       FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::timestamptz[]) AS t(id, text, attachments, edited_at)
      WHERE m.id = t.id AND (m.edited_at IS NULL OR m.edited_at < t.edited_at)`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.text),
      rows.map((r) => (r.attachments ? JSON.stringify(r.attachments) : null)),
      rows.map((r) => r.editedAt),
    ],
  );
}

export interface StatusUpdate extends VendorRef {
  status: Exclude<MessageStatus, 'pending'>;
  error: { code?: string; message: string } | null;
  occurredAt: string;
}

/**
 * Applies delivery statuses to outbound messages, only upwards in STATUS_RANK (so any order of arrival gives
 * the same end state). A status for a message not known yet is kept in message_statuses_pending (the highest
 * one) and applied by applyPendingStatuses when the message gets that vendor id. Returns how many were kept.
 */
export async function applyStatuses(tx: Queryable, rows: StatusUpdate[]): Promise<number> {
  if (rows.length === 0) return 0;
  // The best status per message first: one row per message keeps the UPDATE deterministic.
  const best = new Map<string, StatusUpdate>();
  for (const r of rows) {
    const k = `${r.channel}\0${r.accountKey}\0${r.vendorMessageId}`;
    const seen = best.get(k);
    if (!seen || STATUS_RANK[r.status] > STATUS_RANK[seen.status]) best.set(k, r);
  }
  const list = [...best.values()];
  const col = <K extends keyof StatusUpdate>(k: K) => list.map((r) => r[k]);
  const params = [
    col('channel'),
    col('accountKey'),
    col('vendorMessageId'),
    col('status'),
    list.map((r) => (r.error ? JSON.stringify(r.error) : null)),
    col('occurredAt'),
  ];
  const input = `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
                 AS t(channel, account_key, vendor_message_id, status, error, occurred_at)`;
  const r = await tx.query<{ channel: string; account_key: string; vendor_message_id: string }>(
    `WITH input AS (SELECT * FROM ${input}),
     known AS (
       SELECT m.id, i.* FROM messages m JOIN input i
         ON m.channel = i.channel AND m.account_key = i.account_key AND m.vendor_message_id = i.vendor_message_id
     ),
     up AS (
       UPDATE messages m SET status = k.status, status_at = k.occurred_at,
              error = CASE WHEN k.status = 'failed' THEN k.error ELSE m.error END
         FROM known k
        WHERE m.id = k.id AND m.direction = 'outbound' AND ${rankSql('k.status')} > ${rankSql('m.status')}
     )
     SELECT channel, account_key, vendor_message_id FROM known`,
    params,
  );
  const known = new Set(r.rows.map((x) => `${x.channel}\0${x.account_key}\0${x.vendor_message_id}`));
  const unknown = list.filter((x) => !known.has(`${x.channel}\0${x.accountKey}\0${x.vendorMessageId}`));
  if (unknown.length === 0) return 0;
  const ucol = <K extends keyof StatusUpdate>(k: K) => unknown.map((x) => x[k]);
  await tx.query(
    `INSERT INTO message_statuses_pending AS p (channel, account_key, vendor_message_id, status, error, occurred_at)
     SELECT * FROM ${input}
     ON CONFLICT (channel, account_key, vendor_message_id) DO UPDATE
       SET status = EXCLUDED.status, error = EXCLUDED.error, occurred_at = EXCLUDED.occurred_at, received_at = now()
       WHERE ${rankSql('EXCLUDED.status')} > ${rankSql('p.status')}`,
    [
      ucol('channel'),
      ucol('accountKey'),
      ucol('vendorMessageId'),
      ucol('status'),
      unknown.map((x) => (x.error ? JSON.stringify(x.error) : null)),
      ucol('occurredAt'),
    ],
  );
  return unknown.length;
}

/** Statuses that arrived before their message had its vendor id: applied now (upwards only), then forgotten. */
export async function applyPendingStatuses(tx: Queryable, refs: VendorRef[]): Promise<void> {
  if (refs.length === 0) return;
  const r = await tx.query<PendingStatusRow>(
    `DELETE FROM message_statuses_pending p
      USING unnest($1::text[], $2::text[], $3::text[]) AS k(channel, account_key, vendor_message_id)
      WHERE p.channel = k.channel AND p.account_key = k.account_key AND p.vendor_message_id = k.vendor_message_id
      RETURNING p.*`,
    [refs.map((x) => x.channel), refs.map((x) => x.accountKey), refs.map((x) => x.vendorMessageId)],
  );
  if (r.rows.length) await applyStatuses(tx, pendingStatusUpdates(r.rows));
}

/** A row of message_statuses_pending: a status that came before its message had the vendor's id. */
export interface PendingStatusRow {
  channel: string;
  account_key: string;
  vendor_message_id: string;
  status: Exclude<MessageStatus, 'pending'>;
  error: { code?: string; message: string } | null;
  occurred_at: Date;
}

/** Parked statuses taken out of message_statuses_pending, as the updates applyStatuses takes. */
export function pendingStatusUpdates(rows: PendingStatusRow[]): StatusUpdate[] {
  return rows.map((x) => ({
    channel: x.channel,
    accountKey: x.account_key,
    vendorMessageId: x.vendor_message_id,
    status: x.status,
    error: x.error,
    occurredAt: new Date(x.occurred_at).toISOString(),
  }));
}

/**
 * Closes open conversations idle for longer than idleHours (closed_at = last message + idle time) and completes
 * their activities. Returns how many were closed.
 */
export async function closeIdleConversations(db: Queryable, idleHours: number, now: Date): Promise<number> {
  const r = await db.query<{ activity_id: number; closed_at: Date }>(
    `UPDATE conversations SET status = 'closed', closed_by = 'idle',
            closed_at = last_message_at + $1 * interval '1 hour', updated_at = now()
      WHERE status = 'open' AND last_message_at < $2::timestamptz - $1 * interval '1 hour'
      RETURNING activity_id, closed_at`,
    [idleHours, now.toISOString()],
  );
  await completeActivities(
    db,
    r.rows.map((x) => ({ activityId: x.activity_id, at: new Date(x.closed_at).toISOString() })),
  );
  return r.rowCount;
}

/** A closed conversation's activity is done: completed at the close (an unanswered wait ends with it). */
async function completeActivities(db: Queryable, rows: { activityId: number; at: string }[]) {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE activities a SET state = 'completed', completed_at = COALESCE(a.completed_at, t.at), updated_at = now()
       FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, at) WHERE a.id = t.id`,
    [rows.map((r) => r.activityId), rows.map((r) => r.at)],
  );
}

/** Closes one conversation on an operator's request; false when it was not open. */
export async function closeConversation(db: Queryable, id: number, operatorId: number | null, now: Date) {
  const r = await db.query<{ activity_id: number }>(
    `UPDATE conversations SET status = 'closed', closed_by = 'operator', closed_by_operator_id = $2,
            closed_at = $3, updated_at = now()
      WHERE id = $1 AND status = 'open' RETURNING activity_id`,
    [id, operatorId, now.toISOString()],
  );
  await completeActivities(
    db,
    r.rows.map((x) => ({ activityId: x.activity_id, at: now.toISOString() })),
  );
  return r.rowCount > 0;
}

/** Reopens a closed conversation (an operator writes in it again); false when the chat has another open one. */
export async function reopenConversation(tx: Queryable, id: number): Promise<boolean> {
  const r = await tx.query(
    `UPDATE conversations c SET status = 'open', closed_at = NULL, closed_by = NULL, closed_by_operator_id = NULL,
            updated_at = now()
      WHERE c.id = $1 AND c.status = 'closed' AND NOT EXISTS (
        SELECT 1 FROM conversations o WHERE o.status = 'open' AND o.channel = c.channel
           AND o.account_key = c.account_key AND o.chat_id = c.chat_id)`,
    [id],
  );
  return r.rowCount > 0;
}

const VIEW = `SELECT c.*, a.responsible_id,
                     (SELECT count(*)::int FROM messages m WHERE m.conversation_id = c.id) AS messages
                FROM conversations c JOIN activities a ON a.id = c.activity_id`;

export async function getConversation(db: Queryable, id: number): Promise<ConversationView | undefined> {
  return (await db.query<ConversationView>(`${VIEW} WHERE c.id = $1`, [id])).rows[0];
}

export async function listConversations(
  db: Queryable,
  f: { responsibleId?: number; status?: 'open' | 'closed'; limit: number; offset: number },
): Promise<ConversationView[]> {
  return (
    await db.query<ConversationView>(
      `${VIEW} WHERE ($1::int IS NULL OR a.responsible_id = $1) AND ($2::text IS NULL OR c.status = $2)
        ORDER BY c.last_message_at DESC, c.id DESC LIMIT $3 OFFSET $4`,
      [f.responsibleId ?? null, f.status ?? null, f.limit, f.offset],
    )
  ).rows;
}

/** The conversations of one client entity (the router moves them along when a chat joins another client). */
export async function conversationsOfOwner(
  db: Queryable,
  ownerType: ConversationOwnerType,
  ownerId: number,
): Promise<ConversationRow[]> {
  return (
    await db.query<ConversationRow>(
      'SELECT * FROM conversations WHERE owner_type = $1 AND owner_id = $2 ORDER BY id',
      [ownerType, ownerId],
    )
  ).rows;
}

export async function listMessages(db: Queryable, conversationId: number): Promise<MessageRow[]> {
  return (
    await db.query<MessageRow>('SELECT * FROM messages WHERE conversation_id = $1 ORDER BY occurred_at, id', [
      conversationId,
    ])
  ).rows;
}

export async function getMessage(
  db: Queryable,
  conversationId: number,
  messageId: number,
): Promise<MessageRow | undefined> {
  return (
    await db.query<MessageRow>('SELECT * FROM messages WHERE conversation_id = $1 AND id = $2', [
      conversationId,
      messageId,
    ])
  ).rows[0];
}
