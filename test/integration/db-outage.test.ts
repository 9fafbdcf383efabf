import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPgDatabase } from '../../crm-core/db/pg.js';
import { AppError, isRetriable } from '../../lib/errors.js';
import { sleep } from '../../lib/retry.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { PG_URL, pgAvailable } from '../support/services.js';

/**
 * A database connection lost mid-transaction (server restart, crash, an administrator's pg_terminate_backend)
 * must never end the process: the transaction fails with DB_UNAVAILABLE (retriable), the broken connection
 * leaves the pool, and the next query works. Only this file's own backends are terminated (found by a unique
 * application_name), so the PostgreSQL shared with other suites is untouched.
 */
describe.skipIf(!(await pgAvailable()))('database connection lost mid-transaction', () => {
  let t: TestDatabase;
  let admin: pg.Client;
  const appName = `db-outage-${randomUUID().slice(0, 8)}`;
  let db: ReturnType<typeof createPgDatabase>;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  beforeAll(async () => {
    t = await createTestPg();
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const url = new URL(t.url!);
    url.searchParams.set('application_name', appName);
    // One connection: the next transaction can only work if the broken client was replaced, not reused.
    db = createPgDatabase({ connectionString: url.toString(), max: 1 });
    await db.exec('CREATE TABLE outage_probe (id int PRIMARY KEY)');
  });
  afterAll(async () => {
    await db?.close();
    await admin?.end();
    await t?.drop();
  });
  beforeEach(() => {
    uncaught.length = 0;
    process.on('uncaughtException', onUncaught);
  });
  afterEach(() => {
    process.off('uncaughtException', onUncaught);
  });

  /** Terminates this file's backends; resolves with how many there were. */
  async function terminateOurBackends(): Promise<number> {
    const r = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [appName],
    );
    return r.rowCount ?? 0;
  }

  async function expectWorking() {
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.transaction((tx) => tx.query('INSERT INTO outage_probe VALUES ($1)', [Date.now() % 1e9]));
  }

  it('a statement running when its backend is terminated fails as DB_UNAVAILABLE; the next query works', async () => {
    const running = db.transaction(async (tx) => {
      await tx.query('SELECT pg_sleep(10)');
    });
    const outcome = running.then(
      () => 'committed',
      (err: unknown) => err,
    );
    // Wait until the statement is really running, then cut it off.
    for (let i = 0; i < 50; i++) {
      const r = await admin.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'SELECT pg_sleep%'",
        [appName],
      );
      if (r.rowCount) break;
      await sleep(50);
    }
    expect(await terminateOurBackends()).toBe(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('DB_UNAVAILABLE');
    expect((err as AppError).retryAfterSec).toBe(2);
    expect(isRetriable(err)).toBe(true);
    await sleep(100);
    expect(uncaught).toEqual([]);
    await expectWorking();
  });

  it('a connection lost while the transaction waits between statements does not crash the process', async () => {
    let cut!: () => void;
    const terminated = new Promise<void>((resolve) => (cut = resolve));
    const outcome = db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO outage_probe VALUES ($1)', [-1]);
        // No statement is running now: the lost connection reaches only the client's 'error' event, which
        // ended the process before every checked-out client had a listener.
        await terminated;
        await tx.query('INSERT INTO outage_probe VALUES ($1)', [-2]);
      })
      .then(
        () => 'committed',
        (err: unknown) => err,
      );
    await sleep(50);
    expect(await terminateOurBackends()).toBe(1);
    await sleep(300); // the socket's end reaches the client
    expect(uncaught).toEqual([]);
    cut();
    const err = await outcome;
    expect((err as AppError).code).toBe('DB_UNAVAILABLE');
    // Nothing of the failed transaction was kept.
    expect((await db.query('SELECT id FROM outage_probe WHERE id < 0')).rows).toEqual([]);
    await expectWorking();
  });

  it('an idle pooled connection lost is replaced without an error reaching anyone', async () => {
    await db.query('SELECT 1');
    expect(await terminateOurBackends()).toBe(1);
    await sleep(300);
    expect(uncaught).toEqual([]);
    await expectWorking();
  });

  it('a database that cannot be reached answers DB_UNAVAILABLE, and ping() says false', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused (ECONNREFUSED).
    const gone = createPgDatabase({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    try {
      expect(await gone.ping()).toBe(false);
      const err = await gone.query('SELECT 1').catch((e: unknown) => e);
      expect((err as AppError).code).toBe('DB_UNAVAILABLE');
      const txErr = await gone.transaction((tx) => tx.query('SELECT 1')).catch((e: unknown) => e);
      expect((txErr as AppError).code).toBe('DB_UNAVAILABLE');
    } finally {
      await gone.close();
    }
  });

  it('an answer from a running database (a constraint) passes through with its SQLSTATE, not retriable', async () => {
    await db.query('INSERT INTO outage_probe VALUES ($1)', [424242]);
    const err = await db.query('INSERT INTO outage_probe VALUES ($1)', [424242]).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('23505');
    expect(isRetriable(err)).toBe(false);
  });
});
