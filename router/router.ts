import type { BatchHandler } from '../bus/bus.js';
import type { Database, Queryable } from '../crm-core/db/database.js';
import * as conversations from '../crm-core/repositories/conversation.repository.js';
import { listRegions, type RegionRow } from '../crm-core/repositories/region.repository.js';
import { type BusEvent, isDeliveryStatus, isInboundContact } from '../event/bus-event.js';
import type { DeliveryStatus } from '../event/delivery-status.js';
import type { InboundContact } from '../event/inbound-contact.js';
import { isRetriable } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { retry } from '../lib/retry.js';
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
}

export interface Router {
  handle: BatchHandler;
  /** Admin changes to regions call this so the next batch sees them at once (other instances: within the TTL). */
  invalidateRegions(): void;
}

const REGIONS_TTL_MS = 5_000;

/**
 * The router's failure policy, in one place:
 * - a retriable error (identity race with another router, serialization failure, database blip) retries the
 *   whole batch transaction a few times, then is thrown so the bus redelivers later (nothing is committed);
 * - any other error is a poison event: the batch is split and routed one event per transaction, and the events
 *   that still fail are returned as failed, for the dead-letter topic, so a partition never blocks.
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
      onRetry: (err, attempt) => log.debug({ err, attempt, size: events.length }, 'retrying batch'),
    });

  async function handle(events: InboundContact[]) {
    try {
      const outcomes = await routeInTx(events);
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
        const outcomes = await routeInTx([e]);
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
      return [];
    } catch (error) {
      const cause = (error as Error).cause ?? error;
      if (isRetriable(cause) || isRetriable(error)) throw error;
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
