import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ChildService } from './service-process.js';
import { percentile, sleep } from './stats.js';

/**
 * Operators' replies delivered per second: `POST /v1/conversations/:id/messages` (operator tokens, an
 * Idempotency-Key each, `concurrency` requests in flight) on conversations the inbound phases opened, until the
 * vendor's API (a local server speaking the vendor's documented API, `calls()`) has received every reply. The
 * request waits for the outbox's first attempt, so this is the whole path: API, outbox row, worker, vendor.
 */
export interface ReplyPhase {
  replies: number;
  failed: number;
  /** From the first request until the vendor had every accepted reply. */
  seconds: number;
  p50: number;
  p99: number;
}

export async function replyPhase(
  svc: ChildService,
  pool: pg.Pool,
  o: { adminToken: string; replies: number; concurrency: number; vendorCalls: () => number },
): Promise<ReplyPhase> {
  // Each conversation answered by its own responsible (operators see their own clients only).
  const convs = (
    await pool.query<{ id: string; responsible_id: number }>(
      `SELECT c.id, a.responsible_id FROM conversations c JOIN activities a ON a.id = c.activity_id
        WHERE c.status = 'open' AND a.responsible_id IS NOT NULL ORDER BY c.id LIMIT $1`,
      [o.replies],
    )
  ).rows;
  const tokens = new Map<number, string>();
  for (const id of new Set(convs.map((c) => c.responsible_id))) {
    const r = await fetch(`${svc.url}/v1/admin/operators/${id}/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.adminToken}` },
    });
    tokens.set(id, ((await r.json()) as { token: string }).token);
  }
  const before = o.vendorCalls();
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const start = Date.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < convs.length) {
        const c = convs[next++]!;
        const t0 = performance.now();
        const r = await fetch(`${svc.url}/v1/conversations/${c.id}/messages`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${tokens.get(c.responsible_id)}`,
            'content-type': 'application/json',
            'idempotency-key': randomUUID(),
          },
          body: JSON.stringify({ text: 'Yes, we deliver on Saturdays.' }),
        }).catch(() => undefined);
        await r?.arrayBuffer().catch(() => {});
        if (!r || r.status >= 300) failed++;
        else latencies.push(performance.now() - t0);
      }
    }),
  );
  const accepted = convs.length - failed;
  const deadline = Date.now() + 60_000;
  while (o.vendorCalls() - before < accepted && Date.now() < deadline) await sleep(50);
  latencies.sort((a, b) => a - b);
  return {
    replies: accepted,
    failed,
    seconds: o.vendorCalls() - before >= accepted ? (Date.now() - start) / 1_000 : Number.NaN,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
