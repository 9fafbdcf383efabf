import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../crm-core/db/database.js';
import { findOperatorByTokenHash } from '../crm-core/repositories/operator.repository.js';
import { hashToken } from '../crm-core/services/operator-tokens.js';
import { bearerToken, safeEqual } from '../lib/credentials.js';
import { AppError } from '../lib/errors.js';

/**
 * Bearer-token authentication for the HTTP API. Two kinds of callers:
 * - the administrator, holding config.adminToken (compared in constant time);
 * - operators, holding tokens issued by the admin API; only their SHA-256 is stored, so a token is looked up by
 *   its hash (operators.token_hash) and a deactivated operator's token stops working at once.
 */
export type Principal = { kind: 'admin' } | { kind: 'operator'; operatorId: number };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface AuthDeps {
  db: Queryable;
  adminToken: string;
}

export type AuthHook = (request: FastifyRequest) => Promise<void>;

function bearer(request: FastifyRequest): string {
  const token = bearerToken(request.headers.authorization);
  if (!token) {
    throw new AppError('UNAUTHORIZED', 'authorization: missing Bearer token', { fields: ['authorization'] });
  }
  return token;
}

const invalid = () =>
  new AppError('UNAUTHORIZED', 'authorization: invalid token', { fields: ['authorization'] });

/**
 * The hooks are used as onRequest hooks (they have the preHandler signature too): running before body parsing
 * and validation means an unauthenticated caller learns nothing about the schemas and costs no parsing.
 */
export function createAuth(deps: AuthDeps): { requireAdmin: AuthHook; requireOperator: AuthHook } {
  async function identify(request: FastifyRequest): Promise<Principal> {
    const token = bearer(request);
    if (safeEqual(token, deps.adminToken)) return { kind: 'admin' };
    const op = await findOperatorByTokenHash(deps.db, hashToken(token));
    if (!op) throw invalid();
    return { kind: 'operator', operatorId: op.id };
  }

  return {
    async requireAdmin(request) {
      const p = await identify(request);
      // A valid operator token is an identity without the right: 403, so a console can tell "log in again"
      // (401) from "not for you" (403). It discloses nothing a holder of that token does not already know.
      if (p.kind !== 'admin') {
        throw new AppError('FORBIDDEN', 'authorization: this route needs the admin token', {
          fields: ['authorization'],
        });
      }
      request.principal = p;
    },
    /**
     * Operators, and the admin on reads only: the admin may look at what operators see, but actions taken
     * "as me" (changing my status) need an operator identity.
     */
    async requireOperator(request) {
      const p = await identify(request);
      if (p.kind === 'admin' && request.method !== 'GET' && request.method !== 'HEAD') {
        throw new AppError(
          'FORBIDDEN',
          'authorization: this action needs an operator token, not the admin token',
          {
            fields: ['authorization'],
          },
        );
      }
      request.principal = p;
    },
  };
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
