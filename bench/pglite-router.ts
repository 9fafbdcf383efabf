/**
 * The router alone on the embedded PGlite, in this process: where a batch's time goes (scratch tool).
 *   npx tsx bench/pglite-router.ts [batchSize] [seconds] [memory|disk] [thread]   (NOTICES=1: + console notices per batch)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemo } from '../app/demo-seed.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgliteDatabase } from '../crm-core/db/pglite.js';
import { routedNotices } from '../crm-core/services/console-notices.js';
import { createLogger } from '../lib/logger.js';
import { createRouter } from '../router/router.js';
import { instrument, type StatementStat } from './ceilings.js';
import { eventFor } from './events.js';
import { RequestMix } from './mix.js';

const batchSize = Number(process.argv[2] ?? 64);
const seconds = Number(process.argv[3] ?? 5);
const memory = process.argv[4] === 'memory';
const thread = process.argv[5] === 'thread';
const dir = mkdtempSync(join(tmpdir(), 'pglite-router-'));
const stats = new Map<string, StatementStat>();
const db = await createPgliteDatabase({ dataDir: memory ? undefined : join(dir, 'pglite'), thread });
await migrate(db);
await seedDemo(db);
const router = createRouter({
  db: instrument(db, stats),
  logger: createLogger({ level: 'silent' }),
  callbackDeadlineMin: 30,
  meaningfulCallSec: 60,
});
const mix = new RequestMix(0.7);
const batch = () => Array.from({ length: batchSize }, () => eventFor(mix.next()));
for (let i = 0; i < 5; i++) await router.handle(batch());
stats.clear();
let events = 0;
let batches = 0;
let busy = 0;
let notices = 0;
const cpu0 = process.cpuUsage();
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  const b = batch();
  const t = performance.now();
  await router.handle(b);
  busy += performance.now() - t;
  events += b.length;
  batches++;
  if (process.env.NOTICES) {
    const t1 = performance.now();
    await routedNotices(db, b, new Set());
    notices += performance.now() - t1;
  }
  if (process.env.TREND && batches % 10 === 0) {
    const c = process.cpuUsage(cpu0);
    console.log(
      `  after ${batches} batches: cpu ${((c.user + c.system) / 1000 / events).toFixed(3)} ms/event so far`,
    );
  }
}
const cpu = process.cpuUsage(cpu0);
const all = [...stats.values()];
const dbMs = all.reduce((n, s) => n + s.ms, 0);
console.log(
  `batch ${batchSize} ${memory ? 'memory' : 'dataDir'}${thread ? ' thread' : ''}: ${Math.round(events / (busy / 1000))} events/s, ${(busy / batches).toFixed(1)} ms/batch, ${(busy / events).toFixed(3)} ms/event, cpu ${((cpu.user + cpu.system) / 1000 / events).toFixed(3)} ms/event (sys ${(cpu.system / 1000 / events).toFixed(3)}), ${(all.reduce((n, s) => n + s.calls, 0) / batches).toFixed(1)} statements/batch, db ${Math.round((dbMs / busy) * 100)}%`,
);
if (process.env.NOTICES) console.log(`routedNotices after each batch: ${(notices / batches).toFixed(1)} ms`);
for (const s of all.sort((a, b) => b.ms - a.ms).slice(0, 25))
  console.log(
    `  ${(s.ms / batches).toFixed(2).padStart(7)} ms ${(s.calls / batches).toFixed(1).padStart(4)}x  ${s.sql}`,
  );
await db.close();
rmSync(dir, { recursive: true, force: true });
