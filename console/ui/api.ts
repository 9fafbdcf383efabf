/**
 * The console's only way to the server: JSON over fetch with the session cookie. Every state-changing request
 * carries the session's CSRF token (X-CSRF-Token); a 401 means the session ended, and the app shows sign-in.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
    /** Seconds, from Retry-After (429, 503). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => {};

export function setCsrfToken(token: string): void {
  csrfToken = token;
}
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T = unknown>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  if (method !== 'GET') h['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    // Signing in with a wrong password is also 401; only a request made while signed in ends the session.
    if (res.status === 401 && path !== '/v1/session') onSignedOut();
    const retryAfter = Number(res.headers.get('retry-after')) || undefined;
    throw new ApiError(res.status, err?.code ?? 'HTTP', err?.message ?? res.statusText, data, retryAfter);
  }
  return data as T;
}

/** A random key so a repeated click or a retried request never sends a reply twice. */
export const idempotencyKey = (): string => crypto.randomUUID();
