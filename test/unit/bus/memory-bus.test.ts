import { describe, expect, it } from 'vitest';
import type { BatchResult } from '../../../bus/bus.js';
import { createMemoryBus } from '../../../bus/memory-bus.js';
import type { BusEvent } from '../../../event/bus-event.js';
import { AppError } from '../../../lib/errors.js';
import { createLogger } from '../../../lib/logger.js';
import { formEvent } from '../../support/events.js';

const logger = createLogger({ level: 'silent' });
const event = (i: number) => formEvent({ phone: `+7495${1000000 + i}` });

/** A handler whose calls are recorded and finish only when the test opens their gate. */
function controllable() {
  const calls: BusEvent[][] = [];
  const gates: ((r: BatchResult | Error) => void)[] = [];
  const handler = (batch: BusEvent[]) => {
    calls.push(batch);
    return new Promise<BatchResult>((resolve, reject) =>
      gates.push((r) => (r instanceof Error ? reject(r) : resolve(r))),
    );
  };
  return { calls, gates, handler };
}
const tick = () => new Promise((r) => setImmediate(r));
/** Whether a promise has settled yet (without waiting for it). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

describe('the in-process bus (embedded default)', () => {
  it('gives concurrent publishes one handler call, and answers each only after that call commits', async () => {
    const bus = createMemoryBus({ logger });
    const c = controllable();
    await bus.subscribe(c.handler);
    const events = Array.from({ length: 5 }, (_, i) => event(i));
    const pubs = events.map((e) => bus.publish([e]));
    await tick();
    expect(c.calls).toHaveLength(1);
    expect(c.calls[0]!.map((e) => e.id)).toEqual(events.map((e) => e.id));
    for (const p of pubs) expect(await settled(p)).toBe(false); // not committed yet: no answer yet
    c.gates[0]!({ failed: [] });
    await Promise.all(pubs);
    expect(c.calls).toHaveLength(1);
  });

  it('gathers what arrives while a batch commits into the next one, up to batchSize, in publish order', async () => {
    const bus = createMemoryBus({ logger, batchSize: 3 });
    const c = controllable();
    await bus.subscribe(c.handler);
    const first = bus.publish([event(0)]);
    await tick();
    const later = [1, 2, 3, 4].map((i) => bus.publish([event(i)]));
    await tick();
    expect(c.calls).toHaveLength(1); // the others wait for the first commit
    c.gates[0]!({ failed: [] });
    await first;
    await tick();
    expect(c.calls.map((b) => b.length)).toEqual([1, 3]);
    c.gates[1]!({ failed: [] });
    await tick();
    await tick();
    expect(c.calls.map((b) => b.length)).toEqual([1, 3, 1]);
    c.gates[2]!({ failed: [] });
    await Promise.all(later);
  });

  it('rejects every caller of a batch whose handler throws with BUS_UNAVAILABLE (503), and goes on', async () => {
    const bus = createMemoryBus({ logger });
    const c = controllable();
    await bus.subscribe(c.handler);
    const pubs = [0, 1, 2].map((i) => bus.publish([event(i)]));
    await tick();
    c.gates[0]!(new Error('transaction failed'));
    for (const p of pubs) {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('BUS_UNAVAILABLE');
      expect((err as AppError).status).toBe(503);
    }
    // The next publish gets its own call.
    const next = bus.publish([event(3)]);
    await tick();
    expect(c.calls).toHaveLength(2);
    c.gates[1]!({ failed: [] });
    await next;
  });

  it('rejects only the callers of events the handler reports failed', async () => {
    const bus = createMemoryBus({ logger });
    const c = controllable();
    await bus.subscribe(c.handler);
    const [a, b] = [event(0), event(1)];
    const pa = bus.publish([a]);
    const pb = bus.publish([b]);
    await tick();
    c.gates[0]!({ failed: [{ event: b, error: new Error('poison') }] });
    await expect(pa).resolves.toBeUndefined();
    await expect(pb).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
