import { describe, expect, it } from 'vitest';
import type { BatchResult } from '../../../bus/bus.js';
import { groupCommit } from '../../../bus/group-commit.js';
import type { BusEvent } from '../../../event/bus-event.js';
import { formEvent } from '../../support/events.js';

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => formEvent({ phone: `+7495${1000000 + i}` }));

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

describe('groupCommit', () => {
  it('calls at once when idle, and gathers what arrives while a call is in flight into one call', async () => {
    const c = controllable();
    const gathered = groupCommit(c.handler, 500, 1);
    const [a, b, d] = [events(2), events(3), events(4)];
    const pa = gathered(a);
    await tick();
    expect(c.calls).toEqual([a]);
    const pb = gathered(b);
    const pd = gathered(d);
    await tick();
    expect(c.calls).toHaveLength(1); // b and d wait for a
    c.gates[0]!({ failed: [] });
    await pa;
    await tick();
    expect(c.calls[1]).toEqual([...b, ...d]);
    c.gates[1]!({ failed: [{ event: d[1]!, error: new Error('poison') }] });
    expect(await pb).toEqual({ failed: [] });
    expect((await pd).failed.map((f) => f.event.id)).toEqual([d[1]!.id]);
  });

  it('never exceeds maxEvents in one call and hands a thrown error to every caller of that call', async () => {
    const c = controllable();
    const gathered = groupCommit(c.handler, 5, 1);
    const p0 = gathered(events(1));
    await tick();
    const p1 = gathered(events(3));
    const p2 = gathered(events(3));
    await tick();
    c.gates[0]!({ failed: [] });
    await p0;
    await tick();
    expect(c.calls[1]).toHaveLength(3);
    c.gates[1]!(new Error('database down'));
    await expect(p1).rejects.toThrow('database down');
    await tick();
    expect(c.calls[2]).toHaveLength(3);
    c.gates[2]!({ failed: [] });
    expect(await p2).toEqual({ failed: [] });
  });

  it('gathers what arrives in one turn of the event loop into one call (the partitions of one fetch)', async () => {
    const c = controllable();
    const gathered = groupCommit(c.handler, 500, 2);
    const [a, b, d, e, f] = [events(1), events(1), events(1), events(1), events(1)];
    const pa = gathered(a);
    const pb = gathered(b);
    await tick();
    expect(c.calls).toEqual([[...a, ...b]]); // one turn, one call
    const pd = gathered(d);
    await tick();
    expect(c.calls[1]).toEqual(d); // a second call overlaps the first
    const pe = gathered(e);
    const pf = gathered(f);
    await tick();
    expect(c.calls).toHaveLength(2); // two in flight: e and f wait
    c.gates[0]!({ failed: [] });
    await pa;
    await tick();
    expect(c.calls[2]).toEqual([...e, ...f]);
    c.gates[1]!({ failed: [] });
    c.gates[2]!({ failed: [] });
    await Promise.all([pb, pd, pe, pf]);
  });
});
