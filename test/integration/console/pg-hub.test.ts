import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/logger.js';
import type { RealtimeHub, RealtimeNotice } from '../../../realtime/hub.js';
import { createPgHub } from '../../../realtime/pg-hub.js';
import { PG_URL, pgAvailable } from '../../support/services.js';

/** The PostgreSQL hub on the real server: fan-out between two hubs (two instances), size limit, reconnection. */
const available = await pgAvailable();
const logger = createLogger({ level: 'silent' });

function collect(hub: RealtimeHub, topic: string) {
  const got: RealtimeNotice[] = [];
  hub.subscribe(topic, (n) => got.push(n));
  return got;
}

async function until(what: string, ok: () => boolean, timeoutMs = 5_000) {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!available)('realtime hub over PostgreSQL LISTEN/NOTIFY', () => {
  const channel = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let a: Awaited<ReturnType<typeof createPgHub>>;
  let b: Awaited<ReturnType<typeof createPgHub>>;

  beforeAll(async () => {
    a = await createPgHub({ connectionString: PG_URL, logger, channel });
    b = await createPgHub({ connectionString: PG_URL, logger, channel });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('a notice published on one instance reaches the listeners of both, once each', async () => {
    const onA = collect(a, 'operator:1');
    const onB = collect(b, 'operator:1');
    const other = collect(b, 'operator:2');
    await a.publish({ topic: 'operator:1', type: 'work.changed', data: { n: 1 } });
    await until('both instances', () => onA.length === 1 && onB.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(onA).toEqual([{ topic: 'operator:1', type: 'work.changed', data: { n: 1 } }]);
    expect(onB).toEqual(onA);
    expect(other).toEqual([]);
  });

  it('a notice too large for NOTIFY stays local instead of failing', async () => {
    const onA = collect(a, 'conversation:7');
    const onB = collect(b, 'conversation:7');
    await a.publish({ topic: 'conversation:7', type: 'message.created', data: { text: 'x'.repeat(9_000) } });
    expect(onA).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(onB).toHaveLength(0);
  });

  it("reconnects with back-off when its connection is killed, and hears the other instance's notices again", async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      // Both hubs' connections (named after the channel, which is this test's own) are killed.
      const pids = (
        await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
          `realtime:${channel}`,
        ])
      ).rows.map((r) => r.pid);
      expect(pids.length).toBe(2);
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
    } finally {
      await admin.end();
    }
    await until('the connections to drop', () => !a.connected && !b.connected);
    // Meanwhile a notice is still dispatched locally, never thrown.
    const local = collect(a, 'region:1');
    await a.publish({ topic: 'region:1', type: 'work.changed', data: {} });
    expect(local).toHaveLength(1);
    await until('both to reconnect', () => a.connected && b.connected, 15_000);
    const onB = collect(b, 'region:2');
    await a.publish({ topic: 'region:2', type: 'work.changed', data: {} });
    await until('the notice after reconnection', () => onB.length === 1);
  }, 30_000);
});
