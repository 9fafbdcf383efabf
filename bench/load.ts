import http from 'node:http';
import autocannon, { type Result } from 'autocannon';
import type { RequestMix } from './mix.js';

/** One request as the load generator saw it. Times are wall-clock ms (Date.now()), comparable with PostgreSQL's. */
export interface Sample {
  sentAt: number;
  ackAt: number;
  status: number;
  id?: string;
  kind: 'new' | 'repeat';
}

export interface LoadRun {
  samples: Sample[];
  startedAt: number;
  endedAt: number;
  errors: number;
  /** autocannon's own summary (closed loop only). */
  result?: Result;
}

function eventId(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

/**
 * Closed loop: `connections` keep-alive connections, each sending its next request as soon as the previous
 * answer arrives (autocannon, the cheapest generator available: the box has 2 cores for everything). The send
 * time is taken in setupRequest, which autocannon calls right before writing each request of a connection.
 */
export async function closedLoop(
  base: string,
  mix: RequestMix,
  o: { connections: number; durationSec: number },
): Promise<LoadRun> {
  const samples: Sample[] = [];
  const startedAt = Date.now();
  const result = await autocannon({
    url: base,
    connections: o.connections,
    duration: o.durationSec,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/v1/forms/demo',
        setupRequest: (req, ctx) => {
          const r = mix.next();
          ctx.sentAt = Date.now();
          ctx.kind = r.kind;
          return { ...req, method: r.method, path: r.path, headers: r.headers, body: r.body };
        },
        onResponse: (status, body, ctx) => {
          samples.push({
            sentAt: ctx.sentAt as number,
            ackAt: Date.now(),
            status,
            id: status === 202 ? eventId(body) : undefined,
            kind: ctx.kind as Sample['kind'],
          });
        },
      },
    ],
  });
  return { samples, startedAt, endedAt: Date.now(), errors: result.errors + result.timeouts, result };
}

/**
 * Open loop at a fixed rate: requests are started on schedule whatever the answers do (a slow server gets more
 * requests in flight, not fewer), and latency is measured from the *scheduled* send time, so a stalled
 * generator cannot hide queueing (no coordinated omission).
 */
export async function openLoop(
  base: string,
  mix: RequestMix,
  o: { rate: number; durationSec: number },
): Promise<LoadRun> {
  const u = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const samples: Sample[] = [];
  let errors = 0;
  let inflight = 0;
  const total = Math.round(o.rate * o.durationSec);
  const startedAt = Date.now();
  const interval = 1000 / o.rate;

  const fire = (k: number) => {
    const r = mix.next();
    const sentAt = startedAt + k * interval;
    inflight++;
    const req = http.request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          inflight--;
          const status = res.statusCode ?? 0;
          samples.push({
            sentAt,
            ackAt: Date.now(),
            status,
            id: status === 202 ? eventId(Buffer.concat(chunks).toString('utf8')) : undefined,
            kind: r.kind,
          });
        });
      },
    );
    req.on('error', () => {
      inflight--;
      errors++;
    });
    req.end(r.body);
  };

  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((Date.now() - startedAt) / interval) + 1);
      while (sent < due) fire(sent++);
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const endedAt = Date.now();
  const deadline = endedAt + 30_000;
  while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  agent.destroy();
  return { samples, startedAt, endedAt, errors: errors + inflight };
}
