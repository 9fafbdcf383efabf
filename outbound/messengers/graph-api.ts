import type { SenderDeps } from './contract.js';
import { type SendFailureReason, VendorSendError } from './contract.js';

/**
 * The one place WhatsApp and Instagram senders talk to the Graph API (root `urls.meta`, version included):
 * bearer token in the Authorization header, never in the URL, and every Graph error body
 * `{"error":{"message","type","code","error_subcode","error_data","fbtrace_id"}}` turned into a VendorSendError
 * by its code (Meta asks integrators to branch on codes, never on message text):
 *
 * | reason | codes |
 * |---|---|
 * | rate_limited (retried, Retry-After honoured) | HTTP 429; 4, 17, 32, 613 (API call limits); 80007 (WABA rate limit); 130429 (throughput); 131048 (spam rate limit); 131056 (pair rate limit) |
 * | window_closed | 131047 (more than 24 hours since the client last wrote); Instagram 10 with subcode 2534022 ("outside of allowed window"); Messenger subcode 2018278 |
 * | blocked | 131050 (the client stopped marketing messages from the business); Instagram 551 ("this person isn't available") |
 * | bad_recipient | 131026 (undeliverable: not a WhatsApp user, old app, terms not accepted); 131021 (recipient is the sender); subcode 2018001 (no matching Instagram user) |
 * | unauthorized | HTTP 401; 190 (token invalid or expired); 102, 463, 467 (session); 0, 3, 10, 200-299 (permission) other than the window subcodes; 131005 (access denied) |
 * | unavailable (retried) | HTTP 5xx, network errors and timeouts; 1, 2 (unknown / service), 131000 (something went wrong), 131016 (service unavailable) |
 * | rejected | anything else refused with a 4xx: 100 and 131008/131009 (bad parameter), 131051 (unsupported type), 131052/131053 (media), 132xxx (template) |
 */
export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_data?: { details?: string } | string;
  fbtrace_id?: string;
}

const RATE_LIMITED = new Set([4, 17, 32, 613, 80007, 130429, 131048, 131056]);
const WINDOW_SUBCODES = new Set([2534022, 2018278]);
const UNAVAILABLE = new Set([1, 2, 131000, 131016]);
const UNAUTHORIZED = new Set([0, 3, 10, 102, 190, 463, 467, 131005]);

export function graphFailureReason(status: number, e: GraphError | undefined): SendFailureReason {
  const code = e?.code;
  const sub = e?.error_subcode;
  if (status === 429 || (code !== undefined && RATE_LIMITED.has(code))) return 'rate_limited';
  if (code === 131047 || (sub !== undefined && WINDOW_SUBCODES.has(sub))) return 'window_closed';
  if (code === 131050 || code === 551) return 'blocked';
  if (code === 131026 || code === 131021 || sub === 2018001) return 'bad_recipient';
  if (status === 401 || (code !== undefined && (UNAUTHORIZED.has(code) || (code >= 200 && code < 300)))) {
    return 'unauthorized';
  }
  if (status >= 500 || (code !== undefined && UNAVAILABLE.has(code))) return 'unavailable';
  return 'rejected';
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSec(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const n = Number(header);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

export interface GraphRequest {
  method: 'GET' | 'POST';
  /** Path below the Graph root (`/106540352242922/messages`), or an absolute URL (a media download). */
  path: string;
  token: string;
  body?: unknown;
}

/** A Graph call answered 2xx, or a VendorSendError saying why not. */
export async function graphFetch(deps: SenderDeps, req: GraphRequest): Promise<Response> {
  const url = /^https?:\/\//.test(req.path) ? req.path : `${deps.urls.meta.replace(/\/+$/, '')}${req.path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: req.method,
      headers: {
        authorization: `Bearer ${req.token}`,
        ...(req.body !== undefined && { 'content-type': 'application/json' }),
      },
      body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
      signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    throw new VendorSendError('unavailable', `Graph API unreachable: ${(cause as Error).message}`, { cause });
  }
  if (res.ok) return res;
  const text = await res.text().catch(() => '');
  let error: GraphError | undefined;
  try {
    error = (JSON.parse(text) as { error?: GraphError }).error;
  } catch {
    error = undefined;
  }
  const reason = graphFailureReason(res.status, error);
  const details = typeof error?.error_data === 'object' ? error.error_data.details : error?.error_data;
  const message = [error?.message ?? `HTTP ${res.status}`, details].filter(Boolean).join(': ');
  throw new VendorSendError(reason, message.slice(0, 2_000), {
    vendorCode: error?.code !== undefined ? String(error.code) : String(res.status),
    retryAfterSec: reason === 'rate_limited' ? retryAfterSec(res.headers.get('retry-after')) : undefined,
  });
}

export async function graphJson<T>(deps: SenderDeps, req: GraphRequest): Promise<T> {
  const res = await graphFetch(deps, req);
  try {
    return (await res.json()) as T;
  } catch (cause) {
    throw new VendorSendError('unavailable', 'Graph API answered with a body that is not JSON', { cause });
  }
}

/**
 * A file's bytes. With a token, sent as Meta documents for WhatsApp media (the URL GET /{media-id} returned
 * wants the same bearer token); without one, a plain GET (Instagram CDN URLs are signed).
 */
export async function download(
  deps: SenderDeps,
  url: string,
  token: string | undefined,
): Promise<{ body: Buffer; mimeType?: string }> {
  let res: Response;
  if (token) res = await graphFetch(deps, { method: 'GET', path: url, token });
  else {
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000) });
    } catch (cause) {
      throw new VendorSendError('unavailable', `file unreachable: ${(cause as Error).message}`, { cause });
    }
    if (!res.ok) {
      throw new VendorSendError(
        res.status >= 500 ? 'unavailable' : 'rejected',
        `file download: HTTP ${res.status}`,
      );
    }
  }
  const mimeType = res.headers.get('content-type')?.split(';')[0]?.trim() || undefined;
  return { body: Buffer.from(await res.arrayBuffer()), mimeType };
}
