import { Worker } from 'node:worker_threads';
import type { Metrics } from '../api/metrics.js';
import type { ConsumerHealth } from '../bus/kafka-consumer.js';
import type { Logger } from '../lib/logger.js';
import { backoffDelay } from '../lib/retry.js';
import type { AppConfig } from './config.js';
import { type RouterRole, type RouterSample, recordRouterSample } from './router-role.js';

/** What the router's worker thread is started with. */
export interface RouterWorkerData {
  config: Readonly<AppConfig>;
}

/** Messages from the worker thread to this one. */
export type FromRouterWorker =
  | { type: 'ready' }
  | { type: 'sample'; sample: RouterSample }
  | { type: 'health'; health: ConsumerHealth | undefined };

/** Messages from this thread to the worker. */
export type ToRouterWorker = { type: 'invalidate-regions' } | { type: 'stop' };

/** How often the worker sends its consumer's health for /metrics. */
export const HEALTH_INTERVAL_MS = 1_000;
/** A worker that ran this long before it stopped is restarted after the shortest delay again. */
const STABLE_MS = 60_000;
/** How long close() waits for the worker to drain and commit before ending it. */
const STOP_TIMEOUT_MS = 10_000;

export interface RouterThread extends RouterRole {
  /** The running worker (undefined while it restarts): its threadId; tests end it to play a crash. */
  readonly worker: Worker | undefined;
}

/**
 * The router role of a `ROLE=all` process on Kafka + PostgreSQL, in a worker thread: HTTP answers and router
 * transactions no longer wait for each other on one event loop. The worker (app/router-worker.ts) runs the same
 * startRouterRole as a process routing on its own thread, with its own pool, Kafka consumer and NOTIFY
 * connection built from the same configuration; what /metrics shows crosses back as messages and is recorded
 * here. Migrations have run in this thread before it starts.
 *
 * A worker that stops unexpectedly (an uncaught error, running out of memory) is logged and started again with
 * back-off, so routing never stops silently: the consumer group hands its partitions to the new worker and
 * uncommitted events are delivered again (the router skips the ones it has committed). The first start's
 * failure fails the service's start, as it would in process.
 */
export async function startRouterThread(o: {
  config: Readonly<AppConfig>;
  logger: Logger;
  metrics: Metrics;
}): Promise<RouterThread> {
  const log = o.logger.child({ component: 'router-thread' });
  // From dist/ the worker is plain JavaScript beside this chunk (scripts/build.mjs builds app/router-worker.ts as
  // an entry of its own). From source (tsx, vitest) it is TypeScript, which Node 20 refuses as a worker's entry
  // even with `--import tsx` in its execArgv: a line of JavaScript loads it through tsx's API instead.
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./router-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  const script: URL | string = fromSource
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
      `.then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}))`
    : entry;

  let current: Worker | undefined;
  let health: ConsumerHealth | undefined;
  let stopping = false;
  let attempt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let launching: Promise<Worker> | undefined;

  const launch = (): Promise<Worker> =>
    new Promise<Worker>((resolve, reject) => {
      const data: RouterWorkerData = { config: o.config };
      const w = new Worker(script, { workerData: data, eval: fromSource, name: 'router' });
      let readyAt: number | undefined;
      let failure: Error | undefined;
      w.on('message', (m: FromRouterWorker) => {
        switch (m.type) {
          case 'sample':
            recordRouterSample(o.metrics, m.sample);
            break;
          case 'health':
            health = m.health;
            break;
          case 'ready':
            readyAt = Date.now();
            o.metrics.routerThread.reset();
            o.metrics.routerThread.set({ mode: 'worker', thread_id: String(w.threadId) }, 1);
            resolve(w);
            break;
        }
      });
      w.on('error', (err) => {
        failure = err;
      });
      w.on('exit', (code) => {
        if (current === w) current = undefined;
        if (readyAt === undefined) {
          reject(failure ?? new Error(`router worker exited with code ${code} before it was ready`));
          return;
        }
        if (stopping) return;
        o.metrics.routerThread.reset();
        o.metrics.routerWorkerRestarts.inc();
        attempt = Date.now() - readyAt > STABLE_MS ? 1 : attempt + 1;
        log.error(
          { err: failure, code, threadId: w.threadId, attempt },
          'router worker stopped unexpectedly; starting it again',
        );
        scheduleRestart();
      });
    });

  function scheduleRestart() {
    if (stopping) return;
    const delay = backoffDelay(attempt, 200, 30_000);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      launching = launch();
      launching.then(
        (w) => {
          current = w;
          launching = undefined;
          log.info({ threadId: w.threadId, attempt }, 'router worker started again');
        },
        (err: unknown) => {
          launching = undefined;
          attempt += 1;
          log.error({ err, attempt }, 'router worker did not start; trying again');
          scheduleRestart();
        },
      );
    }, delay);
  }

  current = await launch();
  log.info({ threadId: current.threadId }, 'router runs in a worker thread');

  const post = (m: ToRouterWorker) => current?.postMessage(m);
  return {
    get worker() {
      return current;
    },
    // A worker that is restarting reads the regions afresh when it starts.
    invalidateRegions: () => post({ type: 'invalidate-regions' }),
    // The worker starts its scheduler itself, after every (re)start.
    start: () => {},
    health: () => health,
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const w = (await launching?.catch(() => undefined)) ?? current;
      if (!w) return;
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage({ type: 'stop' } satisfies ToRouterWorker);
      const timer = setTimeout(() => {
        log.warn('router worker did not stop in time; ending it');
        void w.terminate();
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      o.metrics.routerThread.reset();
    },
  };
}
