import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Bus } from '../bus/bus.js';
import type { Connector } from '../connectors/contract.js';
import type { Database } from '../crm-core/db/database.js';
import type { Logger } from '../lib/logger.js';
import type { MessengerOutbox } from '../outbound/messengers/outbox.js';
import type { Outbox } from '../outbound/outbox-worker.js';
import type { RealtimeHub } from '../realtime/hub.js';
import { createNotifier, regionsChanged, topic } from '../realtime/notices.js';
import { createRegionsCache } from '../router/regions-cache.js';
import type { ApiConfig } from './config.js';
import { httpOptions, registerErrorHandler } from './error-handler.js';
import type { Metrics } from './metrics.js';
import { apiSecuritySchemes } from './security-schemes.js';

export interface ServerDeps {
  config: Readonly<ApiConfig>;
  logger: Logger;
  db?: Database;
  bus?: Bus;
  /** Console and widget notices between instances (realtime/hub.ts); created once by the composition root. */
  realtime: RealtimeHub;
  metrics: Metrics;
  connectors: Connector[];
  /** Serve the read and admin API (role api / all). */
  api: boolean;
  /** Sends operators' email replies (API role). */
  outbox?: Outbox;
  /** Sends operators' messenger replies and fetches clients' files (API role). */
  messengerOutbox?: MessengerOutbox;
  onRegionsChanged?: () => void;
}

/** Builds the HTTP server of one process: health, metrics, docs, the webhook connectors and the API. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request access logs at info would dominate the output under load; errors are still logged.
    loggerInstance: deps.logger.child(
      { component: 'http' },
      { level: deps.logger.levelVal < 40 ? 'warn' : deps.logger.level },
    ) as FastifyBaseLogger,
    trustProxy: deps.config.trustProxy,
    bodyLimit: 25 * 1024 * 1024,
    ...httpOptions(),
  });
  registerErrorHandler(app);
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.http.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'contact-ingest',
        version: '1.0.0',
        description: 'Omnichannel contact ingestion: connectors, router, CRM read/admin API',
      },
      components: { securitySchemes: apiSecuritySchemes },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness: the process answers' } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { schema: { tags: ['ops'], summary: 'Readiness: database and bus reachable' } },
    async (_req, reply) => {
      const [database, bus] = await Promise.all([
        deps.db ? deps.db.ping() : true,
        deps.bus ? deps.bus.ready() : true,
      ]);
      const ok = database && bus;
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not-ready', database, bus });
    },
  );
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  for (const c of deps.connectors) {
    if (c.http) await app.register(c.http.plugin, { prefix: c.http.prefix });
  }
  if (deps.api && deps.db) {
    // Imported only by processes that serve the API: a router or connectors process starts without them.
    const [{ apiRoutes }, { telephonyApi }, { repliesApi }, { conversationsApi }, { consoleApi }] =
      await Promise.all([
        import('./routes/index.js'),
        import('./telephony/routes.js'),
        import('./replies.js'),
        import('./conversations.js'),
        import('./console/index.js'),
      ]);
    const notices = createNotifier(deps.realtime, deps.logger);
    // One copy of the region rules for the client look-ups of this instance; a change made through any
    // instance reaches every copy through the hub (PostgreSQL NOTIFY, or in process on the embedded default).
    const regions = createRegionsCache();
    const unsubscribe = deps.realtime.subscribe(topic.routing, () => regions.invalidate());
    app.addHook('onClose', async () => unsubscribe());
    await app.register(apiRoutes, {
      db: deps.db,
      config: deps.config,
      onRegionsChanged: () => {
        notices.publish([regionsChanged()]);
        deps.onRegionsChanged?.();
      },
      notices,
      regions,
    });
    await app.register(telephonyApi, { db: deps.db, config: deps.config, notices, regions });
    await app.register(consoleApi, {
      db: deps.db,
      config: deps.config,
      realtime: deps.realtime,
      notices,
      logger: deps.logger,
    });
    if (deps.outbox)
      await app.register(repliesApi, { db: deps.db, config: deps.config, outbox: deps.outbox, notices });
    if (deps.messengerOutbox)
      await app.register(conversationsApi, {
        db: deps.db,
        config: deps.config,
        outbox: deps.messengerOutbox,
        notices,
      });
  }
  return app;
}
