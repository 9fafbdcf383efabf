/** Tunables of Telegram long polling, with their defaults in one place. */
export interface TelegramConnectorOptions {
  /** How often the account list is re-read, so polling accounts added or changed start without a restart. */
  refreshIntervalMs?: number;
  /** getUpdates `timeout`: seconds Telegram holds a poll open when there is nothing new. */
  pollTimeoutSec?: number;
  /** getUpdates `limit` (1-100): updates per poll, published as one batch. */
  batchSize?: number;
  /** Back-off after a failed poll or publish (lib/retry backoffDelay): first delay and ceiling. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export type ResolvedTelegramOptions = Required<TelegramConnectorOptions>;

export const DEFAULT_TELEGRAM_OPTIONS: ResolvedTelegramOptions = {
  refreshIntervalMs: 30_000,
  pollTimeoutSec: 50,
  batchSize: 100,
  retryInitialMs: 1_000,
  retryMaxMs: 60_000,
};

export function resolveTelegramOptions(opts: TelegramConnectorOptions = {}): ResolvedTelegramOptions {
  const defined = Object.entries(opts).filter(([, v]) => v !== undefined);
  return { ...DEFAULT_TELEGRAM_OPTIONS, ...Object.fromEntries(defined) };
}

/** telegraf resolves method URLs against the root, so a root with a path needs its trailing slash. */
export const apiRoot = (url: string) => (url.endsWith('/') ? url : `${url}/`);
