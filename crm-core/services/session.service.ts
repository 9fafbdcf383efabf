import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../lib/errors.js';
import { hashPassword, needsRehash, verifyPassword } from '../../lib/password.js';
import type { Database } from '../db/database.js';
import * as repo from '../repositories/session.repository.js';
import type { Viewer } from '../repositories/visibility.repository.js';

/**
 * Sign-in with login and password, browser sessions, and the wrong-password slowdown.
 *
 * Session ids are 32 random bytes; only their SHA-256 is stored. The CSRF token is derived from the session id
 * (SHA-256 of "csrf:" + id): a page on another site cannot read the cookie, so it cannot compute the token,
 * and nothing more has to be stored or looked up.
 *
 * Slowdown: failures are counted per submitted login and per client address in PostgreSQL (so every instance
 * sees them). From the `freeFailures`-th failure within `windowMs` on, each failure blocks the key for
 * baseBlockMs·2^(n-free) (30 s, 1 min, 2 min...), up to maxBlockMs; a blocked key is answered 429 with Retry-After without checking
 * the password. An unknown login is counted and timed exactly like a known one (a decoy scrypt runs), so
 * neither the answer nor its timing says whether the login exists.
 */
export interface SessionPolicy {
  /** Sliding session lifetime: each authenticated request moves expiry to now + ttlMs. */
  ttlMs: number;
  /** Per login: failures allowed before blocking starts. */
  loginFreeFailures: number;
  /** Per client address: higher, as a whole office may sign in from one NAT address. */
  ipFreeFailures: number;
  baseBlockMs: number;
  maxBlockMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = Object.freeze({
  ttlMs: 12 * 3_600_000,
  loginFreeFailures: 5,
  ipFreeFailures: 30,
  baseBlockMs: 30_000,
  maxBlockMs: 15 * 60_000,
  windowMs: 15 * 60_000,
});

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export const hashSessionId = (id: string) => createHash('sha256').update(id).digest('hex');
export const csrfTokenFor = (sessionId: string) =>
  createHash('sha256').update(`csrf:${sessionId}`).digest('base64url');

export interface SignedIn {
  sessionId: string;
  csrfToken: string;
  operatorId: number;
  expiresAt: Date;
}

export interface SessionService {
  readonly policy: SessionPolicy;
  signIn(a: {
    login: string;
    password: string;
    ip: string | null;
    userAgent: string | null;
  }): Promise<SignedIn>;
  /** The viewer behind a session id, sliding its expiry; undefined if the session is not live. */
  resolve(sessionId: string): Promise<(Viewer & { operatorId: number; expiresAt: Date }) | undefined>;
  signOut(sessionId: string): Promise<void>;
  /** Which of these session ids are still live (not revoked, not expired), without sliding their expiry. */
  live(sessionIds: string[]): Promise<Set<string>>;
  revokeAll(operatorId: number): Promise<number>;
  setPassword(operatorId: number, password: string): Promise<boolean>;
  changePassword(operatorId: number, current: string, next: string, keepSessionId?: string): Promise<void>;
}

const wrong = () =>
  new AppError('UNAUTHORIZED', 'login, password: wrong login or password', { fields: ['login', 'password'] });

function checkStrength(password: string, field: string) {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new AppError('VALIDATION', `${field}: must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, {
      fields: [field],
    });
  }
}

export function createSessionService(
  db: Database,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  /** Told after an operator's sessions were ended (sign-out, revocation, password change): sockets close. */
  onEnded: (operatorId: number) => void = () => {},
): SessionService {
  const block = (free: number) => (failures: number) =>
    failures < free ? 0 : Math.min(policy.maxBlockMs, policy.baseBlockMs * 2 ** (failures - free));

  return {
    policy,
    async signIn({ login, password, ip, userAgent }) {
      const keys = [`login:${login.toLowerCase()}`, ...(ip ? [`ip:${ip}`] : [])];
      const wait = await repo.blockedForSec(db, keys);
      if (wait > 0) {
        throw new AppError('RATE_LIMITED', 'login: too many wrong passwords; try again later', {
          fields: ['login'],
          retryAfterSec: wait,
        });
      }
      const op = await repo.findOperatorByLogin(db, login);
      // Always one scrypt, whether or not the operator exists, has a password or is active.
      const ok = await verifyPassword(password, op?.active ? op.password_hash : undefined);
      if (!op || !ok) {
        await repo.recordFailure(db, keys[0]!, policy.windowMs, block(policy.loginFreeFailures));
        if (keys[1]) await repo.recordFailure(db, keys[1], policy.windowMs, block(policy.ipFreeFailures));
        throw wrong();
      }
      // A success forgives the login's failures, not the address's: one good account must not reset an
      // address that is guessing at others.
      await repo.clearFailures(db, keys[0]!);
      if (op.password_hash && needsRehash(op.password_hash)) {
        await repo.setPasswordHash(db, op.id, await hashPassword(password));
      }
      const sessionId = randomBytes(32).toString('base64url');
      const expiresAt = await repo.insertSession(db, {
        idHash: hashSessionId(sessionId),
        operatorId: op.id,
        ttlMs: policy.ttlMs,
        ip,
        userAgent: userAgent?.slice(0, 512) ?? null,
      });
      return { sessionId, csrfToken: csrfTokenFor(sessionId), operatorId: op.id, expiresAt };
    },

    async resolve(sessionId) {
      const s = await repo.useSession(db, hashSessionId(sessionId), policy.ttlMs);
      if (!s) return undefined;
      return { operatorId: s.operator_id, role: s.role, regionIds: s.region_ids, expiresAt: s.expires_at };
    },

    async signOut(sessionId) {
      const operatorId = await repo.revokeSession(db, hashSessionId(sessionId));
      if (operatorId !== undefined) onEnded(operatorId);
    },

    async live(sessionIds) {
      const hashes = new Map(sessionIds.map((id) => [hashSessionId(id), id]));
      const live = await repo.liveSessionHashes(db, [...hashes.keys()]);
      return new Set([...live].map((h) => hashes.get(h)!));
    },

    async revokeAll(operatorId) {
      const n = await repo.revokeOperatorSessions(db, operatorId);
      if (n > 0) onEnded(operatorId);
      return n;
    },

    async setPassword(operatorId, password) {
      checkStrength(password, 'password');
      return repo.setPasswordHash(db, operatorId, await hashPassword(password));
    },

    async changePassword(operatorId, current, next, keepSessionId) {
      checkStrength(next, 'newPassword');
      const stored = await repo.passwordHashOf(db, operatorId);
      if (!(await verifyPassword(current, stored))) {
        throw new AppError('FORBIDDEN', 'currentPassword: does not match', { fields: ['currentPassword'] });
      }
      const hash = await hashPassword(next);
      await db.transaction(async (tx) => {
        await repo.setPasswordHash(tx, operatorId, hash);
        // Whoever else held a session with the old password loses it; the caller stays signed in.
        await repo.revokeOperatorSessions(
          tx,
          operatorId,
          keepSessionId ? hashSessionId(keepSessionId) : null,
        );
      });
      onEnded(operatorId);
    },
  };
}
