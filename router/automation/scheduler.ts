import type { Database } from '../../crm-core/db/database.js';
import * as timers from '../../crm-core/repositories/automation-timer.repository.js';
import { isRetriable } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { retry } from '../../lib/retry.js';
import { type Firing, fireTimer } from './fire.js';

export interface SchedulerDeps {
  db: Database;
  logger: Logger;
  /** AUTOMATION_POLL_MS: how often due timers are looked for. */
  pollMs: number;
  /** At most this many timers per tick (the rest wait for the next one). Default 200. */
  maxPerTick?: number;
  /** The clock; tests pass a fake one. */
  now?: () => Date;
  /** After each committed firing (metrics). */
  onFired?: (firings: Firing[]) => void;
}

export interface Scheduler {
  start(): void;
  /** Stops polling and waits for the tick in progress. Timers not fired stay in the database. */
  stop(): Promise<void>;
  /** One tick: settle answered overdue timers, then fire what is due at `now`. Returns what fired. */
  runOnce(now?: Date): Promise<Firing[]>;
}

/**
 * The durable scheduler of automation rules. Its state is the automation_timers table, nothing in memory: a
 * restarted process, or another instance, picks up whatever is due. Each timer is claimed (FOR UPDATE SKIP LOCKED)
 * and fired in its own transaction, so instances share the work without waiting on each other, a timer fires
 * exactly once, and one slow target never holds back the rest. It runs in the router role, beside the routing
 * that schedules the timers.
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const log = deps.logger.child({ component: 'automation' });
  const clock = deps.now ?? (() => new Date());
  const maxPerTick = deps.maxPerTick ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;

  const fireOne = (now: Date) =>
    retry(
      () =>
        deps.db.transaction(async (tx) => {
          const due = await timers.claimDueTimer(tx, now);
          return due ? { firings: await fireTimer(tx, due, now) } : undefined;
        }),
      // Deadlock or serialization failure with a router batch: the transaction rolled back; try again.
      { retries: 5, initialDelayMs: 20, maxDelayMs: 500, shouldRetry: isRetriable },
    );

  async function runOnce(now = clock()): Promise<Firing[]> {
    await timers.resolveAnswered(deps.db, now);
    const all: Firing[] = [];
    for (let i = 0; i < maxPerTick; i++) {
      const r = await fireOne(now);
      if (!r) break;
      all.push(...r.firings);
      if (r.firings.length) deps.onFired?.(r.firings);
    }
    return all;
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        .then((f) => f.length && log.info({ fired: f.length }, 'automation rules fired'))
        .catch((err) => log.warn({ err }, 'automation tick failed; next tick retries'))
        .finally(schedule);
    }, deps.pollMs);
    timer.unref?.();
  }

  return {
    runOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
