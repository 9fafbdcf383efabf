import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FormSettings } from '../../channels/settings.js';
import { AppError } from '../../lib/errors.js';

/**
 * Per-form CORS. @fastify/cors takes one policy per scope, but here every form has its own allow-list
 * (FormSettings.allowedOrigins, looked up per request), so the few headers are written by hand.
 * CORS alone only stops browsers from reading the answer; a browser POST from a foreign page would still be
 * processed, so a POST whose Origin is not allowed is refused outright (403) and nothing is published.
 */

export const ALLOWED_METHODS = 'POST, OPTIONS';
export const ALLOWED_HEADERS = 'Content-Type, Accept, Idempotency-Key';
export const PREFLIGHT_MAX_AGE_SEC = 600;

const canonical = (origin: string) => origin.trim().toLowerCase().replace(/\/+$/, '');

export function originAllowed(origin: string, form: FormSettings, host?: string): boolean {
  if (form.allowedOrigins.includes('*')) return true;
  const o = canonical(origin);
  if (form.allowedOrigins.some((a) => canonical(a) === o)) return true;
  // A page served by this service itself (a demo or hosted form) is same-origin, not cross-origin.
  try {
    return host !== undefined && new URL(o).host === host.toLowerCase();
  } catch {
    return false; // `Origin: null` (sandboxed iframe, file://) and garbage
  }
}

/**
 * For a POST: no Origin (server-to-server, curl, old browsers) passes; an allowed one gets
 * Access-Control-Allow-Origin (also on error answers, so browser code can read the error); others get 403.
 */
export function checkOrigin(request: FastifyRequest, reply: FastifyReply, form: FormSettings): void {
  const origin = request.headers.origin;
  reply.header('vary', 'Origin');
  if (!origin) return;
  if (!originAllowed(origin, form, request.headers.host)) {
    throw new AppError('FORBIDDEN', `origin ${origin} is not allowed to post form "${form.key}"`, {
      fields: ['origin'],
    });
  }
  reply.header('access-control-allow-origin', form.allowedOrigins.includes('*') ? '*' : origin);
}

/** OPTIONS preflight: the same allow-list; the caller answers 204. */
export function preflight(request: FastifyRequest, reply: FastifyReply, form: FormSettings): void {
  checkOrigin(request, reply, form);
  reply.header('allow', ALLOWED_METHODS);
  if (!request.headers.origin) return;
  reply.header('access-control-allow-methods', ALLOWED_METHODS);
  reply.header('access-control-allow-headers', ALLOWED_HEADERS);
  reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SEC));
}
