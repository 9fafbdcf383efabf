import type { BatchHandler } from '../bus/bus.js';
import type { Database, Queryable } from '../crm-core/db/database.js';
import * as conversations from '../crm-core/repositories/conversation.repository.js';
import { listRegions, type RegionRow } from '../crm-core/repositories/region.repository.js';
import { type BusEvent, isDeliveryStatus, isInboundContact } from '../event/bus-event.js';
import type { DeliveryStatus } from '../event/delivery-status.js';
import type { InboundContact } from '../event/inbound-contact.js';
import { AppError, DB_RETRY_AFTER_SEC, isDatabaseAway, isRetriable } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { backoffDelay, retry, sleep } from '../lib/retry.js';
import { type RouteOutcome, routeBatch } from './route-batch.js';

export interface RouterDeps {
  db: Database;
  logger: Logger;
  callbackDeadlineMin: number;
  meaningfulCallSec: number;
  /** CONVERSATION_IDLE_HOURS (default 24). */
  conversationIdleHours?: number;
  /** DEFAULT_COUNTRY, for phones clients share in chats (default RU, as the configuration's default). */
  defaultCountry?: string;
  /** Called after each committed batch (metrics, console notifications). */
  onRouted?: (events: InboundContact[], outcomes: RouteOutcome[]) => void;
  /** Called after delivery statuses were applied (console notices). */
  onStatuses?: (statuses: DeliveryStatus[]) => void;
  /**
   * How long one handler call waits for a database that is away before handing the batch back to the bus as
   * retriable (the bus then backs off, keeps its group membership, and calls again). Default 15 s.
   */
  databaseAwayWaitMs?: number;
}

export interface Router {
  handle: BatchHandler;
  /** Admin changes to regions call this so the next batch sees them at once (other instances: within the TTL). */
  invalidateRegions(): void;
}

const REGIONS_TTL_MS = 5_000;

/**
 * The router's failure policy, in one place:
 * - the database is away (restart, crash, refused connections: DB_UNAVAILABLE, or any failure while a ping gets
 *   no answer): an outage, never the events' fault. The router waits for the database (pinging with back-off)
 *   and routes the batch again once it answers; after databaseAwayWaitMs it throws DB_UNAVAILABLE (retriable),
 *   the bus backs off and delivers the same batch again, for as long as the outage lasts. Nothing is split,
 *   nothing is dead-lettered;
 * - another retriable error (identity race with another router, serialization failure) retries the whole batch
 *   transaction a few times, then is thrown so the bus redelivers later (nothing is committed);
 * - any other error, from a database that answers, is a poison event: the batch is split and routed one event
 *   per transaction, and the events that still fail are returned as failed, for the dead-letter topic, so a
 *   partition never blocks.
 */
export function createRouter(deps: RouterDeps): Router {
  const log = deps.logger.child({ component: 'router' });
  let regions: { at: number; rows: Promise<RegionRow[]> } | undefined;
  // Loaded through the batch's own transaction: PGlite has one connection, so a query outside it would wait forever.
  const loadRegions = (tx: Queryable) => {
    if (!regions || Date.now() - regions.at > REGIONS_TTL_MS) {
      const rows = listRegions(tx);
      rows.catch(() => (regions = undefined));
      regions = { at: Date.now(), rows };
    }
    return regions.rows;
  };
  const opts = {
    callbackDeadlineMin: deps.callbackDeadlineMin,
    meaningfulCallSec: deps.meaningfulCallSec,
    conversationIdleHours: deps.conversationIdleHours ?? 24,
    defaultCountry: deps.defaultCountry ?? 'RU',
    regions: loadRegions,
  };
  const routeInTx = (events: InboundContact[]) =>
    retry(() => deps.db.transaction((tx) => routeBatch(tx, events, opts)), {
      retries: 6,
      initialDelayMs: 20,
      maxDelayMs: 1_000,
      // An outage is waited out with pings (route below), not with blind transaction attempts.
      shouldRetry: (err) => isRetriable(err) && !isDatabaseAway(err),
      onRetry: (err, attempt) => log.debug({ err, attempt, size: events.length }, 'retrying batch'),
    });

  const awayWaitMs = deps.databaseAwayWaitMs ?? 15_000;
  /** An outage rather than an answer: said so by the error, or the database does not answer a ping now. */
  const databaseAway = async (err: unknown) =>
    isDatabaseAway(err) || isDatabaseAway((err as Error).cause) || !(await deps.db.ping());

  /** Routes events in one transaction; while the database is away, waits for it and tries again. */
  async function route(events: InboundContact[]): Promise<RouteOutcome[]> {
    const deadline = Date.now() + awayWaitMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await routeInTx(events);
      } catch (err) {
        if (!(await databaseAway(err))) throw err;
        if (attempt === 1) log.warn({ err, size: events.length }, 'database away; waiting for it');
        if (!(await waitForDatabase(deadline))) {
          throw new AppError('DB_UNAVAILABLE', `database still away after ${awayWaitMs} ms`, {
            cause: err,
            retryAfterSec: DB_RETRY_AFTER_SEC,
          });
        }
        log.info({ attempt, size: events.length }, 'database back; routing the batch again');
      }
    }
  }

  /** Pings with back-off (50 ms doubling up to 1 s) until the database answers; false at the deadline. */
  async function waitForDatabase(deadline: number): Promise<boolean> {
    for (let i = 1; Date.now() < deadline; i++) {
      if (await deps.db.ping()) return true;
      await sleep(Math.min(backoffDelay(i, 50, 1_000), Math.max(0, deadline - Date.now())));
    }
    return deps.db.ping();
  }

  async function handle(events: InboundContact[]) {
    try {
      const outcomes = await route(events);
      deps.onRouted?.(events, outcomes);
      return { failed: [] };
    } catch (err) {
      const cause = (err as Error).cause ?? err;
      if (isRetriable(cause) || isRetriable(err)) throw err;
      log.error({ err, size: events.length }, 'batch failed; routing its events one by one');
    }
    const failed: { event: InboundContact; error: unknown }[] = [];
    for (const e of events) {
      try {
        const outcomes = await route([e]);
        deps.onRouted?.([e], outcomes);
      } catch (error) {
        if (isRetriable(error)) throw error;
        log.error({ err: error, eventId: e.id }, 'event failed permanently; dead-lettered');
        failed.push({ event: e, error });
      }
    }
    return { failed };
  }

  /**
   * Delivery statuses are applied to the outbound message they report on, only upwards (sent < failed <
   * delivered < read), so any order and any repetition give the same end state; a status for a message not
   * known yet (it overtook our own record of the send) is kept and applied when the message is. Same failure
   * policy as contacts: retriable errors retry and then redeliver; anything else dead-letters the batch's statuses.
   */
  async function applyStatuses(statuses: DeliveryStatus[]) {
    try {
      await retry(
        () =>
          deps.db.transaction((tx) =>
            conversations.applyStatuses(
              tx,
              statuses.map((s) => ({
                channel: s.channel,
                accountKey: s.accountKey,
                vendorMessageId: s.vendorMessageId,
                status: s.status,
                error: s.error
                  ? { message: s.error.message, ...(s.error.code ? { code: s.error.code } : {}) }
                  : null,
                occurredAt: s.occurredAt,
              })),
            ),
          ),
        { retries: 6, initialDelayMs: 20, maxDelayMs: 1_000 },
      );
      deps.onStatuses?.(statuses);
      return [];
    } catch (error) {
      const cause = (error as Error).cause ?? error;
      if (isRetriable(cause) || isRetriable(error)) throw error;
      // An outage is never the statuses' fault: hand them back to the bus instead of dead-lettering them.
      if (await databaseAway(error))
        throw new AppError('DB_UNAVAILABLE', 'database away while applying delivery statuses', {
          cause: error,
          retryAfterSec: DB_RETRY_AFTER_SEC,
        });
      log.error({ err: error, size: statuses.length }, 'delivery statuses failed permanently; dead-lettered');
      return statuses.map((event) => ({ event, error }));
    }
  }

  async function handleBusEvents(events: BusEvent[]) {
    const contacts = events.filter(isInboundContact);
    const statuses = events.filter(isDeliveryStatus);
    const { failed } = contacts.length ? await handle(contacts) : { failed: [] };
    const failedStatuses = statuses.length ? await applyStatuses(statuses) : [];
    return { failed: [...failed, ...failedStatuses] };
  }

  return { handle: handleBusEvents, invalidateRegions: () => (regions = undefined) };
}
