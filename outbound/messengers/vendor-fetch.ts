import { type FetchedFile, VendorSendError } from './contract.js';

/**
 * HTTP to a vendor's API for the senders: a per-request timeout, and network failures and timeouts as the
 * retriable `unavailable` (the outbox tries again). What the vendor answered is the caller's to interpret.
 */
export const DEFAULT_TIMEOUT_MS = 10_000;

export async function vendorFetch(
  url: string,
  init: RequestInit,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    const timedOut = (cause as Error)?.name === 'TimeoutError';
    throw new VendorSendError(
      'unavailable',
      timedOut ? `no answer within ${timeoutMs} ms` : 'vendor unreachable',
      {
        cause,
      },
    );
  }
}

/** HTTP status of an answer that carried no usable vendor body: 5xx and 429 may pass, other 4xx will not. */
export function httpFailure(res: Response, vendor: string): VendorSendError {
  const retryAfter = Number(res.headers.get('retry-after'));
  const retryAfterSec = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  const reason = res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'unavailable' : 'rejected';
  return new VendorSendError(reason, `${vendor} answered HTTP ${res.status}`, {
    vendorCode: `http_${res.status}`,
    retryAfterSec,
  });
}

/**
 * A file a client sent, downloaded from the URL the vendor gave (VK and Viber serve media by URL; Viber's
 * links expire after a while, so an old attachment may answer 403/404: `rejected`, not retried).
 */
export async function downloadFile(
  url: string | undefined,
  name: string | undefined,
  vendor: string,
  timeoutMs?: number,
): Promise<FetchedFile> {
  if (!url) throw new VendorSendError('rejected', `${vendor}: the attachment has no URL to fetch`);
  const res = await vendorFetch(url, { method: 'GET' }, timeoutMs);
  if (!res.ok) throw httpFailure(res, vendor);
  const mimeType = res.headers.get('content-type')?.split(';')[0]?.trim() || undefined;
  return { body: Buffer.from(await res.arrayBuffer()), mimeType, name };
}
