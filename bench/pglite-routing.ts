/**
 * The PBX routing answer on the embedded default (PGlite in its thread): 400 look-ups (half known callers, half
 * unknown) one after the other, through PGlite's plain queries and through its fast lane (prepared statements,
 * generic plan, ahead of queued work), with latency and CPU per answer (all threads). Idle: no ingestion runs.
 *
 *   npx tsx bench/pglite-routing.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seedDemo } from '../app/demo-seed.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgliteDatabase } from '../crm-core/db/pglite.js';
import { lookupClient } from '../router/client-lookup.js';
import { createRegionsCache } from '../router/regions-cache.js';
import { ms, summarise } from './stats.js';

const CLIENTS = 2_000;
const ANSWERS = 400;
const dir = mkdtempSync(join(tmpdir(), 'bench-pglite-routing-'));
const db = await createPgliteDatabase({ dataDir: dir, thread: true });
try {
  await migrate(db);
  await seedDemo(db);
  await db.query(
    `WITH c AS (INSERT INTO contacts (name) SELECT 'client ' || i FROM generate_series(1, $1::int) AS i RETURNING id)
     INSERT INTO identities (kind, value, owner_type, owner_id)
     SELECT 'phone', '+7495' || (1000000 + row_number() OVER (ORDER BY id)), 'contact', id FROM c`,
    [CLIENTS],
  );
  const regions = createRegionsCache();
  for (const [name, q] of [
    ['plain queries', db],
    ['fast lane', db.fastLane ?? db],
  ] as const) {
    for (const pass of ['first', 'second']) {
      const times: number[] = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < ANSWERS; i++) {
        const phone = i % 2 ? `+7495${1000001 + i}` : `+7916${1000000 + i}`;
        const t0 = performance.now();
        await lookupClient(q, { phone }, 'RU', {}, { regions: regions.get });
        times.push(performance.now() - t0);
      }
      const cpu = process.cpuUsage(cpu0);
      const s = summarise(times);
      console.log(
        `${name}, ${pass} ${ANSWERS}: p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, CPU per answer ${ms((cpu.user + cpu.system) / 1000 / ANSWERS)} (all threads)`,
      );
    }
  }
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
