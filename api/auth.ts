import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Database } from '../crm-core/db/database.js';
import { findOperatorByTokenHash } from '../crm-core/repositories/operator.repository.js';
import { ADMIN_VIEWER, type Viewer } from '../crm-core/repositories/visibility.repository.js';
import { hashToken } from '../crm-core/services/operator-tokens.js';
import {
  createSessionService,
  csrfTokenFor,
  DEFAULT_SESSION_POLICY,
  type SessionService,
} from '../crm-core/services/session.service.js';
import { bearerToken, safeEqual } from '../lib/credentials.js';
import { AppError } from '../lib/errors.js';

/**
 * Authentication for the HTTP API. Three kinds of callers:
 * - the administrator, holding config.adminToken (compared in constant time);
 * - machines and scripts with an operator's API token (only its SHA-256 is stored, operators.token_hash); the
 *   token carries its operator's role and regions;
 * - people in a browser, with the session cookie set by POST /v1/session. A state-changing request made with
 *   the cookie must carry the session's CSRF token in X-CSRF-Token and must not come from another site
 *   (Origin / Sec-Fetch-Site). Bearer requests are not subject to this: browsers never add that header by
 *   themselves, so a forged cross-site request cannot carry it.
 * The hook resolves `request.viewer` ({operatorId, role, regionIds}) once; routes pass it to the repositories'
 * visibility conditions (crm-core/repositories/visibility.repository.ts).
 */
export type Principal = { kind: 'admin' } | { kind: 'operator'; operatorId: number };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    viewer?: Viewer;
    /** The session id from the cookie, when the request was authenticated by it. */
    sessionId?: string;
  }
}

export const SESSION_COOKIE = 'ci_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface AuthDeps {
  db: Database;
  adminToken: string;
  /** Sliding session lifetime in hours (SESSION_TTL_HOURS); 12 when absent. */
  sessionTtlHours?: number;
  /** Told after an operator's sessions ended, so their console sockets close at once (api/console/ws.ts). */
  onSessionsEnded?: (operatorId: number) => void;
}

export type AuthHook = (request: FastifyRequest) => Promise<void>;

export interface Auth {
  requireAdmin: AuthHook;
  requireOperator: AuthHook;
  sessions: SessionService;
}

const invalid = () =>
  new AppError('UNAUTHORIZED', 'authorization: invalid token', { fields: ['authorization'] });

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** scheme://host[:port] with the default port left out, as browsers write Origin; '' if unparsable. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/**
 * Refuses a browser request sent from another site: Sec-Fetch-Site (sent by every current browser) must be
 * same-origin or none (typed/bookmarked), and an Origin header, when present, must be this server's own.
 */
export function assertSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new AppError('FORBIDDEN', `origin: cross-site request refused (Sec-Fetch-Site: ${site})`, {
      fields: ['origin'],
    });
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== originOf(`${request.protocol}://${request.host}`)) {
    throw new AppError('FORBIDDEN', 'origin: request from another origin refused', { fields: ['origin'] });
  }
}

export const sessionCookieOf = (request: FastifyRequest): string | undefined =>
  request.cookies?.[SESSION_COOKIE] || undefined;

/**
 * Every plugin that authenticates calls this while registering: cookie parsing (@fastify/cookie) and the
 * request decorators the hooks fill. Registering twice in one context is avoided.
 */
export async function prepareAuth(app: FastifyInstance): Promise<void> {
  if (!app.hasRequestDecorator('cookies')) await app.register(cookie);
  for (const name of ['principal', 'viewer', 'sessionId'] as const) {
    if (!app.hasRequestDecorator(name)) app.decorateRequest(name, undefined);
  }
}

/**
 * The hooks are used as onRequest hooks: running before body parsing and validation means an unauthenticated
 * caller learns nothing about the schemas and costs no parsing.
 */
export function createAuth(deps: AuthDeps): Auth {
  const sessions = createSessionService(
    deps.db,
    {
      ...DEFAULT_SESSION_POLICY,
      ttlMs: (deps.sessionTtlHours ?? DEFAULT_SESSION_POLICY.ttlMs / 3_600_000) * 3_600_000,
    },
    deps.onSessionsEnded,
  );

  async function identify(request: FastifyRequest): Promise<void> {
    if (request.headers.authorization !== undefined) {
      const token = bearerToken(request.headers.authorization);
      if (!token) {
        throw new AppError('UNAUTHORIZED', 'authorization: missing Bearer token', {
          fields: ['authorization'],
        });
      }
      if (safeEqual(token, deps.adminToken)) {
        request.principal = { kind: 'admin' };
        request.viewer = ADMIN_VIEWER;
        return;
      }
      const op = await findOperatorByTokenHash(deps.db, hashToken(token));
      if (!op) throw invalid();
      request.principal = { kind: 'operator', operatorId: op.id };
      request.viewer = { operatorId: op.id, role: op.role, regionIds: op.region_ids };
      return;
    }
    const sid = sessionCookieOf(request);
    if (!sid) {
      throw new AppError('UNAUTHORIZED', 'authorization: missing Bearer token or session cookie', {
        fields: ['authorization'],
      });
    }
    const s = await sessions.resolve(sid);
    if (!s) {
      throw new AppError('UNAUTHORIZED', 'session: expired or signed out; sign in again', {
        fields: ['session'],
      });
    }
    if (!SAFE_METHODS.has(request.method)) {
      assertSameOrigin(request);
      const given = request.headers[CSRF_HEADER];
      if (typeof given !== 'string' || !safeEqual(given, csrfTokenFor(sid))) {
        throw new AppError('FORBIDDEN', `${CSRF_HEADER}: missing or wrong CSRF token`, {
          fields: [CSRF_HEADER],
        });
      }
    }
    request.sessionId = sid;
    request.principal = { kind: 'operator', operatorId: s.operatorId };
    request.viewer = { operatorId: s.operatorId, role: s.role, regionIds: s.regionIds };
  }

  return {
    sessions,
    async requireAdmin(request) {
      await identify(request);
      // A valid operator identity without the admin role is 403, so a console can tell "log in again" (401)
      // from "not for you" (403). It discloses nothing a holder of that identity does not already know.
      if (request.viewer?.role !== 'admin') {
        throw new AppError('FORBIDDEN', 'authorization: this route needs the admin role', {
          fields: ['authorization'],
        });
      }
    },
    /**
     * Operators, and the admin token on reads only: the admin may look at what operators see, but actions
     * taken "as me" (changing my status) need an operator identity.
     */
    async requireOperator(request) {
      await identify(request);
      if (request.principal?.kind === 'admin' && !SAFE_METHODS.has(request.method)) {
        throw new AppError(
          'FORBIDDEN',
          'authorization: this action needs an operator token, not the admin token',
          { fields: ['authorization'] },
        );
      }
    },
  };
}

/** The caller resolved by the auth hook; a route without one is a programming error, never "see all". */
export function viewerOf(request: FastifyRequest): Viewer {
  if (!request.viewer) throw new Error(`route ${request.routeOptions.url} has no auth hook (no viewer)`);
  return request.viewer;
}

/** The operator a "me" route acts for: the caller, or for the admin the one named by ?operatorId=. */
export function operatorOf(request: FastifyRequest, operatorId?: number): number {
  const p = request.principal;
  if (p?.kind === 'operator') return p.operatorId;
  if (operatorId !== undefined) return operatorId;
  throw new AppError('VALIDATION', 'operatorId: required with the admin token (there is no "me")', {
    fields: ['operatorId'],
  });
}
