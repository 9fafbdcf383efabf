import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../lib/errors.js';

/**
 * The one place where errors become HTTP answers: `{ error: { code, message, fields } }` with the code's
 * status. Unexpected errors are logged and answered as INTERNAL without internals in the body.
 */
export function errorToHttp(err: unknown): AppError {
  if (isAppError(err)) return err;
  const fe = err as FastifyError & {
    validation?: { instancePath?: string; params?: { missingProperty?: string } }[];
  };
  if (fe?.validation) {
    const v = fe.validation[0];
    const field = [
      fe.validationContext,
      v?.instancePath?.replace(/^\//, '').replaceAll('/', '.') || v?.params?.missingProperty,
    ]
      .filter(Boolean)
      .join('.');
    return new AppError('VALIDATION', fe.message, { fields: field ? [field] : undefined });
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code =
      fe.statusCode === 404
        ? 'NOT_FOUND'
        : fe.statusCode === 429
          ? 'RATE_LIMITED'
          : fe.statusCode === 413
            ? 'VALIDATION'
            : 'VALIDATION';
    return new AppError(code, fe.message);
  }
  return new AppError('INTERNAL', 'internal error', { cause: err });
}

export function registerErrorHandler(app: FastifyInstance) {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = errorToHttp(err);
    if (e.code === 'INTERNAL') req.log.error({ err }, 'unhandled error');
    else if (e.status >= 500) req.log.warn({ err: e, cause: (e.cause as Error)?.message }, e.message);
    if (e.retryAfterSec) reply.header('Retry-After', String(e.retryAfterSec));
    return reply
      .status(e.status)
      .send({ error: { code: e.code, message: e.message, ...(e.fields ? { fields: e.fields } : {}) } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );
}
