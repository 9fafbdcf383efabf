import { ImapFlow } from 'imapflow';
import type { MailboxSettings } from '../../channels/settings.js';
import type { Logger } from '../../lib/logger.js';
import { backoffDelay, sleep } from '../../lib/retry.js';
import type { ConnectorContext } from '../contract.js';
import type { ResolvedOptions } from './options.js';
import type { Parser } from './read-message.js';
import { syncFolder } from './sync.js';

/**
 * Keeps one IMAP connection per mailbox folder: sync, IDLE until the server says something changed (or the
 * poll interval passes), sync again. Any failure (drop, timeout, server restart, auth) ends the session and a
 * new one starts after a back-off that grows while sessions keep failing and resets once one gets through
 * a sync. It never gives up: a mailbox that stays broken is retried every reconnectMaxMs and logged.
 */
export class FolderWatcher {
  private stopping = false;
  private readonly abort = new AbortController();
  private client: ImapFlow | undefined;
  private done: Promise<void> = Promise.resolve();
  private wake: () => void = () => undefined;
  private changed = false;

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly mailbox: MailboxSettings,
    private readonly folder: string,
    private readonly opts: ResolvedOptions,
    private readonly log: Logger,
    private readonly parser?: Parser,
  ) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort(new Error('email connector stopping'));
    this.wake();
    // Let the message in hand finish and its batch be published; past the deadline, cut the connection.
    const timer = setTimeout(() => this.client?.close(), this.opts.stopTimeoutMs);
    await this.done;
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      let synced = false;
      let failure: unknown;
      try {
        await this.session(() => {
          synced = true;
        });
      } catch (err) {
        failure = err;
      }
      if (this.stopping) break;
      attempt = synced ? 1 : attempt + 1;
      const delayMs = backoffDelay(attempt, this.opts.reconnectInitialMs, this.opts.reconnectMaxMs);
      // Wrong credentials or a mailbox that keeps failing need a human: error. A single drop is routine: warn.
      const auth = (failure as { authenticationFailed?: boolean } | undefined)?.authenticationFailed;
      this.log[auth || attempt > 3 ? 'error' : 'warn'](
        { err: failure, attempt },
        'email: IMAP session ended',
      );
      this.log.info({ delayMs, attempt }, 'email: reconnecting');
      await sleep(delayMs, this.abort.signal).catch(() => undefined);
    }
  }

  /** One connection's life. Resolves only on stop; any connection problem rejects. */
  private async session(onSynced: () => void): Promise<void> {
    const { imap } = this.mailbox;
    const client = new ImapFlow({
      host: imap.host,
      port: imap.port,
      secure: imap.secure,
      auth: { user: imap.user, pass: imap.password },
      logger: false,
      disableAutoIdle: true,
      // IDLE is broken and restarted by our own poll well before any server's 30-minute IDLE timeout.
      maxIdleTime: this.opts.pollIntervalMs,
      connectionTimeout: this.opts.connectionTimeoutMs,
      greetingTimeout: this.opts.connectionTimeoutMs,
      socketTimeout: this.opts.socketTimeoutMs,
      clientInfo: { name: 'contact-ingest' },
    });
    this.client = client;
    let closed = false;
    client.once('close', () => {
      closed = true;
      this.wake();
    });
    // imapflow emits at most one 'error' per connection and closes it; without a listener it would crash us.
    client.on('error', (err: Error) => this.log.debug({ err }, 'email: IMAP connection error'));
    client.on('exists', () => {
      this.changed = true;
      this.wake();
    });
    try {
      await client.connect();
      // EXAMINE when nothing is to be marked: the connector then cannot change the mailbox even by accident.
      await client.mailboxOpen(this.folder, { readOnly: this.mailbox.processed.action === 'none' });
      this.log.info(
        { uidValidity: String(client.mailbox ? client.mailbox.uidValidity : '') },
        'email: folder open',
      );
      while (!this.stopping) {
        this.changed = false;
        const stats = await syncFolder(client, {
          ctx: this.ctx,
          mailbox: this.mailbox,
          folder: this.folder,
          opts: this.opts,
          log: this.log,
          stopped: () => this.stopping,
          signal: this.abort.signal,
          parser: this.parser,
        });
        if (stats.published || stats.skipped) this.log.info(stats, 'email: folder synced');
        onSynced();
        if (this.stopping) break;
        if (closed) throw new Error('IMAP connection closed');
        if (this.changed) continue; // new mail arrived while we were busy: no need to wait
        // IDLE runs until the next command breaks it; the sync after the wake-up is that command.
        client.idle().catch(() => undefined);
        await this.nextWake(this.opts.pollIntervalMs);
        if (closed) throw new Error('IMAP connection closed');
      }
      await client.logout().catch(() => undefined);
    } finally {
      client.close();
      if (this.client === client) this.client = undefined;
    }
  }

  /** Resolves on new mail, a closed connection, stop(), or after the poll interval, whichever comes first. */
  private nextWake(pollMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
