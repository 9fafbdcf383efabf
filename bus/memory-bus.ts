import { type BusEvent, validForPublish } from '../event/bus-event.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { BatchHandler, Bus, Subscription } from './bus.js';

interface Pending {
  event: BusEvent;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The embedded default's bus: publish() hands events straight to the router in the same process and resolves
 * only after the router's database commit — the durability point when there is no Kafka. Concurrent publishes
 * are gathered into batches (like a Kafka fetch), one batch at a time, in publish order.
 */
export function createMemoryBus(opts: { logger: Logger; batchSize?: number }): Bus {
  const batchSize = opts.batchSize ?? 500;
  const queue: Pending[] = [];
  let handler: BatchHandler | undefined;
  let draining = false;
  let closed = false;

  async function drain() {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0 && handler) {
        const batch = queue.splice(0, batchSize);
        try {
          const { failed } = await handler(batch.map((p) => p.event));
          const failedIds = new Map(failed.map((f) => [f.event.id, f.error]));
          for (const p of batch) {
            if (failedIds.has(p.event.id)) {
              p.reject(
                new AppError('INTERNAL', `event ${p.event.id} could not be routed`, {
                  cause: failedIds.get(p.event.id),
                }),
              );
            } else p.resolve();
          }
        } catch (err) {
          // Nothing was committed: the caller gets a 503 and retries, so the contact is not lost.
          const e = new AppError('BUS_UNAVAILABLE', 'the router could not commit the event; retry later', {
            cause: err,
            retryAfterSec: 2,
          });
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      draining = false;
    }
  }

  return {
    kind: 'memory',
    routedOnPublish: true,
    async start() {},
    publish(events) {
      if (closed || !handler) {
        return Promise.reject(
          new AppError('BUS_UNAVAILABLE', 'no router is running in this process', { retryAfterSec: 5 }),
        );
      }
      const valid = events.map((e) => validForPublish(e));
      const done = Promise.all(
        valid.map((event) => new Promise<void>((resolve, reject) => queue.push({ event, resolve, reject }))),
      );
      setImmediate(drain);
      return done.then(() => undefined);
    },
    async subscribe(h): Promise<Subscription> {
      handler = h;
      setImmediate(drain);
      return {
        stop: async () => {
          handler = undefined;
        },
      };
    },
    async ready() {
      return !closed && !!handler;
    },
    async close() {
      closed = true;
      handler = undefined;
      for (const p of queue.splice(0))
        p.reject(new AppError('BUS_UNAVAILABLE', 'shutting down', { retryAfterSec: 5 }));
    },
  };
}
