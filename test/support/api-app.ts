import Fastify, { type FastifyInstance } from 'fastify';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { apiRoutes } from '../../api/routes/index.js';
import { type AppConfig, loadConfig } from '../../app/config.js';
import { type DemoSeedResult, seedDemo } from '../../app/demo-seed.js';
import { createLogger } from '../../lib/logger.js';
import { createRouter, type Router } from '../../router/router.js';
import type { TestDatabase } from './db.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * The API plugin on a bare Fastify app with the central error handler (api/error-handler.ts). Seeded with the demo setup; the router is there to create leads the way production does.
 */
export interface ApiTestApp {
  app: FastifyInstance;
  config: Readonly<AppConfig>;
  router: Router;
  seed: DemoSeedResult;
  /** Operator token by login (anna, boris, vera). */
  tokens: Record<string, string>;
  ops: Record<string, number>;
  regionsChanged: { count: number };
}

export async function buildApiApp(t: TestDatabase): Promise<ApiTestApp> {
  const config = loadConfig({ ADMIN_TOKEN, DEFAULT_COUNTRY: 'RU', LOG_LEVEL: 'silent' });
  const seed = (await seedDemo(t.db))!;
  const router = createRouter({
    db: t.db,
    logger: createLogger({ level: 'silent' }),
    callbackDeadlineMin: 30,
    meaningfulCallSec: 60,
  });
  const regionsChanged = { count: 0 };
  const app = Fastify(httpOptions());
  registerErrorHandler(app);
  await app.register(apiRoutes, {
    db: t.db,
    config,
    onRegionsChanged: () => {
      regionsChanged.count += 1;
      router.invalidateRegions();
    },
  });
  await app.ready();
  return {
    app,
    config,
    router,
    seed,
    tokens: Object.fromEntries(seed.operators.map((o) => [o.login, o.token])),
    ops: Object.fromEntries(seed.operators.map((o) => [o.login, o.id])),
    regionsChanged,
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const admin = bearer(ADMIN_TOKEN);

/** The suites run on PGlite always and on the real PostgreSQL when it is up (CI requires it). */
export async function apiBackends() {
  const { createTestPg, createTestPglite } = await import('./db.js');
  const { pgAvailable } = await import('./services.js');
  return [
    { name: 'PGlite', make: createTestPglite, available: true },
    { name: 'PostgreSQL', make: () => createTestPg(), available: await pgAvailable() },
  ];
}
