import type { Connector, ConnectorContext } from '../contract.js';
import { superviseWorkers, type WantedWorkers } from '../pull-workers.js';
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
  const workers = superviseWorkers<FolderWatcher>({
    log,
    what: 'email: cannot list mailboxes',
    refreshIntervalMs: opts.refreshIntervalMs,
    async wanted() {
      const wanted: WantedWorkers<FolderWatcher> = new Map();
      for (const mailbox of await ctx.settings.listMailboxes()) {
        if (!mailbox.active) continue;
        const fingerprint = JSON.stringify(mailbox);
        for (const folder of new Set(mailbox.folders.length ? mailbox.folders : ['INBOX'])) {
          wanted.set(`${mailbox.id}:${folder}`, {
            fingerprint,
            create: () =>
              new FolderWatcher(
                ctx,
                mailbox,
                folder,
                opts,
                log.child({ mailboxId: mailbox.id, folder }),
                parser,
              ),
          });
        }
      }
      return wanted;
    },
  });
  return { name: 'email', start: workers.start, stop: workers.stop };
}
