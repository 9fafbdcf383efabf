import type { BatchHandler } from '../bus/bus.js';
import type { Database, Queryable } from '../crm-core/db/database.js';
import { listRegions, type RegionRow } from '../crm-core/repositories/region.repository.js';
import { type BusEvent, isInboundContact } from '../event/bus-event.js';
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
   * Delivery statuses are not applied by this version: they are dead-lettered (visible, replayable), never
   * dropped. Nothing publishes them yet; the messenger connectors and the status handler come together.
   */
  async function handleBusEvents(events: BusEvent[]) {
    const contacts = events.filter(isInboundContact);
    const statuses = events.filter((e) => !isInboundContact(e));
    const { failed } = contacts.length ? await handle(contacts) : { failed: [] };
    return {
      failed: [
        ...failed,
        ...statuses.map((event) => ({ event, error: new Error('delivery statuses are not routed yet') })),
      ],
    };
  }

  return { handle: handleBusEvents, invalidateRegions: () => (regions = undefined) };
}
