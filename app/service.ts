import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createMetrics } from '../api/metrics.js';
import { buildServer } from '../api/server.js';
import type { Bus, Subscription } from '../bus/bus.js';
import { createKafkaBus } from '../bus/kafka-bus.js';
import { createMemoryBus } from '../bus/memory-bus.js';
import type { Connector } from '../connectors/contract.js';
import { createConnectors } from '../connectors/registry.js';
import type { Database } from '../crm-core/db/database.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { createPgliteDatabase } from '../crm-core/db/pglite.js';
import { channelSettings, cursorStore } from '../crm-core/repositories/channel-settings.repository.js';
import type { Logger } from '../lib/logger.js';
import { createMessengerOutbox } from '../outbound/messengers/outbox.js';
import { createOutbox } from '../outbound/outbox-worker.js';
import { clientDirectory } from '../router/client-directory.js';
import { createRouter } from '../router/router.js';
import type { AppConfig } from './config.js';
import { type DemoSeedResult, seedDemo } from './demo-seed.js';

export interface Service {
  app: FastifyInstance;
  db: Database;
  bus: Bus;
  url: string;
  demo?: DemoSeedResult;
  close(): Promise<void>;
}

/**
 * The composition root: the only place that creates the database, the bus, the connectors and the router,
 * and passes them (with config, logger and metrics) to whoever needs them. The role decides what this
 * process runs; every role serves /healthz, /readyz and /metrics.
 */
export async function startService(config: Readonly<AppConfig>, logger: Logger): Promise<Service> {
  const role = config.role;
  const runs = (r: 'connectors' | 'router' | 'api') => role === 'all' || role === r;
  const metrics = createMetrics();

  const db: Database = config.databaseUrl
    ? createPgDatabase({ connectionString: config.databaseUrl, max: config.databasePoolMax, logger })
    : await createPgliteDatabase({ dataDir: join(config.dataDir, 'pglite') });
  const applied = await migrate(db);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const demo = config.demoSeed ? await seedDemo(db) : undefined;

  // Replies go out from API instances; several can share the outbox (rows are claimed with leases).
  const outbox = runs('api') ? createOutbox({ db, logger }) : undefined;
  const messengerOutbox = runs('api')
    ? createMessengerOutbox({
        db,
        logger,
        urls: config.vendorApiUrls,
        conversationIdleHours: config.conversationIdleHours,
      })
    : undefined;

  const bus: Bus = config.kafka
    ? createKafkaBus({
        ...config.kafka,
        logger: logger.child({ component: 'bus' }),
        batchSize: config.routerBatchSize,
      })
    : createMemoryBus({ logger, batchSize: config.routerBatchSize });
  await bus.start();

  const router = createRouter({
    db,
    logger,
    callbackDeadlineMin: config.callbackDeadlineMin,
    meaningfulCallSec: config.meaningfulCallSec,
    conversationIdleHours: config.conversationIdleHours,
    defaultCountry: config.defaultCountry,
    onRouted: (events, outcomes) => {
      const now = Date.now();
      const channel = new Map(events.map((e) => [e.id, e.channel]));
      for (const e of events) metrics.latency.observe((now - Date.parse(e.receivedAt)) / 1000);
      for (const o of outcomes)
        metrics.routed.inc({
          channel: channel.get(o.eventId) ?? 'unknown',
          outcome: o.createdLead ? 'lead' : (o.ownerType ?? 'queue'),
        });
    },
  });
  let subscription: Subscription | undefined;
  if (runs('router')) subscription = await bus.subscribe(router.handle);

  const connectors: Connector[] = runs('connectors')
    ? createConnectors({
        config: {
          defaultCountry: config.defaultCountry,
          publicUrl: config.publicUrl,
          formRateLimit: config.formRateLimit,
          vendorApiUrls: config.vendorApiUrls,
        },
        logger,
        bus,
        settings: channelSettings(db),
        cursors: cursorStore(db),
        clients: clientDirectory(db, config.defaultCountry),
        onUpdate: (vendor, kind, outcome) => metrics.updates.inc({ vendor, kind, outcome }),
      })
    : [];
  const app = await buildServer({
    config: {
      adminToken: config.adminToken,
      defaultCountry: config.defaultCountry,
      trustProxy: config.trustProxy,
      publicUrl: config.publicUrl,
    },
    logger,
    db,
    bus,
    metrics,
    connectors,
    api: runs('api'),
    outbox,
    messengerOutbox,
    onRegionsChanged: router.invalidateRegions,
  });
  for (const c of connectors) await c.start?.();
  const url = await app.listen({ port: config.port, host: config.host });
  outbox?.start();
  messengerOutbox?.start();
  logger.info({ url, role, database: db.kind, bus: bus.kind }, 'service started');

  let closing: Promise<void> | undefined;
  return {
    app,
    db,
    bus,
    url,
    demo,
    close: () =>
      (closing ??= (async () => {
        // Stop taking work first, then drain: connectors, HTTP, router, bus, database.
        for (const c of connectors)
          await c.stop?.().catch((err) => logger.error({ err }, 'connector stop failed'));
        await app.close();
        await outbox?.stop();
        await messengerOutbox?.stop();
        await subscription?.stop();
        await bus.close();
        await db.close();
      })()),
  };
}
