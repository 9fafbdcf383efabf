import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getOperator } from '../../crm-core/repositories/operator.repository.js';
import { listRegions } from '../../crm-core/repositories/region.repository.js';
import { csrfTokenFor, PASSWORD_MAX, PASSWORD_MIN } from '../../crm-core/services/session.service.js';
import { AppError } from '../../lib/errors.js';
import { assertSameOrigin, operatorOf, SESSION_COOKIE, viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

/**
 * Browser sign-in. The cookie is HttpOnly (scripts cannot read it), SameSite=Lax (not sent on cross-site
 * sub-requests or form posts), Secure when the request came over https (behind a proxy: TRUST_PROXY and
 * X-Forwarded-Proto), and has no Max-Age: the server-side expiry (SESSION_TTL_HOURS, sliding) is what counts.
 */
const cookieOptions = (request: FastifyRequest): CookieSerializeOptions => ({
  httpOnly: true,
  sameSite: 'lax',
  secure: request.protocol === 'https',
  path: '/',
});

const me = s.obj(
  {
    operator: { ...s.operator, nullable: true },
    role: { type: 'string', enum: ['operator', 'supervisor', 'admin'] },
    regionIds: { type: 'array', items: s.int },
    /** The caller's regions with their names (the console names a new caller's region with them). */
    regions: { type: 'array', items: s.regionBrief },
    via: { type: 'string', enum: ['session', 'token'] },
    csrfToken: s.str,
    expiresAt: s.time,
  },
  ['operator', 'role', 'regionIds', 'via'],
);
const password = { type: 'string', minLength: 1, maxLength: PASSWORD_MAX } as const;

export function sessionRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { sessions } = ctx.auth;
  const regionsOf = async (ids: readonly number[]) =>
    (await listRegions(ctx.db))
      .filter((r) => ids.includes(r.id))
      .map((r) => ({ id: r.id, code: r.code, name: r.name }));

  app.post<{ Body: { login: string; password: string } }>(
    '/v1/session',
    {
      // Same-origin only, so another site cannot sign a visitor into an account of its choosing.
      onRequest: async (request) => assertSameOrigin(request),
      schema: {
        tags: ['session'],
        summary: 'Sign in with login and password; sets the session cookie and returns the CSRF token',
        security: [],
        description:
          'Wrong passwords are counted per login and per client address; past a few, further attempts are ' +
          'answered 429 with Retry-After (doubling, up to 15 minutes) whether or not the login exists. Send the ' +
          'returned csrfToken as X-CSRF-Token on every state-changing request made with the cookie.',
        body: s.body({ login: { type: 'string', minLength: 1, maxLength: 64 }, password }, [
          'login',
          'password',
        ]),
        response: { 200: me, ...s.errors(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const signed = await sessions.signIn({
        login: request.body.login,
        password: request.body.password,
        ip: request.ip ?? null,
        userAgent: request.headers['user-agent'] ?? null,
      });
      const op = (await getOperator(ctx.db, signed.operatorId))!;
      reply.setCookie(SESSION_COOKIE, signed.sessionId, cookieOptions(request));
      reply.header('cache-control', 'no-store');
      return {
        operator: camel(op),
        role: op.role,
        regionIds: op.region_ids,
        regions: await regionsOf(op.region_ids),
        via: 'session',
        csrfToken: signed.csrfToken,
        expiresAt: signed.expiresAt.toISOString(),
      };
    },
  );

  app.delete(
    '/v1/session',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['session'],
        summary: 'Sign out: the session is revoked and the cookie cleared',
        security: s.security,
        response: { 204: { type: 'null' }, ...s.errors(401, 403) },
      },
    },
    async (request, reply) => {
      if (request.sessionId) await sessions.signOut(request.sessionId);
      return reply.clearCookie(SESSION_COOKIE, cookieOptions(request)).code(204).send();
    },
  );

  app.get(
    '/v1/me',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['session'],
        summary:
          'Who am I: operator, role, regions; with the cookie also the CSRF token (for a reloaded page)',
        security: s.security,
        response: { 200: me, ...s.errors(401) },
      },
    },
    async (request, reply) => {
      const v = viewerOf(request);
      reply.header('cache-control', 'no-store');
      const op = v.operatorId != null ? await getOperator(ctx.db, v.operatorId) : undefined;
      return {
        operator: op ? camel(op) : null,
        role: v.role,
        regionIds: v.regionIds,
        regions: await regionsOf(v.regionIds),
        via: request.sessionId ? 'session' : 'token',
        ...(request.sessionId ? { csrfToken: csrfTokenFor(request.sessionId) } : {}),
      };
    },
  );

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/v1/me/password',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['session'],
        summary: "Change the caller's password (the current one is required); other sessions are signed out",
        security: s.security,
        body: s.body(
          {
            currentPassword: password,
            newPassword: { type: 'string', minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX },
          },
          ['currentPassword', 'newPassword'],
        ),
        response: { 204: { type: 'null' }, ...s.errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const id = operatorOf(request);
      if (request.body.newPassword === request.body.currentPassword) {
        throw new AppError('VALIDATION', 'newPassword: must differ from the current one', {
          fields: ['newPassword'],
        });
      }
      await sessions.changePassword(
        id,
        request.body.currentPassword,
        request.body.newPassword,
        request.sessionId,
      );
      return reply.code(204).send();
    },
  );
}
