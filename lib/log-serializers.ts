import { stdSerializers } from 'pino';

/**
 * Errors are logged by allow-list. A database error carries what it was given: PGlite's has `params` (an IMAP
 * password, a line secret, a client's phone) and `query`; PostgreSQL's `detail` repeats key values
 * (`Key (email)=(ivan@example.com)`) and its message may quote the value it refused. None of that may reach a
 * log, so only these fields are kept, quoted values in database messages are masked, and causes get the same.
 */
const KEEP = [
  'type',
  'message',
  'stack',
  'code',
  'severity',
  'constraint',
  'table',
  'column',
  'routine',
  'status',
  'statusCode',
  'retriable',
  'fields',
  'retryAfterSec',
] as const;

const isDatabaseError = (e: Record<string, unknown>) => typeof e.severity === 'string';
// `invalid input syntax for type integer: "abc"`, `value "x" is out of range`: the quoted part is data.
const maskQuoted = (text: string) => text.replace(/"[^"]*"/g, '"[redacted]"');

export function safeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) && (typeof err !== 'object' || err === null)) return err;
  const raw = stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const src = err as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of KEEP) if (raw[k] !== undefined) out[k] = raw[k];
  if (isDatabaseError(src)) {
    for (const k of ['message', 'stack'] as const)
      if (typeof out[k] === 'string') out[k] = maskQuoted(out[k] as string);
  }
  const cause = src.cause;
  if (cause !== undefined && depth < 5) out.cause = safeError(cause, depth + 1);
  return out;
}

/**
 * Some vendors put the line secret in the URL (`/cti/<line>/<secret>`, `/bitrix24/<line>/<secret>/<method>`,
 * `?auth=`): request URLs are logged with it masked. Replaces Fastify's `req` serializer.
 */
export function safeUrl(url: string): string {
  return url
    .replace(/(\/v1\/telephony\/cti\/[^/?]+\/)[^/?]+/, '$1[redacted]')
    .replace(/(\/v1\/telephony\/bitrix24\/[^/?]+\/)([^/?]+)(\/[^/?]+)/, '$1[redacted]$3')
    .replace(/([?&]auth=)[^&]*/gi, '$1[redacted]');
}

export function safeRequest(req: { method?: string; url?: string; ip?: string }) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? safeUrl(req.url) : undefined,
    remoteAddress: req.ip,
  };
}
