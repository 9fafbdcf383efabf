import { type MessagePort, parentPort, threadId, workerData } from 'node:worker_threads';
import { createKafkaBus } from '../bus/kafka-bus.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { createLogger } from '../lib/logger.js';
import { createNotifier } from '../realtime/notices.js';
import { createPgHub } from '../realtime/pg-hub.js';
import { startRouterRole } from './router-role.js';
import {
  type FromRouterWorker,
  HEALTH_INTERVAL_MS,
  type RouterWorkerData,
  type ToRouterWorker,
} from './router-thread.js';

/**
 * The router's worker thread (started by app/router-thread.ts): its own pg pool, Kafka consumer and NOTIFY
 * connection, built from the service's configuration, and the same router role a process runs on its own thread.
 * Nothing here touches the HTTP thread's objects; /metrics figures go back as messages.
 */
if (!parentPort)
  throw new Error('app/router-worker.ts runs as a worker thread (app/router-thread.ts starts it)');
const port: MessagePort = parentPort;
const { config } = workerData as RouterWorkerData;
const logger = createLogger({ level: config.logLevel }).child({ thread: 'router', threadId });
const send = (m: FromRouterWorker) => port.postMessage(m);

async function main() {
  if (!config.databaseUrl || !config.kafka)
    throw new Error(
      'the router worker needs DATABASE_URL and KAFKA_BROKERS (config.ts checks ROUTER_THREAD)',
    );
  const db = createPgDatabase({ connectionString: config.databaseUrl, max: config.databasePoolMax, logger });
  // Publish only: the sockets are served by the HTTP thread's hub, which hears these NOTIFYs like any other.
  const realtime = await createPgHub({
    connectionString: config.databaseUrl,
    channel: config.realtimeChannel,
    logger,
    listen: false,
  });
  const bus = createKafkaBus({
    ...config.kafka,
    logger: logger.child({ component: 'bus' }),
    batchSize: config.routerBatchSize,
  });
  const role = await startRouterRole({
    config,
    logger,
    db,
    bus,
    notifier: createNotifier(realtime, logger),
    report: (sample) => send({ type: 'sample', sample }),
  });
  role.start();
  const healthTimer = setInterval(() => send({ type: 'health', health: role.health() }), HEALTH_INTERVAL_MS);

  let stopping = false;
  port.on('message', (m: ToRouterWorker) => {
    if (m.type === 'invalidate-regions') role.invalidateRegions();
    else if (m.type === 'stop' && !stopping) {
      stopping = true;
      void (async () => {
        clearInterval(healthTimer);
        // Drain first: the batch in flight commits and its offsets with it, then the connections close.
        await role.stop().catch((err) => logger.error({ err }, 'router stop failed'));
        await bus.close().catch((err) => logger.error({ err }, 'bus close failed'));
        await realtime.close();
        await db.close();
        port.close(); // nothing left to keep the thread alive: it exits
      })();
    }
  });
  send({ type: 'ready' });
  logger.info({ threadId }, 'router worker started');
}

main().catch((err: unknown) => {
  logger.error({ err }, 'router worker failed to start');
  throw err; // uncaught in a worker: the thread ends and the HTTP thread gets the error ('error' event)
});
