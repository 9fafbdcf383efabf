import type { BusEvent } from '../event/bus-event.js';
import type { BatchHandler, BatchResult } from './bus.js';

interface Waiting {
  events: BusEvent[];
  resolve: (r: BatchResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for the router: while maxInFlight handler calls (database transactions) are in flight, batches
 * from other partitions wait and then go together in the next call, up to maxEvents. An idle router calls at the
 * end of the current turn of the event loop, so nothing waits for a timer; a busy one makes fewer, larger
 * transactions instead of many small ones that queue for the same region rows and the same event loop. Each caller gets back only its own failed events;
 * if the shared call throws, every caller sees the error and retries on its own (see kafka-consumer.ts).
 */
export function groupCommit(handler: BatchHandler, maxEvents: number, maxInFlight = 2): BatchHandler {
  const waiting: Waiting[] = [];
  let inFlight = 0;

  // Up to maxInFlight calls overlap, so the database works on one transaction while Node builds the next.
  async function run() {
    inFlight++;
    while (waiting.length > 0) {
      const group: Waiting[] = [];
      let size = 0;
      while (waiting.length > 0 && (group.length === 0 || size + waiting[0]!.events.length <= maxEvents)) {
        const w = waiting.shift()!;
        group.push(w);
        size += w.events.length;
      }
      try {
        const { failed } = await handler(group.flatMap((w) => w.events));
        for (const w of group) {
          const mine = new Set(w.events.map((e) => e.id));
          w.resolve({ failed: failed.filter((f) => mine.has(f.event.id)) });
        }
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    inFlight--;
  }

  // A call starts at the end of this turn of the event loop (setImmediate, not a timer): kafkajs hands the
  // partitions of one fetch to eachBatch one after another in the same turn, and they go in one transaction
  // instead of one each, two at a time, with the rest of the fetch waiting behind them.
  let scheduled = false;
  const start = () => {
    scheduled = false;
    if (inFlight < maxInFlight && waiting.length > 0) void run();
  };
  return (events) =>
    new Promise<BatchResult>((resolve, reject) => {
      waiting.push({ events, resolve, reject });
      if (inFlight < maxInFlight && !scheduled) {
        scheduled = true;
        setImmediate(start);
      }
    });
}
