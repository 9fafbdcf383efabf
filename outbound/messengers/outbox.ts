import type { VendorApiUrls } from '../../channels/messengers.js';
import type { Database } from '../../crm-core/db/database.js';
import { closeIdleConversations } from '../../crm-core/repositories/conversation.repository.js';
import {
  type ClaimedReply,
  claimDueReplies,
  markReplyDispatched,
  markReplyFailed,
  markReplyRetry,
  markReplySent,
  renewReplyLease,
} from '../../crm-core/repositories/messenger-outbox.repository.js';
import { stableUuid } from '../../event/stable-id.js';
import type { Logger } from '../../lib/logger.js';
import { backoffDelay, retry } from '../../lib/retry.js';
import type { RealtimeHub } from '../../realtime/hub.js';
import { createWorkLoop, eachConcurrently, keepLease, outcomeWithin } from '../work-loop.js';
import { type AccountLookup, cachedChannelAccount } from './channel-account.js';
import { type MessengerSender, type SenderRegistry, type SenderVendor, VendorSendError } from './contract.js';
import { SENDER_FACTORIES } from './registry.js';

/**
 * The messenger outbox: delivers operators' replies (messenger_outbox rows) through the vendors' senders, with
 * the email outbox's discipline (outbound/outbox-worker.ts; outbound/README.md):
 * - never lost: the row is committed with its message before any attempt; a failed attempt puts it back with a
 *   due time (lib/retry backoffDelay, or the vendor's retry-after when longer) until maxAttempts;
 * - never twice: a row is claimed (status sending, lease renewed while the attempt runs, attempt number as the
 *   fencing token) before the vendor is called, and the claim records that the request is being handed over
 *   (`dispatched_attempt`) just before it is. A claim taken over after its lease expired (the process died) is
 *   sent again only when the earlier attempt never got that far, or when the vendor deduplicates sends by our
 *   key (sender.idempotent: VK random_id). Otherwise the vendor may have the message already: it is marked
 *   failed with code `interrupted`, for the operator to check the chat, rather than sent a second time.
 * - the vendor's answer is stored on the row (vendor_response), its message id and status on the message.
 * Each pass also closes conversations idle for CONVERSATION_IDLE_HOURS (the router closes them lazily too).
 */
export interface MessengerOutboxOptions {
  pollIntervalMs?: number;
  batchSize?: number;
  concurrency?: number;
  leaseMs?: number;
  maxAttempts?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  stopTimeoutMs?: number;
}

export type ReplyOutcome =
  | { status: 'sent'; vendorMessageId: string }
  | { status: 'retrying'; error: string; nextAttemptAt?: Date }
  | { status: 'failed'; code: string; error: string }
  /** Still in progress when the caller stopped waiting (or the claim passed to another worker). */
  | { status: 'sending' };

export interface MessengerOutboxDeps {
  db: Database;
  logger: Logger;
  urls: Readonly<VendorApiUrls>;
  /** vendor -> sender factory; default outbound/messengers/registry.ts. */
  registry?: SenderRegistry;
  /** Conversations idle this long are closed by each pass (CONVERSATION_IDLE_HOURS); unset: not swept here. */
  conversationIdleHours?: number;
  options?: MessengerOutboxOptions;
  /** The real-time hub, for the live chat's sender. */
  realtime?: RealtimeHub;
  /** Told after a reply's status changed (sent, failed), for the console; must not throw. */
  onStatus?: (change: ReplyStatusChange) => void;
}

export interface ReplyStatusChange {
  conversationId: number;
  messageId: number;
  status: 'sent' | 'failed';
  error?: { code: string; message: string };
}

export interface MessengerOutbox {
  readonly leaseMs: number;
  /** The account a conversation's replies go out through, cached for a few seconds (channel-account.ts). */
  readonly accountOf: AccountLookup;
  /** The sender of a vendor (also used to fetch clients' files); undefined when none is registered. */
  senderFor(vendor: SenderVendor): MessengerSender | undefined;
  /** Sends a row its caller claimed; resolves with the outcome, or 'sending' after waitMs. */
  deliverClaimed(row: ClaimedReply, waitMs?: number): Promise<ReplyOutcome>;
  runOnce(): Promise<{ attempted: number; closed: number }>;
  start(): void;
  stop(): Promise<void>;
}

const DEFAULTS: Required<MessengerOutboxOptions> = {
  pollIntervalMs: 2_000,
  batchSize: 20,
  concurrency: 4,
  leaseMs: 60_000,
  maxAttempts: 12,
  retryInitialMs: 5_000,
  retryMaxMs: 30 * 60_000,
  stopTimeoutMs: 10_000,
};
const SWEEP_EVERY_MS = 60_000;

const errorText = (err: unknown) => String((err as Error)?.message ?? err).slice(0, 1000);

export function createMessengerOutbox(deps: MessengerOutboxDeps): MessengerOutbox {
  const o: Required<MessengerOutboxOptions> = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(deps.options ?? {}).filter(([, v]) => v !== undefined)),
  };
  const { db } = deps;
  const log = deps.logger.child({ component: 'messenger-outbox' });
  const registry = deps.registry ?? SENDER_FACTORIES;
  const senders = new Map<SenderVendor, MessengerSender>();
  const work = createWorkLoop({ log, name: 'messenger outbox', ...o });
  const track = work.track;
  let sweptAt = 0;
  const accountOf = cachedChannelAccount();

  function senderFor(vendor: SenderVendor): MessengerSender | undefined {
    let s = senders.get(vendor);
    const factory = registry[vendor];
    if (!s && factory) {
      s = factory({ urls: deps.urls, logger: deps.logger.child({ vendor }), realtime: deps.realtime });
      senders.set(vendor, s);
    }
    return s;
  }

  async function retryLater(row: ClaimedReply, error: string, retryAfterSec?: number): Promise<ReplyOutcome> {
    if (row.attempts >= o.maxAttempts) {
      return giveUp(row, 'gave_up', `gave up after ${row.attempts} attempts: ${error}`);
    }
    const delay = Math.max(
      backoffDelay(row.attempts, o.retryInitialMs, o.retryMaxMs),
      (retryAfterSec ?? 0) * 1000,
    );
    const nextAttemptAt = await markReplyRetry(db, row.id, row.attempts, error, delay);
    log.warn(
      { replyId: row.id, attempt: row.attempts, error, nextAttemptAt },
      'reply: send failed, will retry',
    );
    return { status: 'retrying', error, nextAttemptAt };
  }

  async function giveUp(
    row: ClaimedReply,
    code: string,
    error: string,
    response?: unknown,
  ): Promise<ReplyOutcome> {
    await markReplyFailed(db, row.id, row.attempts, { code, message: error }, response);
    deps.onStatus?.({
      conversationId: row.conversation_id,
      messageId: row.message_id,
      status: 'failed',
      error: { code, message: error },
    });
    log.error({ replyId: row.id, attempt: row.attempts, code, error }, 'reply: failed permanently');
    return { status: 'failed', code, error };
  }

  async function attempt(row: ClaimedReply): Promise<ReplyOutcome> {
    const stopRenewing = keepLease(
      () => renewReplyLease(db, row.id, row.attempts, o.leaseMs),
      o.leaseMs,
      (err) => log.warn({ err, replyId: row.id }, 'reply: lease renewal failed'),
    );
    try {
      const account = await accountOf(db, row.channel, row.account_key);
      if (!account)
        return await giveUp(row, 'account_deleted', `account ${row.account_key} no longer exists`);
      if (!account.active)
        return await giveUp(row, 'account_inactive', `account ${row.account_key} is inactive`);
      const sender = senderFor(account.vendor);
      if (!sender) return await giveUp(row, 'unsupported', `no sender is registered for ${account.vendor}`);
      if (row.was === 'sending' && row.dispatched_attempt != null && !sender.idempotent) {
        return await giveUp(
          row,
          'interrupted',
          'the process sending this reply stopped while the vendor was being called; the client may have ' +
            'received it: check the chat before sending it again',
        );
      }
      // The claim says "handed over" before the request leaves; a lost claim (taken over) stops here.
      if (!(await markReplyDispatched(db, row.id, row.attempts))) return { status: 'sending' };
      let result: Awaited<ReturnType<MessengerSender['send']>>;
      try {
        result = await sender.send(account, {
          chatId: row.chat_id,
          ...row.payload,
          idempotencyKey: stableUuid('messenger-reply', String(row.operator_id), row.idempotency_key),
          messageId: row.message_id,
          conversationId: row.conversation_id,
          ...(row.shown ? { shown: row.shown } : {}),
        });
      } catch (err) {
        if (err instanceof VendorSendError) {
          const error = `${err.reason}: ${err.message}`;
          return err.retriable
            ? await retryLater(row, error, err.opts.retryAfterSec)
            : await giveUp(
                row,
                err.reason,
                err.message,
                err.opts.vendorCode ? { code: err.opts.vendorCode } : undefined,
              );
        }
        // Not classified by the sender: a retry may help (retries are bounded by maxAttempts).
        return await retryLater(row, errorText(err));
      }
      try {
        // The vendor has it: the mark must not be lost to a database blip (the lease would resend it).
        await retry(
          () => db.transaction((tx) => markReplySent(tx, row.id, result.vendorMessageId, result.response)),
          {
            retries: 5,
            initialDelayMs: 200,
            maxDelayMs: 5_000,
            shouldRetry: () => true,
          },
        );
        deps.onStatus?.({ conversationId: row.conversation_id, messageId: row.message_id, status: 'sent' });
      } catch (err) {
        log.error({ err, replyId: row.id }, 'reply: sent, but the database did not record it');
      }
      log.info({ replyId: row.id, attempt: row.attempts, vendor: account.vendor }, 'reply: sent');
      return { status: 'sent', vendorMessageId: result.vendorMessageId };
    } catch (err) {
      log.error({ err, replyId: row.id }, 'reply: attempt failed unexpectedly');
      return retryLater(row, errorText(err)).catch(() => ({ status: 'retrying', error: errorText(err) }));
    } finally {
      stopRenewing();
    }
  }

  async function runOnce() {
    let closed = 0;
    if (deps.conversationIdleHours && Date.now() - sweptAt >= SWEEP_EVERY_MS) {
      sweptAt = Date.now();
      closed = await closeIdleConversations(db, deps.conversationIdleHours, new Date());
    }
    const rows = await claimDueReplies(db, o.batchSize, o.leaseMs);
    await eachConcurrently(rows, o.concurrency, (row) => track(attempt(row)));
    return { attempted: rows.length, closed };
  }

  return {
    leaseMs: o.leaseMs,
    accountOf,
    senderFor,
    deliverClaimed: (row, waitMs) => outcomeWithin(track(attempt(row)), waitMs, { status: 'sending' }),
    runOnce,
    start: () => work.start(async () => (await runOnce()).attempted === o.batchSize),
    stop: () => work.stop(),
  };
}
