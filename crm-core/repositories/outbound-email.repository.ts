import type { Queryable } from '../db/database.js';

/**
 * The outbound email outbox (table outbound_emails, migrations 002 and 004). A row moves pending -> sending
 * (claimed, with a lease) -> sent | pending (retry later) | failed, and any row -> failed when a bounce reports
 * the message undeliverable. Every change of status also writes the outbound activity's `details.outbound`, and
 * 'sent' completes the activity, in the same statement.
 * `attempts` is the fencing token: a claim increments it, and the retry/fail marks only apply to the claim
 * that is still current, so a sender that lost its lease cannot overwrite a newer attempt's outcome.
 */
export type OutboundStatus = 'pending' | 'sending' | 'sent' | 'failed';

export interface OutboundEmailRow {
  id: number;
  activity_id: number;
  reply_to_activity_id: number | null;
  mailbox_id: number | null;
  operator_id: number | null;
  idempotency_key: string | null;
  message_id: string;
  from_address: string;
  to_addresses: string[];
  cc_addresses: string[];
  subject: string;
  text_body: string | null;
  html_body: string | null;
  in_reply_to: string | null;
  reference_ids: string[];
  raw_message: string;
  status: OutboundStatus;
  attempts: number;
  lease_until: Date | null;
  next_attempt_at: Date;
  last_error: string | null;
  smtp_response: string | null;
  sent_at: Date | null;
  sent_copy_appended: boolean;
  sent_copy_attempts: number;
  sent_copy_error: string | null;
  bounced_at: Date | null;
  bounced_recipients: string[];
  created_at: Date;
  updated_at: Date;
}

/** A row claimed for a send attempt; `was` is its status before the claim ('sending' = an abandoned attempt). */
export interface ClaimedOutboundEmail extends OutboundEmailRow {
  was: 'pending' | 'sending';
}

export interface NewOutboundEmail {
  activityId: number;
  replyToActivityId: number | null;
  mailboxId: number;
  operatorId: number | null;
  idempotencyKey: string | null;
  messageId: string;
  fromAddress: string;
  to: string[];
  cc: string[];
  subject: string;
  text: string | null;
  html: string | null;
  inReplyTo: string | null;
  references: string[];
  raw: string;
}

const COLUMNS = [
  'id',
  'activity_id',
  'reply_to_activity_id',
  'mailbox_id',
  'operator_id',
  'idempotency_key',
  'message_id',
  'from_address',
  'to_addresses',
  'cc_addresses',
  'subject',
  'text_body',
  'html_body',
  'in_reply_to',
  'reference_ids',
  'raw_message',
  'status',
  'attempts',
  'lease_until',
  'next_attempt_at',
  'last_error',
  'smtp_response',
  'sent_at',
  'sent_copy_appended',
  'sent_copy_attempts',
  'sent_copy_error',
  'bounced_at',
  'bounced_recipients',
  'created_at',
  'updated_at',
];
/** The row's columns, qualified when the statement joins another relation (ids come back as numbers on pg and PGlite). */
const rowOf = (alias: string) => COLUMNS.map((c) => `${alias}.${c}`).join(', ');
const ROW = COLUMNS.join(', ');
const MS = `* interval '1 millisecond'`;

/**
 * Serialises requests carrying the same Idempotency-Key of one operator until the transaction ends, so the
 * second one finds the first one's row instead of racing it to the unique constraint.
 */
export async function lockIdempotencyKey(tx: Queryable, operatorId: number, key: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(727002, hashtext($1))', [`${operatorId}:${key}`]);
}

export async function findByIdempotencyKey(
  db: Queryable,
  operatorId: number,
  key: string,
): Promise<OutboundEmailRow | undefined> {
  return (
    await db.query<OutboundEmailRow>(
      `SELECT ${ROW} FROM outbound_emails WHERE operator_id = $1 AND idempotency_key = $2`,
      [operatorId, key],
    )
  ).rows[0];
}

export async function getOutboundEmailByActivity(
  db: Queryable,
  activityId: number,
): Promise<OutboundEmailRow | undefined> {
  return (
    await db.query<OutboundEmailRow>(`SELECT ${ROW} FROM outbound_emails WHERE activity_id = $1`, [
      activityId,
    ])
  ).rows[0];
}

/**
 * Inserts the row already claimed by its creator (status 'sending', attempt 1, lease running): the request
 * that wrote it sends it at once, and the worker leaves it alone unless that request dies (lease expiry).
 */
export async function insertClaimedOutboundEmail(
  tx: Queryable,
  e: NewOutboundEmail,
  leaseMs: number,
): Promise<ClaimedOutboundEmail> {
  const r = await tx.query<OutboundEmailRow>(
    `INSERT INTO outbound_emails (activity_id, reply_to_activity_id, mailbox_id, operator_id, idempotency_key,
       message_id, from_address, to_addresses, cc_addresses, subject, text_body, html_body, in_reply_to,
       reference_ids, raw_message, status, attempts, lease_until)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'sending', 1, now() + $16 ${MS})
     RETURNING ${ROW}`,
    [
      e.activityId,
      e.replyToActivityId,
      e.mailboxId,
      e.operatorId,
      e.idempotencyKey,
      e.messageId,
      e.fromAddress,
      e.to,
      e.cc,
      e.subject,
      e.text,
      e.html,
      e.inReplyTo,
      e.references,
      e.raw,
      leaseMs,
    ],
  );
  return { ...r.rows[0]!, was: 'pending' };
}

/**
 * Claims up to `limit` rows to send: pending ones that are due, and 'sending' ones whose lease expired (their
 * sender died mid-attempt). SKIP LOCKED lets several workers share the outbox without waiting on each other.
 */
export async function claimDueOutboundEmails(
  db: Queryable,
  limit: number,
  leaseMs: number,
): Promise<ClaimedOutboundEmail[]> {
  const r = await db.query<ClaimedOutboundEmail>(
    `WITH due AS (
       SELECT id, status AS was FROM outbound_emails
        WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND lease_until < now())
        ORDER BY next_attempt_at, id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
     )
     UPDATE outbound_emails o
        SET status = 'sending', attempts = o.attempts + 1, lease_until = now() + $2 ${MS}, updated_at = now()
       FROM due WHERE o.id = due.id
     RETURNING ${rowOf('o')}, due.was`,
    [limit, leaseMs],
  );
  return r.rows;
}

const outboundDetails = (fields: string) =>
  `a.details || jsonb_build_object('outbound', coalesce(a.details->'outbound', '{}'::jsonb) || jsonb_build_object(${fields}))`;

/**
 * The SMTP server accepted the message: the row is sent and the activity completed. Applies whatever the
 * current claim (the acceptance is a fact even if the lease ran out meanwhile). Returns false when already sent.
 * A bounce recorded before this (an acceptance recorded late) is kept: the row stays failed, with sent_at set.
 * `copyCheckInMs`: when the repair pass may look at the Sent copy (not while the sender is still filing it).
 */
export async function markOutboundSent(
  db: Queryable,
  id: number,
  smtpResponse: string,
  /** copyAppended: the copy is known to be in Sent already (found there after an interrupted attempt). */
  opts: { rejected?: string[]; copyCheckInMs?: number; copyAppended?: boolean } = {},
): Promise<boolean> {
  const r = await db.query(
    `WITH o AS (
       UPDATE outbound_emails SET status = CASE WHEN bounced_at IS NULL THEN 'sent' ELSE 'failed' END,
              sent_at = now(), smtp_response = $2, lease_until = NULL,
              sent_copy_appended = sent_copy_appended OR $5,
              last_error = CASE WHEN bounced_at IS NULL THEN NULL ELSE last_error END,
              next_attempt_at = now() + $4 ${MS}, updated_at = now()
        WHERE id = $1 AND status <> 'sent' AND sent_at IS NULL
       RETURNING activity_id, sent_at, attempts, status, last_error
     )
     UPDATE activities a SET state = 'completed', completed_at = o.sent_at, updated_at = now(),
            details = ${outboundDetails(`'status', o.status, 'sentAt', o.sent_at, 'attempts', o.attempts, 'lastError', o.last_error, 'rejected', $3::jsonb`)}
       FROM o WHERE a.id = o.activity_id`,
    [
      id,
      smtpResponse.slice(0, 1000),
      JSON.stringify(opts.rejected ?? []),
      opts.copyCheckInMs ?? 0,
      opts.copyAppended === true,
    ],
  );
  return r.rowCount > 0;
}

/** The current claim is still being worked on: its lease is pushed ahead. False when the claim was lost. */
export async function renewOutboundLease(
  db: Queryable,
  id: number,
  attempt: number,
  leaseMs: number,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE outbound_emails SET lease_until = now() + $3 ${MS}
      WHERE id = $1 AND status = 'sending' AND attempts = $2`,
    [id, attempt, leaseMs],
  );
  return r.rowCount > 0;
}

/** The attempt failed but may succeed later: back to pending, due after `delayMs`. Only for the current claim. */
export async function markOutboundRetry(
  db: Queryable,
  id: number,
  attempt: number,
  error: string,
  delayMs: number,
): Promise<Date | undefined> {
  const r = await db.query<{ next_attempt_at: Date }>(
    `WITH o AS (
       UPDATE outbound_emails SET status = 'pending', lease_until = NULL, last_error = $3,
              next_attempt_at = now() + $4 ${MS}, updated_at = now()
        WHERE id = $1 AND status = 'sending' AND attempts = $2
       RETURNING activity_id, attempts, next_attempt_at
     ), a AS (
       UPDATE activities a SET updated_at = now(),
              details = ${outboundDetails(`'status', 'retrying', 'attempts', o.attempts, 'lastError', $3::text, 'nextAttemptAt', o.next_attempt_at`)}
         FROM o WHERE a.id = o.activity_id
     )
     SELECT next_attempt_at FROM o`,
    [id, attempt, error.slice(0, 2000), delayMs],
  );
  return r.rows[0]?.next_attempt_at;
}

/** Given up (permanent refusal, attempts exhausted, mailbox gone). The activity stays planned, marked failed. */
export async function markOutboundFailed(
  db: Queryable,
  id: number,
  attempt: number,
  error: string,
): Promise<boolean> {
  const r = await db.query(
    `WITH o AS (
       UPDATE outbound_emails SET status = 'failed', lease_until = NULL, last_error = $3, updated_at = now()
        WHERE id = $1 AND status = 'sending' AND attempts = $2
       RETURNING activity_id, attempts
     )
     UPDATE activities a SET updated_at = now(),
            details = ${outboundDetails(`'status', 'failed', 'attempts', o.attempts, 'lastError', $3::text`)}
       FROM o WHERE a.id = o.activity_id`,
    [id, attempt, error.slice(0, 2000)],
  );
  return r.rowCount > 0;
}

export interface OutboundBounce {
  /** Message-ID of our message that the delivery-status notification reports on. */
  messageId: string;
  /** Recipients it names as failed (a notice of delay names none and marks nothing). */
  recipients: string[];
  /** When it was reported, and the inbound activity that holds the notification. */
  at: string;
  bounceActivityId: number | null;
}

/**
 * Delivery-status notifications: each reported message's row becomes failed whatever its status (after 'sent'
 * too: our server accepted it, the recipient's refused it; a pending or sending row is not tried again), with the
 * failed recipients, and its activity's details.outbound says so. sent_at is kept, so the Sent copy of a message
 * that did go out is still filed. Messages that are not ours (no row) are left alone. Returns the rows marked.
 */
export async function markOutboundBounced(db: Queryable, bounces: OutboundBounce[]): Promise<number> {
  const byMessage = new Map<string, OutboundBounce>();
  for (const b of bounces.filter((x) => x.recipients.length > 0)) {
    const seen = byMessage.get(b.messageId);
    byMessage.set(b.messageId, seen ? { ...b, recipients: [...seen.recipients, ...b.recipients] } : b);
  }
  if (byMessage.size === 0) return 0;
  const rows = [...byMessage.values()];
  // Computed from the row being updated (not from a snapshot) so two bounces of one message add up.
  const recipients = `ARRAY(SELECT DISTINCT x FROM unnest(e.bounced_recipients
    || ARRAY(SELECT jsonb_array_elements_text(b.recipients))) AS x ORDER BY x)`;
  const r = await db.query(
    `WITH b AS (
       SELECT * FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[], $4::bigint[])
         AS t(message_id, recipients, at, bounce_activity_id)
     ), o AS (
       UPDATE outbound_emails e SET status = 'failed', lease_until = NULL, bounced_at = b.at,
              bounced_recipients = ${recipients},
              last_error = 'bounced: ' || array_to_string(${recipients}, ', '), updated_at = now()
         FROM b WHERE e.message_id = b.message_id
       RETURNING e.activity_id, e.attempts, e.bounced_at, e.bounced_recipients, e.last_error, b.bounce_activity_id
     )
     UPDATE activities a SET updated_at = now(),
            details = ${outboundDetails(`'status', 'failed', 'attempts', o.attempts, 'lastError', o.last_error, 'bouncedAt', o.bounced_at, 'bounced', to_jsonb(o.bounced_recipients), 'bounceActivityId', o.bounce_activity_id`)}
       FROM o WHERE a.id = o.activity_id`,
    [
      rows.map((b) => b.messageId),
      rows.map((b) => JSON.stringify(b.recipients)),
      rows.map((b) => b.at),
      rows.map((b) => b.bounceActivityId),
    ],
  );
  return r.rowCount;
}

/**
 * Rows that went out (sent, or failed by a later bounce) still missing their Sent-folder copy (IMAP was down when
 * SMTP accepted, or the process stopped in between), due now; each is pushed `leaseMs` ahead so another worker
 * does not file the same copy meanwhile.
 */
export async function claimMissingSentCopies(
  db: Queryable,
  limit: number,
  leaseMs: number,
  maxAttempts: number,
): Promise<OutboundEmailRow[]> {
  const r = await db.query<OutboundEmailRow>(
    `WITH due AS (
       SELECT id FROM outbound_emails
        WHERE sent_at IS NOT NULL AND NOT sent_copy_appended AND next_attempt_at <= now() AND sent_copy_attempts < $3
        ORDER BY next_attempt_at, id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
     )
     UPDATE outbound_emails o SET next_attempt_at = now() + $2 ${MS}, updated_at = now()
       FROM due WHERE o.id = due.id
     RETURNING ${rowOf('o')}`,
    [limit, leaseMs, maxAttempts],
  );
  return r.rows;
}

export async function markSentCopyAppended(db: Queryable, id: number): Promise<void> {
  await db.query(
    `UPDATE outbound_emails SET sent_copy_appended = true, sent_copy_error = NULL, updated_at = now() WHERE id = $1`,
    [id],
  );
}

export async function markSentCopyFailed(
  db: Queryable,
  id: number,
  error: string,
  delayMs: number,
): Promise<void> {
  await db.query(
    `UPDATE outbound_emails SET sent_copy_attempts = sent_copy_attempts + 1, sent_copy_error = $2,
            next_attempt_at = now() + $3 ${MS}, updated_at = now()
      WHERE id = $1 AND NOT sent_copy_appended`,
    [id, error.slice(0, 2000), delayMs],
  );
}
