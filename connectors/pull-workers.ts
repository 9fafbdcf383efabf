import type { Logger } from '../lib/logger.js';

/** A worker pulling from one source (an IMAP folder, a Telegram bot's getUpdates). */
export interface PullWorker {
  start(): void;
  stop(): Promise<void>;
}

/** What should run now, by key: the settings' fingerprint says when a running worker must restart. */
export type WantedWorkers<W extends PullWorker> = Map<string, { fingerprint: string; create: () => W }>;

/**
 * The pull connectors' supervision (email: one watcher per mailbox folder; Telegram: one poller per polling
 * bot): the settings are re-read every refreshIntervalMs, and workers start for new sources, stop for removed or
 * deactivated ones, and restart when their settings changed, without restarting the process. A failed read of
 * the settings (database restarting) keeps the workers running and tries again at the next refresh.
 */
export function superviseWorkers<W extends PullWorker>(opts: {
  log: Logger;
  /** Said in the log when the settings cannot be read, e.g. 'email: cannot list mailboxes'. */
  what: string;
  refreshIntervalMs: number;
  wanted: () => Promise<WantedWorkers<W>>;
}): { start(): Promise<void>; stop(): Promise<void> } {
  const running = new Map<string, { fingerprint: string; worker: W }>();
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> = Promise.resolve();

  async function refresh(): Promise<void> {
    let wanted: WantedWorkers<W>;
    try {
      wanted = await opts.wanted();
    } catch (err) {
      opts.log.error({ err }, opts.what);
      return;
    }
    const stopping: Promise<void>[] = [];
    for (const [key, r] of running) {
      if (wanted.get(key)?.fingerprint === r.fingerprint) continue;
      running.delete(key);
      stopping.push(r.worker.stop());
    }
    await Promise.all(stopping);
    if (!started) return;
    for (const [key, w] of wanted) {
      if (running.has(key)) continue;
      const worker = w.create();
      running.set(key, { fingerprint: w.fingerprint, worker });
      worker.start();
    }
  }

  function schedule(): void {
    timer = setTimeout(() => {
      refreshing = refresh().finally(() => {
        if (started) schedule();
      });
    }, opts.refreshIntervalMs);
    timer.unref();
  }

  return {
    async start() {
      if (started) return;
      started = true;
      refreshing = refresh();
      await refreshing;
      schedule();
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      await refreshing;
      const all = [...running.values()].map((r) => r.worker.stop());
      running.clear();
      await Promise.all(all);
    },
  };
}
