import { Telegram, TelegramError } from 'telegraf';
import type { TelegramAccount } from '../../channels/messengers.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { isAppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { backoffDelay, sleep } from '../../lib/retry.js';
import type { ConnectorContext, UpdateOutcome } from '../contract.js';
import { apiRoot, type ResolvedTelegramOptions } from './options.js';
import { publishEvents } from './publish.js';
import { updateKind } from './update-schema.js';
import { updateToEvent } from './update-to-event.js';

export const CURSOR_CONNECTOR = 'telegram';

/**
 * Update ids are the bot's own sequence, so the cursor is keyed by account and bot id (the token's first
 * part): a new token for another bot on the same account starts from that bot's queue, not a foreign offset.
 */
export const cursorKey = (a: TelegramAccount) => `${a.key}:${a.botToken.split(':')[0]}`;

export interface PollCursor {
  /** The next getUpdates offset: one more than the last update published. */
  offset: number;
}

/**
 * Long polling for one account (installations without a public URL). Each round: getUpdates from the stored
 * offset, publish the batch, and only then store offset = last update_id + 1 and poll with it, which is when
 * Telegram forgets those updates. A crash between publish and cursor write repeats the batch, which is
 * harmless (the event ids are the same); a failed publish or cursor write retries the same batch with
 * back-off. So a restart neither loses nor duplicates anything.
 */
export class TelegramPoller {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private readonly tg: Telegram;

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly account: TelegramAccount,
    private readonly opts: ResolvedTelegramOptions,
    private readonly log: Logger,
  ) {
    this.tg = new Telegram(account.botToken, { apiRoot: apiRoot(ctx.config.vendorApiUrls.telegram) });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    let offset: number | undefined;
    while (!signal.aborted) {
      try {
        offset ??= (await this.ctx.cursors.get<PollCursor>(CURSOR_CONNECTOR, cursorKey(this.account)))
          ?.offset;
        const next = await this.round(offset, signal);
        if (next !== undefined) offset = next;
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const delay =
          retryAfterMs(err) ?? backoffDelay(failures, this.opts.retryInitialMs, this.opts.retryMaxMs);
        this.log.error({ err: describe(err), offset, retryInMs: delay }, 'telegram: polling failed');
        await sleep(delay, signal).catch(() => {});
      }
    }
  }

  /** One getUpdates + publish + cursor write; the new offset, or undefined when nothing came. */
  private async round(offset: number | undefined, signal: AbortSignal): Promise<number | undefined> {
    const waitMs = (this.opts.pollTimeoutSec + 15) * 1000;
    const updates = await this.tg.callApi(
      'getUpdates',
      { offset, timeout: this.opts.pollTimeoutSec, limit: this.opts.batchSize },
      // telegraf types the signal as node-fetch's AbortSignal shim; Node's own one is what node-fetch accepts.
      { signal: AbortSignal.any([signal, AbortSignal.timeout(waitMs)]) as never },
    );
    if (!updates.length) return undefined;
    const events: InboundContact[] = [];
    const counts: [string, UpdateOutcome][] = [];
    for (const update of updates) {
      const body = JSON.stringify(update);
      try {
        const mapped = updateToEvent(
          update,
          this.account,
          { contentType: 'application/json', body },
          {
            defaultCountry: this.ctx.config.defaultCountry,
          },
        );
        if (mapped.outcome === 'published') events.push(mapped.event);
        else this.log.debug({ kind: mapped.kind, reason: mapped.reason }, 'telegram update skipped');
        counts.push([mapped.kind, mapped.outcome]);
      } catch (e) {
        if (!isAppError(e)) throw e;
        // Polling has no one to answer 400 to: a malformed update is logged and passed over, never retried forever.
        this.log.error({ err: e, updateId: update.update_id }, 'telegram: malformed update skipped');
        counts.push([updateKind(update as unknown as Record<string, unknown>), 'invalid']);
      }
    }
    await publishEvents(this.ctx, events);
    const next = Math.max(...updates.map((u) => u.update_id)) + 1;
    await this.ctx.cursors.set(CURSOR_CONNECTOR, cursorKey(this.account), {
      offset: next,
    } satisfies PollCursor);
    for (const [kind, outcome] of counts) this.ctx.onUpdate?.('telegram', kind, outcome);
    return next;
  }
}

/** Telegram's 429 says how long to wait (parameters.retry_after, seconds). */
function retryAfterMs(err: unknown): number | undefined {
  const s = err instanceof TelegramError ? err.parameters?.retry_after : undefined;
  return typeof s === 'number' && s > 0 ? s * 1000 : undefined;
}

/** Never the raw error: telegraf's network errors carry the request URL, which holds the bot token. */
function describe(err: unknown): { message: string; code?: number } {
  if (err instanceof TelegramError) return { message: err.description, code: err.code };
  const message = err instanceof Error ? err.message : String(err);
  return { message: message.replace(/bot\d+:[A-Za-z0-9_-]+/g, 'bot<token>') };
}
