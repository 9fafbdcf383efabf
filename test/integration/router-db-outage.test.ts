import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import type { Database } from '../../crm-core/db/database.js';
import { createPgDatabase } from '../../crm-core/db/pg.js';
import { type AppError, isRetriable } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { sleep } from '../../lib/retry.js';
import { createRouter, type Router } from '../../router/router.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { formEvent } from '../support/events.js';
import { pgAvailable } from '../support/services.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * The router on a real PostgreSQL reached through a loopback proxy that the test takes down and up: an outage
 * is waited out (or handed back to the bus as retriable), never turned into dead letters; a database that
 * answers with an error for one event still dead-letters that event alone.
 */
describe.skipIf(!(await pgAvailable()))('router while the database is away', () => {
  let t: TestDatabase;
  let proxy: TcpProxy;
  let db: Database;
  let router: Router;
  const count = async (sql: string, params: unknown[]) =>
    Number((await t.db.query<{ n: number }>(sql, params)).rows[0]!.n);
  const leadsWithPhone = (phone: string) =>
    count("SELECT count(*)::int AS n FROM identities WHERE kind = 'phone' AND value = $1", [phone]);

  beforeAll(async () => {
    t = await createTestPg();
    await seedDemo(t.db);
    const url = new URL(t.url!);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    db = createPgDatabase({ connectionString: url.toString(), max: 2 });
    router = createRouter({
      db,
      logger: createLogger({ level: 'silent' }),
      callbackDeadlineMin: 30,
      meaningfulCallSec: 60,
      databaseAwayWaitMs: 3_000,
    });
  });
  afterAll(async () => {
    await db?.close();
    await proxy?.close();
    await t?.drop();
  });

  it('waits for a database that comes back, then routes the whole batch once', async () => {
    const events = [
      formEvent({ phone: '+7 916 555-01-01', name: 'Anna' }),
      formEvent({ phone: '+7 916 555-01-02', name: 'Boris' }),
    ];
    await proxy.down();
    const handled = router.handle(events);
    await sleep(1_000);
    await proxy.up();
    expect(await handled).toEqual({ failed: [] });
    expect(await leadsWithPhone('+79165550101')).toBe(1);
    expect(await leadsWithPhone('+79165550102')).toBe(1);
  });

  it('hands an outage longer than its wait back to the bus as retriable, never as failed events', async () => {
    const e = formEvent({ phone: '+7 916 555-01-03', name: 'Vera' });
    await proxy.down();
    const err = await router.handle([e]).then(
      (r) => r,
      (x: unknown) => x,
    );
    await proxy.up();
    expect((err as AppError).code).toBe('DB_UNAVAILABLE');
    expect(isRetriable(err)).toBe(true);
    // The bus delivers the batch again; now it lands, once.
    expect(await router.handle([e])).toEqual({ failed: [] });
    expect(await leadsWithPhone('+79165550103')).toBe(1);
  });

  it('a connection cut in the middle of routing is an outage too: the batch is routed after it', async () => {
    const events = Array.from({ length: 200 }, (_, i) =>
      formEvent({
        phone: `+7 916 556-${String(i).padStart(4, '0').slice(0, 2)}-${String(i).padStart(4, '0').slice(2)}`,
      }),
    );
    const handled = router.handle(events);
    await sleep(30);
    await proxy.down();
    await sleep(500);
    await proxy.up();
    expect(await handled).toEqual({ failed: [] });
    expect(await count("SELECT count(*)::int AS n FROM identities WHERE value LIKE '+7916556%'", [])).toBe(
      200,
    );
  });

  it('an event the running database refuses is dead-lettered alone; its batch-mates are routed', async () => {
    const good = formEvent({ phone: '+7 916 555-01-04', name: 'Good' });
    const bad = formEvent({ phone: '+7 916 555-01-05', name: 'Bad' });
    // PostgreSQL refuses a NUL character in text (22021): the database answers, so this is poison.
    const poison = { ...bad, sender: { ...bad.sender, name: 'Ba\u0000d' } };
    const r = await router.handle([good, poison]);
    expect(r.failed.map((f) => f.event.id)).toEqual([poison.id]);
    expect(isRetriable(r.failed[0]!.error)).toBe(false);
    expect(await leadsWithPhone('+79165550104')).toBe(1);
    expect(await leadsWithPhone('+79165550105')).toBe(0);
  });
});
