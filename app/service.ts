import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { createMetrics } from '../api/metrics.js';
import { buildServer } from '../api/server.js';
import type { Bus } from '../bus/bus.js';
import type { Connector } from '../connectors/contract.js';
import type { Database } from '../crm-core/db/database.js';
import { migrate } from '../crm-core/db/migrate.js';
import { messageStatus } from '../crm-core/services/console-notices.js';
import { isDatabaseAway } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { retry } from '../lib/retry.js';
import type { RealtimeHub } from '../realtime/hub.js';
import { createMemoryHub } from '../realtime/memory-hub.js';
import { createNotifier, topic } from '../realtime/notices.js';
import type { AppConfig } from './config.js';
import { type DemoSeedResult, seedDemo } from './demo-seed.js';
import type { RouterRole } from './router-role.js';
import type { RouterThread } from './router-thread.js';

export interface Service {
  app: FastifyInstance;
  db: Database;
  bus: Bus;
  realtime: RealtimeHub;
  url: string;
  demo?: DemoSeedResult;
  /** The router's worker thread, when the router runs in one (ROUTER_THREAD=worker). */
  routerThread?: RouterThread;
  close(): Promise<void>;
}

/** How long a starting process waits for a database that is away (restarting) before giving up. */
const START_DATABASE_WAIT_ATTEMPTS = 30; // back-off 200 ms doubling to 2 s: about a minute

/**
 * The composition root: the only place that creates the database, the bus, the connectors and the router,
 * and passes them (with config, logger and metrics) to whoever needs them. The role decides what this
 * process runs; every role serves /healthz, /readyz and /metrics. Each role's code (and its libraries: IMAP,
 * MIME, SMTP for connectors; PGlite for the embedded default) is imported only when this process runs it, so a
 * restarted router or connectors process loads only what it needs and serves again quickly.
 */
export async function startService(config: Readonly<AppConfig>, logger: Logger): Promise<Service> {
  const role = config.role;
  const runs = (r: 'connectors' | 'router' | 'api') => role === 'all' || role === r;
  const metrics = createMetrics();

  const db: Database = config.databaseUrl
    ? (await import('../crm-core/db/pg.js')).createPgDatabase({
        connectionString: config.databaseUrl,
        max: config.databasePoolMax,
        logger,
      })
    : await (await import('../crm-core/db/pglite.js')).createPgliteDatabase({
        dataDir: join(config.dataDir, 'pglite'),
        thread: true,
      });
  // A process restarted while PostgreSQL restarts too waits for it instead of exiting.
  const applied = await retry(() => migrate(db), {
    retries: START_DATABASE_WAIT_ATTEMPTS,
    initialDelayMs: 200,
    maxDelayMs: 2_000,
    shouldRetry: isDatabaseAway,
    onRetry: (err, attempt) => logger.warn({ err, attempt }, 'database not reachable at start; waiting'),
  });
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const demo = config.demoSeed ? await seedDemo(db) : undefined;

  // Console and widget notices: through PostgreSQL (every instance sharing the database hears them, whatever
  // the contact bus) or, on the embedded default, in process. Created once; published only after commits.
  // Every role takes part: the router publishes what it routed, the API its changes and the console's sockets,
  // the connectors the visitors' live-chat sockets.
  const realtime: RealtimeHub = config.databaseUrl
    ? await (await import('../realtime/pg-hub.js')).createPgHub({
        connectionString: config.databaseUrl,
        channel: config.realtimeChannel,
        logger,
      })
    : createMemoryHub();
  const notifier = createNotifier(realtime, logger);

  // Replies go out from API instances; several can share the outbox (rows are claimed with leases).
  const outbox = runs('api')
    ? (await import('../outbound/outbox-worker.js')).createOutbox({ db, logger })
    : undefined;
  const messengerOutbox = runs('api')
    ? (await import('../outbound/messengers/outbox.js')).createMessengerOutbox({
        db,
        logger,
        urls: config.vendorApiUrls,
        conversationIdleHours: config.conversationIdleHours,
        onStatus: (c) => notifier.publish([messageStatus(c.conversationId, c.messageId, c.status, c.error)]),
        realtime,
      })
    : undefined;

  const kafkaBus = config.kafka
    ? (await import('../bus/kafka-bus.js')).createKafkaBus({
        ...config.kafka,
        logger: logger.child({ component: 'bus' }),
        batchSize: config.routerBatchSize,
      })
    : undefined;
  const bus: Bus =
    kafkaBus ??
    (await import('../bus/memory-bus.js')).createMemoryBus({ logger, batchSize: config.routerBatchSize });
  await bus.start();

  // The router role: on this thread, or (ROLE=all on Kafka + PostgreSQL, ROUTER_THREAD=worker) in a worker
  // thread of its own, so HTTP answers and router transactions do not wait for each other. The same code runs
  // either way (app/router-role.ts). Region changes reach it at once (below: heard through the hub).
  let router: RouterRole | undefined;
  let routerThread: RouterThread | undefined;
  if (runs('router')) {
    if (config.routerThread === 'worker') {
      routerThread = await (await import('./router-thread.js')).startRouterThread({
        config,
        logger,
        metrics,
      });
      router = routerThread;
    } else {
      const { startRouterRole, recordRouterSample } = await import('./router-role.js');
      router = await startRouterRole({
        config,
        logger,
        db,
        bus,
        notifier,
        report: (sample) => recordRouterSample(metrics, sample),
      });
      metrics.routerThread.set({ mode: 'inline', thread_id: String(threadId) }, 1);
    }
    metrics.watchBus(router.health);
  }
  // A region changed through any API instance: every router sharing the database hears it through the hub
  // (the API's own router is also told directly), instead of waiting for its cache TTL.
  const stopHearingRegions = router
    ? realtime.subscribe(topic.routing, () => router?.invalidateRegions())
    : undefined;

  const connectors: Connector[] = runs('connectors') ? await startConnectors() : [];
  async function startConnectors(): Promise<Connector[]> {
    const [{ createConnectors }, { channelSettings, cursorStore }, { clientDirectory }, { livechatReader }] =
      await Promise.all([
        import('../connectors/registry.js'),
        import('../crm-core/repositories/channel-settings.repository.js'),
        import('../router/client-directory.js'),
        import('../crm-core/repositories/widget.repository.js'),
      ]);
    return createConnectors({
      config: {
        defaultCountry: config.defaultCountry,
        publicUrl: config.publicUrl,
        formRateLimit: config.formRateLimit,
        vendorApiUrls: config.vendorApiUrls,
        trustProxy: config.trustProxy,
        livechatRateLimit: config.livechatRateLimit,
        livechatIpRateLimit: config.livechatIpRateLimit,
      },
      logger,
      bus,
      settings: channelSettings(db),
      cursors: cursorStore(db),
      clients: clientDirectory(db, config.defaultCountry),
      livechat: livechatReader(db),
      realtime,
      onUpdate: (vendor, kind, outcome) => metrics.updates.inc({ vendor, kind, outcome }),
    });
  }
  const app = await buildServer({
    config: {
      adminToken: config.adminToken,
      defaultCountry: config.defaultCountry,
      trustProxy: config.trustProxy,
      publicUrl: config.publicUrl,
      sessionTtlHours: config.sessionTtlHours,
    },
    logger,
    db,
    bus,
    realtime,
    metrics,
    connectors,
    api: runs('api'),
    outbox,
    messengerOutbox,
    onRegionsChanged: () => router?.invalidateRegions(),
  });
  // The operator console (console/): served by API instances, bundled here from its TypeScript on the first
  // start from source, read prebuilt from dist/console/ in production.
  if (runs('api')) await app.register((await import('../console/serve.js')).consoleUi);
  for (const c of connectors) await c.start?.();
  const url = await app.listen({ port: config.port, host: config.host });
  outbox?.start();
  messengerOutbox?.start();
  router?.start();
  logger.info(
    { url, role, database: db.kind, bus: bus.kind, ...(router ? { routerThread: config.routerThread } : {}) },
    'service started',
  );

  let closing: Promise<void> | undefined;
  return {
    app,
    db,
    bus,
    realtime,
    url,
    demo,
    routerThread,
    close: () =>
      (closing ??= (async () => {
        // Stop taking work first, then drain: connectors, HTTP, router (its thread drains and commits), bus,
        // database.
        for (const c of connectors)
          await c.stop?.().catch((err) => logger.error({ err }, 'connector stop failed'));
        await app.close();
        await outbox?.stop();
        await messengerOutbox?.stop();
        stopHearingRegions?.();
        await router?.stop();
        await bus.close();
        await realtime.close();
        await db.close();
      })()),
  };
}
