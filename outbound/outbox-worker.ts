import type { Database } from '../crm-core/db/database.js';
import { getMailbox } from '../crm-core/repositories/channel-settings.repository.js';
import {
  type ClaimedOutboundEmail,
  claimDueOutboundEmails,
  claimMissingSentCopies,
  markOutboundFailed,
  markOutboundRetry,
  markOutboundSent,
  markSentCopyAppended,
  markSentCopyFailed,
  type OutboundEmailRow,
  renewOutboundLease,
} from '../crm-core/repositories/outbound-email.repository.js';
import type { Logger } from '../lib/logger.js';
import { backoffDelay, retry } from '../lib/retry.js';
import {
  classifySmtpError,
  createEmailSender,
  type EmailSender,
  type ImapSettings,
  type SmtpSettings,
} from './email-sender.js';
import { createWorkLoop, eachConcurrently, keepLease, outcomeWithin } from './work-loop.js';

/**
 * The outbox worker: sends outbound_emails rows and retries them until sent or given up. See outbound/README.md.
 *
 * Never lost: the row is committed before any attempt, and a failed attempt puts it back with a due time.
 * Never sent twice: a row is claimed (status 'sending', lease, attempt number as fencing token) before SMTP is
 * spoken, the lease is renewed while the attempt runs, and only a claim whose lease expired (its process died)
 * is taken over. Such a takeover first searches the Sent folder for the Message-ID: the copy is APPENDed the
 * moment SMTP accepts, in parallel with marking the row sent, so if either landed the message is not sent again.
 * What remains: a process dying after the server accepted the message and before either the mark or the APPEND
 * completed (a few milliseconds), or an acceptance whose reply was lost (connection cut after the final dot) —
 * SMTP has no idempotent submission, so that message is sent once more, with the same Message-ID and bytes.
 */
export interface OutboxOptions {
  /** How often due rows are looked for. */
  pollIntervalMs?: number;
  /** Rows claimed per pass. */
  batchSize?: number;
  /** Rows of one pass sent at the same time. */
  concurrency?: number;
  /** A claim not renewed for this long is considered abandoned (renewed every third of it while sending). */
  leaseMs?: number;
  /** Send attempts before a row is given up as failed. */
  maxAttempts?: number;
  /** Retry back-off (lib/retry backoffDelay): first delay and ceiling. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Attempts to file a sent message's copy in the Sent folder. */
  copyMaxAttempts?: number;
  /** stop() waits this long for attempts in progress; an attempt cut short is recovered through its lease. */
  stopTimeoutMs?: number;
}

export type DeliveryOutcome =
  | { status: 'sent'; response: string; rejected: string[] }
  | { status: 'retrying'; error: string; nextAttemptAt?: Date }
  | { status: 'failed'; error: string }
  /** Still in progress when the caller stopped waiting; it completes (and is recorded) on its own. */
  | { status: 'sending' };

export interface OutboxDeps {
  db: Database;
  logger: Logger;
  sender?: EmailSender;
  options?: OutboxOptions;
}

export interface Outbox {
  /** The claim lease: createReply claims its row with it, and attempts renew it. */
  readonly leaseMs: number;
  /**
   * Sends a row its caller claimed (createReply's row). Resolves with the outcome, or with 'sending' after
   * `waitMs` when the attempt takes longer (it goes on and records its own outcome).
   */
  deliverClaimed(row: ClaimedOutboundEmail, waitMs?: number): Promise<DeliveryOutcome>;
  /** One pass: claim due rows (and abandoned ones) and send them, then file missing Sent copies. */
  runOnce(): Promise<{ attempted: number; copies: number }>;
  /** Runs passes every pollIntervalMs until stop(). */
  start(): void;
  stop(): Promise<void>;
}

const DEFAULTS: Required<OutboxOptions> = {
  pollIntervalMs: 5_000,
  batchSize: 20,
  concurrency: 4,
  leaseMs: 60_000,
  maxAttempts: 12,
  retryInitialMs: 10_000,
  retryMaxMs: 30 * 60_000,
  copyMaxAttempts: 20,
  stopTimeoutMs: 10_000,
};

const errorText = (err: unknown) => String((err as Error)?.message ?? err).slice(0, 1000);

export function createOutbox(deps: OutboxDeps): Outbox {
  const o: Required<OutboxOptions> = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(deps.options ?? {}).filter(([, v]) => v !== undefined)),
  };
  const { db } = deps;
  const sender = deps.sender ?? createEmailSender({ logger: deps.logger });
  const log = deps.logger.child({ component: 'outbox' });
  const work = createWorkLoop({ log, name: 'outbound: outbox', ...o });
  const track = work.track;

  async function retryLater(row: ClaimedOutboundEmail, error: string): Promise<DeliveryOutcome> {
    if (row.attempts >= o.maxAttempts) {
      return giveUp(row, `gave up after ${row.attempts} attempts: ${error}`);
    }
    const nextAttemptAt = await markOutboundRetry(
      db,
      row.id,
      row.attempts,
      error,
      backoffDelay(row.attempts, o.retryInitialMs, o.retryMaxMs),
    );
    log.warn(
      { outboundId: row.id, attempt: row.attempts, error, nextAttemptAt },
      'outbound: send failed, will retry',
    );
    return { status: 'retrying', error, nextAttemptAt };
  }

  async function giveUp(row: ClaimedOutboundEmail, error: string): Promise<DeliveryOutcome> {
    await markOutboundFailed(db, row.id, row.attempts, error);
    log.error({ outboundId: row.id, attempt: row.attempts, error }, 'outbound: message failed permanently');
    return { status: 'failed', error };
  }

  /** SMTP accepted: record it and file the copy at once, side by side; whichever lands first closes the window. */
  async function accepted(
    row: OutboundEmailRow,
    imap: ImapSettings,
    smtp: SmtpSettings,
    response: string,
    rejected: string[],
  ): Promise<void> {
    void track(
      sender.appendToSent(imap, smtp.sentFolder, row.raw_message).then(
        async (folder) => {
          await markSentCopyAppended(db, row.id);
          log.debug({ outboundId: row.id, folder }, 'outbound: copy filed in Sent');
        },
        async (err) => {
          // The copy failing is not a send failure: the repair pass files it later.
          log.warn({ err, outboundId: row.id }, 'outbound: sent, but the Sent copy failed; will retry');
          const delay = backoffDelay(1, o.retryInitialMs, o.retryMaxMs);
          await markSentCopyFailed(db, row.id, errorText(err), delay);
        },
      ),
    ).catch((err) => log.error({ err, outboundId: row.id }, 'outbound: cannot record the Sent copy'));
    try {
      // The mark must not be lost to a database blip: a row left 'sending' would be taken over after its lease.
      await retry(() => markOutboundSent(db, row.id, response, { rejected, copyCheckInMs: o.leaseMs }), {
        retries: 5,
        initialDelayMs: 200,
        maxDelayMs: 5_000,
        shouldRetry: () => true,
      });
    } catch (err) {
      log.error({ err, outboundId: row.id }, 'outbound: sent, but the database did not record it');
    }
  }

  async function attempt(row: ClaimedOutboundEmail): Promise<DeliveryOutcome> {
    const stopRenewing = keepLease(
      () => renewOutboundLease(db, row.id, row.attempts, o.leaseMs),
      o.leaseMs,
      (err) => log.warn({ err, outboundId: row.id }, 'outbound: lease renewal failed'),
    );
    try {
      const mailbox = row.mailbox_id == null ? undefined : await getMailbox(db, row.mailbox_id);
      if (!mailbox) return await giveUp(row, 'mailbox: deleted while the message waited to be sent');
      const smtp = mailbox.smtp as SmtpSettings | undefined;
      if (!smtp?.host) return await retryLater(row, `mailbox ${mailbox.address} has no SMTP settings`);

      if (row.was === 'sending') {
        // An earlier attempt was abandoned mid-way (its process died). If it got as far as SMTP accepting, the
        // copy is in Sent: then it was sent, and sending again would deliver it twice.
        let found: boolean;
        try {
          found = await sender.isInSent(mailbox.imap, smtp.sentFolder, row.message_id);
        } catch (err) {
          return await retryLater(
            row,
            `an earlier attempt was interrupted and the Sent folder cannot be checked: ${errorText(err)}`,
          );
        }
        if (found) {
          const response = 'found in the Sent folder after an interrupted attempt';
          // One update: nobody may see it "sent" with its copy not yet recorded.
          await markOutboundSent(db, row.id, response, { copyAppended: true });
          log.info({ outboundId: row.id }, 'outbound: interrupted attempt had been sent; not sending again');
          return { status: 'sent', response, rejected: [] };
        }
      }

      let result: Awaited<ReturnType<EmailSender['send']>>;
      try {
        result = await sender.send(
          smtp,
          { from: row.from_address, to: [...row.to_addresses, ...row.cc_addresses] },
          row.raw_message,
        );
      } catch (err) {
        const c = classifySmtpError(err);
        return c.permanent ? await giveUp(row, c.message) : await retryLater(row, c.message);
      }
      await accepted(row, mailbox.imap, smtp, result.response, result.rejected);
      log.info(
        { outboundId: row.id, attempt: row.attempts, rejected: result.rejected.length },
        'outbound: sent',
      );
      return { status: 'sent', response: result.response, rejected: result.rejected };
    } catch (err) {
      // The database failed under us: put the row back if we can; otherwise its lease brings it back.
      log.error({ err, outboundId: row.id }, 'outbound: attempt failed unexpectedly');
      return retryLater(row, errorText(err)).catch(() => ({ status: 'retrying', error: errorText(err) }));
    } finally {
      stopRenewing();
    }
  }

  async function fileMissingCopies(): Promise<number> {
    const rows = await claimMissingSentCopies(db, o.batchSize, o.leaseMs, o.copyMaxAttempts);
    for (const row of rows) {
      const delay = backoffDelay(row.sent_copy_attempts + 1, o.retryInitialMs, o.retryMaxMs);
      try {
        const mailbox = row.mailbox_id == null ? undefined : await getMailbox(db, row.mailbox_id);
        if (!mailbox) throw new Error('mailbox deleted');
        const smtp = (mailbox.smtp ?? {}) as Partial<SmtpSettings>;
        if (!(await sender.isInSent(mailbox.imap, smtp.sentFolder, row.message_id))) {
          await sender.appendToSent(mailbox.imap, smtp.sentFolder, row.raw_message);
        }
        await markSentCopyAppended(db, row.id);
      } catch (err) {
        await markSentCopyFailed(db, row.id, errorText(err), delay).catch(() => undefined);
      }
    }
    return rows.length;
  }

  async function runOnce() {
    const rows = await claimDueOutboundEmails(db, o.batchSize, o.leaseMs);
    await eachConcurrently(rows, o.concurrency, (row) => track(attempt(row)));
    const copies = await fileMissingCopies();
    return { attempted: rows.length, copies };
  }

  return {
    leaseMs: o.leaseMs,
    deliverClaimed: (row, waitMs) => outcomeWithin(track(attempt(row)), waitMs, { status: 'sending' }),
    runOnce,
    start: () => work.start(async () => (await runOnce()).attempted === o.batchSize),
    stop: () => work.stop(),
  };
}
