import type { Logger } from '../lib/logger.js';

/**
 * The machinery both outboxes (email: outbox-worker.ts, messengers: messengers/outbox.ts) share around their own
 * delivery rules: passes every pollIntervalMs (at once again while a pass comes back full), attempts tracked so
 * stop() can wait for them, claimed rows worked through a few at a time, and the claim's lease renewed while an
 * attempt runs. What an attempt does, and how a failure is recorded, stays with each outbox.
 */
export interface WorkLoop {
  /** Keeps an attempt in the set stop() waits for. */
  track<T>(p: Promise<T>): Promise<T>;
  /** Runs `pass` until stop(); a pass that returns true (its claim was full) is followed at once by the next. */
  start(pass: () => Promise<boolean>): void;
  /** Stops passes and waits up to stopTimeoutMs for attempts in progress (a cut one comes back through its lease). */
  stop(): Promise<void>;
}

export function createWorkLoop(opts: {
  log: Logger;
  /** Said in the log when a pass throws. */
  name: string;
  pollIntervalMs: number;
  stopTimeoutMs: number;
}): WorkLoop {
  const inFlight = new Set<Promise<unknown>>();
  let wake: () => void = () => undefined;
  let loop: Promise<void> | undefined;
  let stopped = false;

  return {
    track(p) {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p)).catch(() => undefined);
      return p;
    },
    start(pass) {
      if (loop) return;
      loop = (async () => {
        while (!stopped) {
          let full = false;
          try {
            full = await pass();
          } catch (err) {
            opts.log.error({ err }, `${opts.name} pass failed`);
          }
          // Not lib/retry's sleep with an AbortSignal: that adds a listener per call, thousands a day here.
          if (!full && !stopped) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, opts.pollIntervalMs);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
        }
      })();
    },
    async stop() {
      stopped = true;
      wake();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([loop, ...inFlight]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, opts.stopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

/** Works through `rows` with at most `concurrency` attempts at a time. */
export async function eachConcurrently<T>(
  rows: readonly T[],
  concurrency: number,
  attempt: (row: T) => Promise<unknown>,
): Promise<void> {
  const queue = [...rows];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let row = queue.shift(); row !== undefined; row = queue.shift()) await attempt(row);
    }),
  );
}

/** `p`'s outcome, or `late` once waitMs has passed (p goes on and records its own outcome); no wait when undefined. */
export async function outcomeWithin<T>(p: Promise<T>, waitMs: number | undefined, late: T): Promise<T> {
  if (waitMs === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late), waitMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Renews a claim's lease every third of it while its attempt runs, so a live attempt is never taken over.
 * Returns the function that stops renewing. A failed renewal is logged: the attempt goes on, and if the lease
 * does run out the row's attempt number (the fencing token) keeps the late attempt from recording over a newer one.
 */
export function keepLease(renew: () => Promise<unknown>, leaseMs: number, onError: (err: unknown) => void) {
  const heartbeat = setInterval(() => {
    renew().catch(onError);
  }, leaseMs / 3);
  heartbeat.unref();
  return () => clearInterval(heartbeat);
}
