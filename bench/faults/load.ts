import { sleep } from '../../lib/retry.js';

/**
 * The known set of contacts the fault test sends, and a sender that behaves as vendors do: it repeats the same
 * request (same body, same Idempotency-Key or call id) until it gets a 2xx, waiting Retry-After on 503/429 and
 * a little after a refused connection. Every attempt is recorded, so unavailability can be measured per fault.
 */
export interface Contact {
  kind: 'form' | 'call';
  client: number;
  /** Forms: the Idempotency-Key; calls: the vendor's call id. */
  key: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Attempt {
  start: number;
  end: number;
  /** HTTP status, or 0 when no answer came (refused, reset, timed out). */
  status: number;
}

/** The client's phone in E.164 (+7916…), and the four ways senders write it. */
export const clientPhone = (i: number) => `+7916${String(1_000_000 + i).padStart(7, '0')}`;
function spelling(i: number, way: number): string {
  const d = clientPhone(i).slice(2); // 916XXXXXXX
  const [a, b, c, e] = [d.slice(0, 3), d.slice(3, 6), d.slice(6, 8), d.slice(8)];
  return [`+7 (${a}) ${b}-${c}-${e}`, `8 ${a} ${b} ${c} ${e}`, `8${d}`, `7${d}`][way % 4]!;
}

export function contactSet(o: {
  run: string;
  clients: number;
  formsPerClient: number;
  calls: number;
  lineSecret: string;
}): Contact[] {
  const out: Contact[] = [];
  for (let i = 0; i < o.clients; i++) {
    for (let j = 0; j < o.formsPerClient; j++) {
      out.push({
        kind: 'form',
        client: i,
        key: `fault-${o.run}-${i}-${j}`,
        path: '/v1/forms/demo',
        headers: { 'content-type': 'application/json', 'idempotency-key': `fault-${o.run}-${i}-${j}` },
        body: JSON.stringify({
          name: `Client ${i}`,
          phone: spelling(i, i + j),
          region: 'Moscow',
          message: `form ${j} of client ${i}`,
        }),
      });
    }
  }
  for (let k = 0; k < o.calls; k++) {
    const client = (k * 7) % o.clients;
    const callId = `fault-${o.run}-call-${k}`;
    out.push({
      kind: 'call',
      client,
      key: callId,
      path: '/v1/telephony/generic',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${o.lineSecret}` },
      body: JSON.stringify({
        line: 'demo',
        direction: 'inbound',
        from: spelling(client, k),
        to: '+74950000000',
        startedAt: new Date(Date.UTC(2026, 10, 23, 10, 0, k % 3600)).toISOString(),
        duration: 30 + (k % 90),
        status: 'answered',
        externalCallId: callId,
      }),
    });
  }
  // A fixed shuffle: each phase of the run sees forms and calls of many clients, new and returning.
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface LoadResult {
  /** Contact key -> event id from the 2xx answer. */
  accepted: Map<string, string>;
  /** Event id -> when its 2xx arrived (ms since the epoch). */
  acceptedAt: Map<string, number>;
  attempts: Attempt[];
  /** Answers >= 500 other than 503 (each one a violation), and 4xx other than 429 (the set is valid). */
  serverErrors: { key: string; status: number; body: string }[];
  rejected: { key: string; status: number; body: string }[];
}

/**
 * Sends the set through `baseUrl()` (read per attempt: a restarted connectors process keeps its port), at
 * `rate()` contacts per second started, at most `concurrency` in flight. Resolves when every contact has a 2xx
 * (or was rejected with a 4xx, which the checks report).
 */
export async function sendAll(
  contacts: Contact[],
  o: { baseUrl: () => string; rate: () => number; concurrency: number; onAccepted?: () => void },
): Promise<LoadResult> {
  const result: LoadResult = {
    accepted: new Map(),
    acceptedAt: new Map(),
    attempts: [],
    serverErrors: [],
    rejected: [],
  };
  let next = 0;
  let inFlight = 0;
  const started = performance.now();
  let sent = 0;
  const senders: Promise<void>[] = [];

  async function deliver(c: Contact): Promise<void> {
    for (;;) {
      const start = Date.now();
      let status = 0;
      let text = '';
      let retryAfter = 0;
      try {
        const r = await fetch(o.baseUrl() + c.path, {
          method: 'POST',
          headers: c.headers,
          body: c.body,
          signal: AbortSignal.timeout(15_000),
        });
        status = r.status;
        text = await r.text();
        retryAfter = Number(r.headers.get('retry-after') ?? 0);
      } catch {
        status = 0;
      }
      result.attempts.push({ start, end: Date.now(), status });
      if (status >= 200 && status < 300) {
        const id = (JSON.parse(text || '{}') as { id?: string }).id ?? '';
        result.accepted.set(c.key, id);
        if (!result.acceptedAt.has(id)) result.acceptedAt.set(id, Date.now());
        o.onAccepted?.();
        return;
      }
      if (status === 503 || status === 429) {
        await sleep(1_000 * (retryAfter || 1));
        continue;
      }
      if (status >= 500) {
        result.serverErrors.push({ key: c.key, status, body: text.slice(0, 300) });
        await sleep(1_000); // vendors retry a 500 too
        continue;
      }
      if (status >= 400) {
        result.rejected.push({ key: c.key, status, body: text.slice(0, 300) });
        return;
      }
      await sleep(250); // no answer: refused or reset while the process restarts
    }
  }

  while (next < contacts.length) {
    const due = sent / Math.max(o.rate(), 0.001);
    const wait = due * 1_000 - (performance.now() - started);
    if (wait > 0) await sleep(Math.min(wait, 200));
    else if (inFlight >= o.concurrency) await sleep(5);
    else {
      const c = contacts[next++]!;
      sent++;
      inFlight++;
      senders.push(deliver(c).finally(() => inFlight--));
    }
  }
  await Promise.all(senders);
  return result;
}
