import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { AppError } from '../lib/errors.js';
import { isPgError, toAppError } from './http-errors.js';
import { setStrictValidation } from './validation.js';

/** The one error body: `{ error: { code, message, fields? } }`. */
export const errorBody = (e: AppError) => ({
  error: { code: e.code, message: e.message, ...(e.fields ? { fields: e.fields } : {}) },
});

/** Kept for callers that want the translation without Fastify (tests, tools). */
export const errorToHttp = toAppError;

function send(e: AppError, reply: FastifyReply) {
  if (e.retryAfterSec) reply.header('Retry-After', String(e.retryAfterSec));
  return reply.status(e.status).send(errorBody(e));
}

/**
 * What Fastify answers before any route or hook runs (a URL it cannot decode, a path segment past
 * maxParamLength) and what Node's HTTP parser refuses (headers too large, a malformed request line) are
 * answered in the same format. These are constructor options, so every server is created with them.
 */
export function httpOptions(): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> {
  return {
    frameworkErrors: (err, _req, reply) => {
      void send(toAppError(err), reply);
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, code, message] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'HEADERS_TOO_LARGE', 'headers: the request headers are too large']
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'VALIDATION', 'request: timed out before it was complete']
            : [400, 'VALIDATION', 'request: malformed HTTP request'];
      const body = JSON.stringify({ error: { code, message, fields: [message.split(':')[0]] } });
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\n` +
            `Connection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy(err);
    },
  };
}

/**
 * The HTTP edge of a server: strict request validation (api/validation.ts), the one error handler and the
 * not-found answer. Plugins do not install error handlers of their own; whatever they throw reaches this one,
 * goes through toAppError and is written out in one format. Unexpected errors are logged and answered as
 * INTERNAL without internals in the body.
 */
export function registerErrorHandler(app: FastifyInstance) {
  setStrictValidation(app);
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = toAppError(err);
    if (e.code === 'INTERNAL') req.log.error({ err }, 'unhandled error');
    else if (e.status >= 500) req.log.warn({ err: e, cause: (e.cause as Error)?.message }, e.message);
    // A database refusing a value means a check above it let the value through: worth fixing, so logged.
    else if (e.code === 'VALIDATION' && isPgError(e.cause)) req.log.warn({ err: e.cause }, e.message);
    return send(e, reply);
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );
}
