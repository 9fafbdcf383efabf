import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** Attempts in total, the first included. */
  retries: number;
  /** First back-off in ms; doubles each attempt, with full jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Defaults to isRetriable: programming errors and permanent failures are never retried. */
  shouldRetry?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/**
 * Thrown when the attempts ran out. It is as retriable as its cause: giving up here on a database restart or a
 * broker election means "later", not "never", so an outer loop (the bus's redelivery) still tries again and an
 * event is never dead-lettered for an outage.
 */
export class RetriesExhaustedError extends Error {
  readonly retriable: boolean;
  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`gave up after ${attempts} attempts: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'RetriesExhaustedError';
    this.retriable = isRetriable(cause);
  }
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // The abort listener is removed when the timer fires, so long-lived signals do not collect listeners.
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export function backoffDelay(attempt: number, initialDelayMs = 100, maxDelayMs = 30_000): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** The one retry helper every component uses (router transactions, IMAP reconnects, SMTP, Kafka admin). */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const shouldRetry = opts.shouldRetry ?? isRetriable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!shouldRetry(err)) throw err;
      if (attempt >= opts.retries) throw new RetriesExhaustedError(attempt, err);
      const delay = backoffDelay(attempt, opts.initialDelayMs, opts.maxDelayMs);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}
