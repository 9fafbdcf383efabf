import type { MailboxSettings } from '../../channels/settings.js';
import type { Connector, ConnectorContext } from '../contract.js';
import { type EmailConnectorOptions, resolveOptions } from './options.js';
import type { Parser } from './read-message.js';
import { FolderWatcher } from './watcher.js';

/**
 * The email connector: one FolderWatcher per active mailbox and folder. The mailbox list is re-read every
 * refreshIntervalMs: new mailboxes start, removed or deactivated ones stop, and a changed one (new password,
 * other folders) restarts, all without restarting the process. Cursors survive all of that (they are keyed
 * by mailbox id and folder), so a restart picks up where the last session stopped.
 */
/** A pull connector: start() and stop() are always there. */
export type EmailConnector = Connector & Required<Pick<Connector, 'start' | 'stop'>>;

export function createEmailConnector(
  ctx: ConnectorContext,
  options: EmailConnectorOptions & { parser?: Parser } = {},
): EmailConnector {
  const { parser, ...rest } = options;
  const opts = resolveOptions(rest);
  const log = ctx.logger.child({ connector: 'email' });
  const watchers = new Map<string, { fingerprint: string; watcher: FolderWatcher }>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> = Promise.resolve();

  async function refresh(): Promise<void> {
    let list: MailboxSettings[];
    try {
      list = await ctx.settings.listMailboxes();
    } catch (err) {
      // Settings unreachable (database restarting): keep the watchers we have and try again next tick.
      log.error({ err }, 'email: cannot list mailboxes');
      return;
    }
    const wanted = new Map<string, { mailbox: MailboxSettings; folder: string; fingerprint: string }>();
    for (const mailbox of list) {
      if (!mailbox.active) continue;
      const fingerprint = JSON.stringify(mailbox);
      for (const folder of new Set(mailbox.folders.length ? mailbox.folders : ['INBOX'])) {
        wanted.set(`${mailbox.id}:${folder}`, { mailbox, folder, fingerprint });
      }
    }
    const stopping: Promise<void>[] = [];
    for (const [key, w] of watchers) {
      if (wanted.get(key)?.fingerprint === w.fingerprint) continue;
      watchers.delete(key);
      stopping.push(w.watcher.stop());
    }
    await Promise.all(stopping);
    if (!running) return;
    for (const [key, w] of wanted) {
      if (watchers.has(key)) continue;
      const watcher = new FolderWatcher(
        ctx,
        w.mailbox,
        w.folder,
        opts,
        log.child({ mailboxId: w.mailbox.id, folder: w.folder }),
        parser,
      );
      watchers.set(key, { fingerprint: w.fingerprint, watcher });
      watcher.start();
    }
  }

  function schedule(): void {
    timer = setTimeout(() => {
      refreshing = refresh().finally(() => {
        if (running) schedule();
      });
    }, opts.refreshIntervalMs);
    timer.unref();
  }

  return {
    name: 'email',
    async start() {
      if (running) return;
      running = true;
      refreshing = refresh();
      await refreshing;
      schedule();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await refreshing;
      const all = [...watchers.values()].map((w) => w.watcher.stop());
      watchers.clear();
      await Promise.all(all);
    },
  };
}
