import { AppError } from '../../lib/errors.js';

/**
 * Tunables of the email connector, with their defaults in one place. Per-mailbox settings (folders,
 * syncSince, processed, attachmentMaxBytes) come from ChannelSettings instead; these apply to all mailboxes.
 */
export interface EmailConnectorOptions {
  /** How often the mailbox list is re-read, so mailboxes added or changed by an admin start without a restart. */
  refreshIntervalMs?: number;
  /** A folder is re-checked this often even without an IDLE notification (a missed EXISTS costs at most this). */
  pollIntervalMs?: number;
  /** UIDs fetched per batch; the cursor advances after each batch is published. */
  batchSize?: number;
  /** A batch is published early once its events hold about this many bytes (inline attachments, raw copies). */
  publishBatchBytes?: number;
  /** Reconnect back-off (lib/retry backoffDelay): first delay and ceiling. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** TCP + TLS + greeting must complete within this. */
  connectionTimeoutMs?: number;
  /** A connection silent this long is dead (half-open TCP after a network cut). Must exceed pollIntervalMs. */
  socketTimeoutMs?: number;
  /** Bytes per IMAP partial FETCH when downloading a message. */
  downloadChunkBytes?: number;
  /** content.text limit in characters. */
  textMaxChars?: number;
  /** meta.html limit in characters. */
  htmlMaxChars?: number;
  /** Inline (base64) attachment bytes per message, all attachments together; each is also capped by the mailbox. */
  inlineTotalMaxBytes?: number;
  /** Attempts to publish one batch before the session is dropped and the folder re-read after a reconnect. */
  publishRetries?: number;
  /** stop() waits this long for the current message to finish before closing connections hard. */
  stopTimeoutMs?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

export type ResolvedOptions = Required<EmailConnectorOptions>;

export const DEFAULT_OPTIONS: ResolvedOptions = {
  refreshIntervalMs: 30_000,
  pollIntervalMs: 60_000,
  batchSize: 100,
  publishBatchBytes: 8 * 1024 * 1024,
  reconnectInitialMs: 1_000,
  reconnectMaxMs: 60_000,
  connectionTimeoutMs: 30_000,
  socketTimeoutMs: 150_000,
  downloadChunkBytes: 1024 * 1024,
  textMaxChars: 100_000,
  htmlMaxChars: 200_000,
  inlineTotalMaxBytes: 8 * 1024 * 1024,
  publishRetries: 5,
  stopTimeoutMs: 15_000,
  now: () => new Date(),
};

export function resolveOptions(opts: EmailConnectorOptions = {}): ResolvedOptions {
  const o = {
    ...DEFAULT_OPTIONS,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  };
  if (o.socketTimeoutMs <= o.pollIntervalMs) {
    throw new AppError('CONFIG', 'email connector: socketTimeoutMs must be greater than pollIntervalMs');
  }
  return o;
}
