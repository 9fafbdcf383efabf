import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { apiRoutes } from '../../api/routes/index.js';
import { type AppConfig, loadConfig } from '../../app/config.js';
import { type DemoSeedResult, seedDemo } from '../../app/demo-seed.js';
import { isAppError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { createRouter, type Router } from '../../router/router.js';
import type { TestDatabase } from './db.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * The API plugin on a bare Fastify app, with an error handler equivalent to api/error-handler.ts: AppError ->
 * its status and `{ error: { code, message, fields } }` (+ Retry-After), a Fastify validation error -> 400
 * VALIDATION. Seeded with the demo setup; the router is there to create leads the way production does.
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
  const app = Fastify();
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    if (isAppError(err)) {
      if (err.retryAfterSec !== undefined) reply.header('retry-after', String(err.retryAfterSec));
      return reply
        .code(err.status)
        .send({ error: { code: err.code, message: err.message, fields: err.fields } });
    }
    if (err.validation) {
      const field =
        err.validation[0]?.instancePath.replace(/^\//, '').replaceAll('/', '.') ||
        err.validationContext ||
        'body';
      return reply
        .code(400)
        .send({ error: { code: 'VALIDATION', message: `${field}: ${err.message}`, fields: [field] } });
    }
    return reply.code(500).send({ error: { code: 'INTERNAL', message: String(err) } });
  });
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
