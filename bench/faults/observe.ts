import type { Database } from '../../crm-core/db/database.js';
import { sleep } from '../../lib/retry.js';
import type { Attempt } from './load.js';

/**
 * Routing progress, sampled every 200 ms from the database the routers write: how many events have been
 * routed (processed_events) against how many the senders got a 2xx for. Routing is "stalled" while accepted
 * events wait and the routed count does not move (a sample that cannot reach the database counts as no move).
 */
export interface Sample {
  at: number;
  routed: number | undefined;
  accepted: number;
}

export class RoutingSampler {
  readonly samples: Sample[] = [];
  private running = true;
  private loop: Promise<void> | undefined;
  constructor(
    private readonly db: Database,
    private readonly accepted: () => number,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const at = Date.now();
        const routed = await this.routed().catch(() => undefined);
        this.samples.push({ at, routed, accepted: this.accepted() });
        await sleep(200);
      }
    })();
  }

  async routed(): Promise<number> {
    const r = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events');
    return r.rows[0]!.n;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** A fault as it happened: when it started, when the injection was over, and what it said about itself. */
export interface FaultRecord {
  name: string;
  start: number;
  end: number;
  notes: string[];
}

export interface WindowFigures {
  /** Seconds during which senders got no 2xx (100 ms slots in which requests ended and none succeeded). */
  unavailableSec: number;
  /**
   * The longest time accepted events waited while the routed count did not move (no event routed at all),
   * counted from when something was waiting, not from the last move (routers idle during a 503 window are not
   * stalled).
   */
  stalledSec: number;
  /** The longest wait of an event accepted in the window, from its 2xx to its router commit. */
  maxDelaySec: number;
  failedAttempts: number;
}

/**
 * Figures per fault, each over its window: from its start to the next fault's start (the last one: to the
 * end of the run), so what a fault costs after its injection is over (rejoins, retries) is counted too.
 */
export function figuresPerFault(
  faults: FaultRecord[],
  attempts: Attempt[],
  samples: Sample[],
  runEnd: number,
  delays: { acceptedAt: number; routedAt: number }[],
): WindowFigures[] {
  const windows = faults.map((f, i) => [f.start, faults[i + 1]?.start ?? runEnd] as const);
  const out = windows.map(() => ({ unavailableSec: 0, stalledSec: 0, maxDelaySec: 0, failedAttempts: 0 }));
  const windowOf = (t: number) => windows.findIndex(([a, b]) => t >= a && t < b);

  // Unavailability, in 100 ms slots: a slot is down when attempts ended in it and none of them got a 2xx; a
  // slot without any attempt keeps the state of the one before (senders waiting out a Retry-After).
  const SLOT = 100;
  const slots = new Map<number, boolean>();
  for (const a of attempts) {
    const ok = a.status >= 200 && a.status < 300;
    const k = Math.floor(a.end / SLOT);
    slots.set(k, (slots.get(k) ?? false) || ok);
    const w = windowOf(a.start);
    if (!ok && w >= 0) out[w]!.failedAttempts++;
  }
  const first = Math.floor((windows[0]?.[0] ?? runEnd) / SLOT);
  let up = true;
  for (let k = first; k < Math.floor(runEnd / SLOT); k++) {
    const seen = slots.get(k);
    if (seen !== undefined) up = seen;
    const w = windowOf(k * SLOT);
    if (!up && w >= 0) out[w]!.unavailableSec += SLOT / 1000;
  }

  // Stalls: time the routed count did not move while accepted events waited, counted from the later of its last
  // move and the first sample at which something waited (an idle router while senders got 503s is no stall).
  let lastRouted = -1;
  let lastMove = samples[0]?.at ?? 0;
  let waitingSince: number | undefined;
  for (const s of samples) {
    if (s.routed !== undefined && s.routed > lastRouted) {
      lastRouted = s.routed;
      lastMove = s.at;
      waitingSince = s.accepted > lastRouted ? s.at : undefined;
      continue;
    }
    const waiting = s.accepted > Math.max(lastRouted, 0);
    if (!waiting) {
      waitingSince = undefined;
      continue;
    }
    waitingSince ??= s.at;
    const from = Math.max(lastMove, waitingSince);
    // A stall belongs to the fault in whose window it began (it may reach into the next window).
    const w = windowOf(from) >= 0 ? windowOf(from) : windowOf(s.at);
    if (w >= 0) out[w]!.stalledSec = Math.max(out[w]!.stalledSec, (s.at - from) / 1000);
  }
  for (const d of delays) {
    const w = windowOf(d.acceptedAt);
    if (w >= 0) out[w]!.maxDelaySec = Math.max(out[w]!.maxDelaySec, (d.routedAt - d.acceptedAt) / 1000);
  }
  return out;
}
