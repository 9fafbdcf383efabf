import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchHandler } from '../../bus/bus.js';
import { createMemoryBus } from '../../bus/memory-bus.js';
import type { Database } from '../../crm-core/db/database.js';
import { migrate } from '../../crm-core/db/migrate.js';
import { createPgliteDatabase } from '../../crm-core/db/pglite.js';
import { createLogger } from '../../lib/logger.js';
import { formEvent } from '../support/events.js';
import { testRouter } from '../support/router.js';

const logger = createLogger({ level: 'silent' });
const events = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) =>
    formEvent({ phone: `+7495${2000000 + from + i}`, name: `Client ${i}` }),
  );
const committed = async (db: Database, ids: string[]) =>
  (
    await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[])',
      [ids],
    )
  ).rows[0]!.n;

/**
 * The embedded default's shape: PGlite in its own thread, the in-process bus, the real router. Concurrent
 * contacts share one transaction, each caller is answered after that commit, and a batch that cannot commit
 * answers every caller 503 and leaves nothing behind.
 */
describe('group commit on the embedded default', () => {
  let db: Database;

  beforeAll(async () => {
    db = await createPgliteDatabase({ thread: true });
    await migrate(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it('routes concurrent publishes in one transaction; every one is committed when its publish resolves', async () => {
    const bus = createMemoryBus({ logger });
    const calls: number[] = [];
    let transactions = 0;
    const router = testRouter({
      ...db,
      transaction: (fn) => {
        transactions++;
        return db.transaction(fn);
      },
    });
    const handler: BatchHandler = (batch) => {
      calls.push(batch.length);
      return router.handle(batch);
    };
    await bus.subscribe(handler);
    const batch = events(20, 0);
    await Promise.all(batch.map((e) => bus.publish([e])));
    expect(calls).toEqual([20]);
    expect(transactions).toBe(1);
    expect(
      await committed(
        db,
        batch.map((e) => e.id),
      ),
    ).toBe(20);
    const leads = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM leads WHERE name LIKE 'Client %'`,
    );
    expect(leads.rows[0]!.n).toBe(20);
    await bus.close();
  });

  it('a shared batch that cannot commit answers all its callers 503 and commits none of them', async () => {
    const bus = createMemoryBus({ logger });
    // The router's real writes run, then the transaction fails before COMMIT (a serialization failure every
    // time: the router retries the batch, gives up, and the bus answers for it).
    const failing: Database = {
      ...db,
      transaction: (fn) =>
        db.transaction(async (tx) => {
          await fn(tx);
          throw Object.assign(new Error('could not serialize access'), { code: '40001' });
        }),
    };
    let calls = 0;
    const router = testRouter(failing);
    await bus.subscribe((batch) => {
      calls++;
      return router.handle(batch);
    });
    const batch = events(8, 100);
    const outcomes = await Promise.allSettled(batch.map((e) => bus.publish([e])));
    expect(calls).toBe(1);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'BUS_UNAVAILABLE', status: 503 });
    }
    expect(
      await committed(
        db,
        batch.map((e) => e.id),
      ),
    ).toBe(0);
    await bus.close();
  });

  it('the thread gives back PostgreSQL errors with their fields, rows with their types, and rolls back', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS thread_probe (id int PRIMARY KEY, at timestamptz, big bigint)');
    await db.query('INSERT INTO thread_probe VALUES (1, $1, 9007199254740993)', [
      new Date('2026-01-02T03:04:05Z'),
    ]);
    const err = await db.query('INSERT INTO thread_probe (id) VALUES (1)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: '23505', constraint: 'thread_probe_pkey' });
    const r = await db.query<{ at: Date; big: bigint }>('SELECT at, big FROM thread_probe WHERE id = 1');
    expect(r.rows[0]!.at).toBeInstanceOf(Date);
    expect(r.rows[0]!.at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(r.rows[0]!.big).toBe(9007199254740993n);
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO thread_probe (id) VALUES (2)');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect((await db.query('SELECT 1 FROM thread_probe WHERE id = 2')).rowCount).toBe(0);
  });

  it('once the thread is closed, statements fail as DB_UNAVAILABLE and ping says so', async () => {
    const other = await createPgliteDatabase({ thread: true });
    expect(await other.ping()).toBe(true);
    await other.close();
    expect(await other.ping()).toBe(false);
    await expect(other.query('SELECT 1')).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
  });
});
