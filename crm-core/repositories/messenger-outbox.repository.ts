import type { Attachment } from '../../event/inbound-contact.js';
import type { Queryable } from '../db/database.js';
import {
  applyStatuses,
  type ConversationRow,
  type PendingStatusRow,
  pendingStatusUpdates,
  type StatusUpdate,
} from './conversation.repository.js';

/**
 * The messenger replies' outbox (table messenger_outbox, migration 011). A row moves pending -> sending (claimed,
 * with a lease) -> sent | pending (retry later) | failed, and each outcome is written onto its message row in the
 * same statement. `attempts` is the fencing token: only the current claim's marks apply. `dispatched_attempt`
 * records that an attempt handed the request to the vendor: an abandoned claim with it set may have been
 * delivered (see outbound/messengers/outbox.ts for what is done then).
 */
export type MessengerOutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';

export interface ReplyPayload {
  text?: string;
  attachments?: Pick<Attachment, 'kind' | 'url' | 'fileId' | 'name' | 'mimeType' | 'caption'>[];
  template?: { name: string; language: string; parameters?: string[] };
}

export interface MessengerOutboxRow {
  id: number;
  message_id: number;
  conversation_id: number;
  account_key: string;
  chat_id: string;
  operator_id: number | null;
  idempotency_key: string;
  payload: ReplyPayload;
  status: MessengerOutboxStatus;
  attempts: number;
  dispatched_attempt: number | null;
  lease_until: Date | null;
  next_attempt_at: Date;
  last_error: string | null;
  vendor_response: unknown;
  sent_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A claimed row; `was` is its status before the claim ('sending' = an abandoned attempt, its lease expired). */
export interface ClaimedReply extends MessengerOutboxRow {
  was: 'pending' | 'sending';
  channel: string;
  /**
   * How the message reads in a chat we draw ourselves (the live chat announces it whole, so the visitor's socket
   * need not read it back): its time and the operator's name. Set by insertClaimedReply, not by the worker's claim.
   */
  shown?: { sentAt: string; author?: string };
}

const MS = `* interval '1 millisecond'`;

/** Serialises requests with one operator's Idempotency-Key, so the second finds the first's row. */
export async function lockReplyKey(tx: Queryable, operatorId: number, key: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(727011, hashtext($1))', [`${operatorId}:${key}`]);
}

export async function findReplyByKey(
  db: Queryable,
  operatorId: number,
  key: string,
): Promise<MessengerOutboxRow | undefined> {
  return (
    await db.query<MessengerOutboxRow>(
      'SELECT * FROM messenger_outbox WHERE operator_id = $1 AND idempotency_key = $2',
      [operatorId, key],
    )
  ).rows[0];
}

export async function getReply(db: Queryable, id: number): Promise<MessengerOutboxRow | undefined> {
  return (await db.query<MessengerOutboxRow>('SELECT * FROM messenger_outbox WHERE id = $1', [id])).rows[0];
}

/**
 * Under the key's lock (lockReplyKey): the conversation a reply goes to (undefined when there is none) and
 * whether this operator already used the key. One round trip for both: a replay is rare, and only then is the
 * earlier row read (findReplyByKey).
 */
export async function replyTarget(
  tx: Queryable,
  conversationId: number,
  operatorId: number,
  key: string,
): Promise<{ conversation: ConversationRow | undefined; keyUsed: boolean }> {
  const row = (
    await tx.query<ConversationRow & { key_used: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM messenger_outbox WHERE operator_id = $2 AND idempotency_key = $3) AS key_used,
              c.*
         FROM (SELECT 1) AS one LEFT JOIN conversations c ON c.id = $1`,
      [conversationId, operatorId, key],
    )
  ).rows[0]!;
  const { key_used: keyUsed, ...conversation } = row;
  return { conversation: conversation.id == null ? undefined : conversation, keyUsed };
}

/**
 * Records a reply in one statement: its outbound message (status pending), its outbox row already claimed by
 * the request that writes it (status sending, attempt 1, lease running), which sends it at once, and the
 * conversation's answer (it moves on, its activity's wait is over). The worker takes the row over only if that
 * request's process dies (lease expiry) or the attempt fails. One statement instead of three: a reply holds a
 * pooled connection for fewer round trips (the live-chat bench's replies queued for the pool).
 */
export async function insertClaimedReply(
  tx: Queryable,
  r: {
    conversationId: number;
    channel: string;
    accountKey: string;
    chatId: string;
    operatorId: number;
    idempotencyKey: string;
    payload: ReplyPayload;
    at: string;
  },
  leaseMs: number,
): Promise<ClaimedReply> {
  const o = await tx.query<MessengerOutboxRow & { author: string | null }>(
    `WITH m AS (
       INSERT INTO messages (conversation_id, channel, account_key, direction, text, attachments, extras, status,
                             status_at, operator_id, occurred_at)
       VALUES ($1, $2, $3, 'outbound', $4, $5, $6, 'pending', $8, $7, $8) RETURNING id
     ), o AS (
       INSERT INTO messenger_outbox (message_id, conversation_id, account_key, chat_id, operator_id,
                                     idempotency_key, payload, status, attempts, lease_until)
       SELECT m.id, $1, $3, $9, $7, $10, $11, 'sending', 1, now() + $12 ${MS} FROM m
       RETURNING *
     ), c AS (
       UPDATE conversations SET last_message_at = GREATEST(last_message_at, $8::timestamptz), updated_at = now()
        WHERE id = $1 RETURNING activity_id
     ), answered AS (
       UPDATE activities a SET state = 'completed', completed_at = $8::timestamptz, updated_at = now()
         FROM c WHERE a.id = c.activity_id AND a.state = 'planned'
     )
     SELECT o.*, (SELECT name FROM operators WHERE id = $7) AS author FROM o`,
    [
      r.conversationId,
      r.channel,
      r.accountKey,
      r.payload.text ?? null,
      JSON.stringify(r.payload.attachments ?? []),
      JSON.stringify(r.payload.template ? { template: r.payload.template } : {}),
      r.operatorId,
      r.at,
      r.chatId,
      r.idempotencyKey,
      JSON.stringify(r.payload),
      leaseMs,
    ],
  );
  const { author, ...row } = o.rows[0]!;
  return {
    ...row,
    was: 'pending',
    channel: r.channel,
    shown: { sentAt: r.at, ...(author ? { author } : {}) },
  };
}

/**
 * Claims up to `limit` rows: pending ones that are due, and 'sending' ones whose lease expired (their sender
 * died mid-attempt). SKIP LOCKED lets several workers share the outbox.
 */
export async function claimDueReplies(
  db: Queryable,
  limit: number,
  leaseMs: number,
): Promise<ClaimedReply[]> {
  const r = await db.query<ClaimedReply>(
    `WITH due AS (
       SELECT id, status AS was FROM messenger_outbox
        WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND lease_until < now())
        ORDER BY next_attempt_at, id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
     )
     UPDATE messenger_outbox o
        SET status = 'sending', attempts = o.attempts + 1, lease_until = now() + $2 ${MS}, updated_at = now()
       FROM due, conversations c
      WHERE o.id = due.id AND c.id = o.conversation_id
     RETURNING o.*, due.was, c.channel`,
    [limit, leaseMs],
  );
  return r.rows;
}

/** The current claim is about to hand the request to the vendor. False when the claim was lost meanwhile. */
export async function markReplyDispatched(db: Queryable, id: number, attempt: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE messenger_outbox SET dispatched_attempt = $2, updated_at = now()
      WHERE id = $1 AND status = 'sending' AND attempts = $2`,
    [id, attempt],
  );
  return r.rowCount > 0;
}

export async function renewReplyLease(db: Queryable, id: number, attempt: number, leaseMs: number) {
  const r = await db.query(
    `UPDATE messenger_outbox SET lease_until = now() + $3 ${MS}
      WHERE id = $1 AND status = 'sending' AND attempts = $2`,
    [id, attempt, leaseMs],
  );
  return r.rowCount > 0;
}

/**
 * The vendor took the message: the row is sent, the message gets its vendor id and status sent (or the higher
 * status a delivery report that overtook this answer left waiting). Applies whatever the current claim: the
 * vendor's acceptance is a fact. False when the row was already sent. Run it in a transaction: an echo of this
 * very message (VK message_reply, an Instagram echo) routed before the answer came back is the same message and
 * is folded into ours first.
 */
export async function markReplySent(
  tx: Queryable,
  id: number,
  vendorMessageId: string,
  response: unknown,
): Promise<boolean> {
  // Two statements (a reply holds its pooled connection for fewer round trips): the row is marked and the echo
  // taken out, then the message gets the vendor id the echo held (so after it) and the parked statuses are taken.
  const o = (
    await tx.query<{ message_id: number; channel: string; account_key: string; echoed: string | null }>(
      `WITH o AS (
         UPDATE messenger_outbox o SET status = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL,
                vendor_response = $2, updated_at = now()
           FROM messages m
          WHERE o.id = $1 AND o.status <> 'sent' AND m.id = o.message_id
         RETURNING o.message_id, m.channel, m.account_key
       ), echo AS (
         DELETE FROM messages e USING o
          WHERE e.channel = o.channel AND e.account_key = o.account_key AND e.vendor_message_id = $3
            AND e.id <> o.message_id AND e.direction = 'outbound'
         RETURNING e.status
       )
       SELECT o.*, (SELECT status FROM echo LIMIT 1) AS echoed FROM o`,
      [id, JSON.stringify(response ?? null), vendorMessageId],
    )
  ).rows[0];
  if (!o) return false;
  const ref = { channel: o.channel, accountKey: o.account_key, vendorMessageId };
  const parked = await tx.query<PendingStatusRow>(
    `WITH sent AS (
       UPDATE messages SET vendor_message_id = $2, status = 'sent', status_at = now(), error = NULL WHERE id = $1
     )
     DELETE FROM message_statuses_pending
      WHERE channel = $3 AND account_key = $4 AND vendor_message_id = $2
     RETURNING *`,
    [o.message_id, vendorMessageId, ref.channel, ref.accountKey],
  );
  if (o.echoed && o.echoed !== 'sent' && o.echoed !== 'pending') {
    await applyStatuses(tx, [
      {
        ...ref,
        status: o.echoed as StatusUpdate['status'],
        error: null,
        occurredAt: new Date().toISOString(),
      },
    ]);
  }
  if (parked.rows.length) await applyStatuses(tx, pendingStatusUpdates(parked.rows));
  return true;
}

/** A retriable failure: back to pending, due after delayMs. Only for the current claim. */
export async function markReplyRetry(
  db: Queryable,
  id: number,
  attempt: number,
  error: string,
  delayMs: number,
): Promise<Date | undefined> {
  const r = await db.query<{ next_attempt_at: Date }>(
    `UPDATE messenger_outbox SET status = 'pending', lease_until = NULL, last_error = $3,
            next_attempt_at = now() + $4 ${MS}, updated_at = now()
      WHERE id = $1 AND status = 'sending' AND attempts = $2
     RETURNING next_attempt_at`,
    [id, attempt, error.slice(0, 2000), delayMs],
  );
  return r.rows[0]?.next_attempt_at;
}

/** Given up: the row and its message are failed, with the vendor's error. Only for the current claim. */
export async function markReplyFailed(
  db: Queryable,
  id: number,
  attempt: number,
  error: { code: string; message: string },
  response?: unknown,
): Promise<boolean> {
  const r = await db.query(
    `WITH o AS (
       UPDATE messenger_outbox SET status = 'failed', lease_until = NULL, last_error = $3,
              vendor_response = COALESCE($5::jsonb, vendor_response), updated_at = now()
        WHERE id = $1 AND status = 'sending' AND attempts = $2 RETURNING message_id
     )
     UPDATE messages m SET status = 'failed', status_at = now(), error = $4 FROM o WHERE m.id = o.message_id`,
    [
      id,
      attempt,
      `${error.code}: ${error.message}`.slice(0, 2000),
      JSON.stringify(error),
      response === undefined ? null : JSON.stringify(response),
    ],
  );
  return r.rowCount > 0;
}
