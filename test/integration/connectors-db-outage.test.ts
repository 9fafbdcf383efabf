import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { type Service, startService } from '../../app/service.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { pgAvailable } from '../support/services.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * While PostgreSQL is away, the connectors answer 503 DB_UNAVAILABLE with Retry-After (a sender that retries
 * on 503 loses nothing), never 500: the form and line look-ups, cached or not, fail as an outage. The whole
 * service runs (ROLE=all, in-process bus) on a real PostgreSQL reached through a proxy the test takes down.
 */
describe.skipIf(!(await pgAvailable()))('connectors while the database is away', () => {
  let t: TestDatabase;
  let proxy: TcpProxy;
  let service: Service;

  const postForm = () =>
    fetch(`${service.url}/v1/forms/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ivan', phone: '+7 (495) 123-45-67', region: 'Moscow' }),
    });
  const postCall = (id: string) =>
    fetch(`${service.url}/v1/telephony/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer demo-line-secret' },
      body: JSON.stringify({
        line: 'demo',
        direction: 'inbound',
        from: '8 495 123 45 67',
        to: '+74950000000',
        startedAt: '2026-11-23T10:00:00Z',
        duration: 0,
        status: 'missed',
        externalCallId: id,
      }),
    });

  beforeAll(async () => {
    t = await createTestPg();
    const url = new URL(t.url!);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const config = loadConfig({
      DATABASE_URL: url.toString(),
      DEMO_SEED: 'true',
      ADMIN_TOKEN: 'test-admin-token-0123456789',
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    service = await startService(config, createLogger({ level: 'silent' }));
  });
  afterAll(async () => {
    await proxy?.up();
    await service?.close();
    await proxy?.close();
    await t?.drop();
  });

  it('answers 503 DB_UNAVAILABLE with Retry-After: 2 on forms and telephony, then 2xx once it is back', async () => {
    await proxy.down();
    for (const r of [await postForm(), await postCall('db-away-1')]) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('2');
      const body = (await r.json()) as { error: { code: string } };
      expect(body.error.code).toBe('DB_UNAVAILABLE');
    }
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
    await proxy.up();
    expect((await postForm()).status).toBe(202);
    expect((await postCall('db-away-1')).status).toBeLessThan(300);
    const leads = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM leads');
    expect(leads.rows[0]!.n).toBe(1);
  });
});
