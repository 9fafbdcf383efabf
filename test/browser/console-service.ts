import { loadConfig } from '../../app/config.js';
import type { DemoSeedResult } from '../../app/demo-seed.js';
import { type Service, startService } from '../../app/service.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../support/db.js';

/**
 * The whole service as `npm start` runs it (API, router, connectors, the console), on a fresh PostgreSQL schema
 * with the in-process bus and the demo seed (operators anna, boris, vera with password demo-<login>), on a
 * random port. `extra` adds environment (e.g. TELEGRAM_API_URL of a local Bot API server).
 */
export interface ConsoleService {
  service: Service;
  url: string;
  t: TestDatabase;
  demo: DemoSeedResult;
  operator(login: string): DemoSeedResult['operators'][number];
  close(): Promise<void>;
}

export const ADMIN_TOKEN = 'browser-tests-admin-token-0001';

export async function startConsoleService(extra: Record<string, string> = {}): Promise<ConsoleService> {
  const t = await createTestPg();
  const env = {
    PORT: '0',
    DATABASE_URL: t.url!,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DEMO_SEED: 'true',
    ADMIN_TOKEN,
    ...extra,
  };
  const service = await startService(loadConfig(env), createLogger({ level: env.LOG_LEVEL }));
  const demo = service.demo!;
  return {
    service,
    url: service.url,
    t,
    demo,
    operator: (login) => demo.operators.find((o) => o.login === login)!,
    async close() {
      await service.close().catch(() => {});
      await t.drop();
    },
  };
}

/** JSON request to the service with a Bearer token (an operator's or the admin's). */
export async function call(
  base: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON by its documented shape
): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
