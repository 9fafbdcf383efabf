import type { Queryable } from '../db/database.js';
import type { Role } from './visibility.repository.js';

/* Browser sessions and the wrong-password counters (migration 013). Session ids arrive here already hashed. */

export interface SignInOperator {
  id: number;
  password_hash: string | null;
  active: boolean;
}

export async function findOperatorByLogin(db: Queryable, login: string): Promise<SignInOperator | undefined> {
  return (
    await db.query<SignInOperator>('SELECT id, password_hash, active FROM operators WHERE login = $1', [
      login,
    ])
  ).rows[0];
}

export async function passwordHashOf(db: Queryable, operatorId: number): Promise<string | null | undefined> {
  return (
    await db.query<{ password_hash: string | null }>('SELECT password_hash FROM operators WHERE id = $1', [
      operatorId,
    ])
  ).rows[0]?.password_hash;
}

export async function setPasswordHash(db: Queryable, operatorId: number, hash: string): Promise<boolean> {
  return (
    (await db.query('UPDATE operators SET password_hash = $2 WHERE id = $1', [operatorId, hash])).rowCount > 0
  );
}

export async function insertSession(
  db: Queryable,
  s: { idHash: string; operatorId: number; ttlMs: number; ip: string | null; userAgent: string | null },
): Promise<Date> {
  const r = await db.query<{ expires_at: Date }>(
    `INSERT INTO sessions (id_hash, operator_id, expires_at, ip, user_agent)
     VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1000), $4, $5) RETURNING expires_at`,
    [s.idHash, s.operatorId, s.ttlMs, s.ip, s.userAgent],
  );
  return r.rows[0]!.expires_at;
}

export interface SessionOperator {
  operator_id: number;
  role: Role;
  region_ids: number[];
  expires_at: Date;
}

/**
 * Sessions slide their expiry at most once a minute: a console makes many requests a minute, and writing the
 * session row on each of them would turn every read into a write (row churn, WAL) for no visible gain.
 */
const SESSION_TOUCH_EVERY_SEC = 60;

/**
 * The live session's operator, sliding its expiry forward by ttlMs in the same statement (when it was last
 * slid more than a minute ago). Nothing for an unknown, expired or revoked session, or a deactivated operator.
 */
export async function useSession(
  db: Queryable,
  idHash: string,
  ttlMs: number,
): Promise<SessionOperator | undefined> {
  const r = await db.query<SessionOperator>(
    `WITH live AS (
       SELECT id_hash, operator_id, expires_at, last_seen_at FROM sessions
        WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > now()
          AND EXISTS (SELECT 1 FROM operators o WHERE o.id = sessions.operator_id AND o.active)
     ), touched AS (
       UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2::float8 / 1000)
        WHERE id_hash IN (SELECT id_hash FROM live WHERE last_seen_at < now() - make_interval(secs => $3))
        RETURNING expires_at
     )
     SELECT l.operator_id, o.role, COALESCE((SELECT expires_at FROM touched), l.expires_at) AS expires_at,
            COALESCE(array_agg(r.region_id ORDER BY r.region_id) FILTER (WHERE r.region_id IS NOT NULL), '{}') AS region_ids
       FROM live l JOIN operators o ON o.id = l.operator_id
       LEFT JOIN operator_regions r ON r.operator_id = o.id
      GROUP BY l.operator_id, o.role, l.expires_at`,
    [idHash, ttlMs, SESSION_TOUCH_EVERY_SEC],
  );
  return r.rows[0];
}

/** Revokes one session; the operator it belonged to, or undefined if it was not live. */
export async function revokeSession(db: Queryable, idHash: string): Promise<number | undefined> {
  const r = await db.query<{ operator_id: number }>(
    'UPDATE sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL RETURNING operator_id',
    [idHash],
  );
  return r.rows[0]?.operator_id;
}

/** Revokes every live session of the operator except `keepIdHash` (the caller's own, after a password change). */
export async function revokeOperatorSessions(
  db: Queryable,
  operatorId: number,
  keepIdHash: string | null = null,
): Promise<number> {
  return (
    await db.query(
      `UPDATE sessions SET revoked_at = now()
        WHERE operator_id = $1 AND revoked_at IS NULL AND expires_at > now() AND id_hash IS DISTINCT FROM $2`,
      [operatorId, keepIdHash],
    )
  ).rowCount;
}

/** Seconds until the longest block among `keys` ends; 0 when none is blocked. */
export async function blockedForSec(db: Queryable, keys: string[]): Promise<number> {
  const r = await db.query<{ sec: number | null }>(
    `SELECT ceil(extract(epoch FROM max(blocked_until) - now()))::int AS sec
       FROM sign_in_failures WHERE key = ANY($1::text[]) AND blocked_until > now()`,
    [keys],
  );
  return Math.max(0, r.rows[0]?.sec ?? 0);
}

/**
 * Counts one more failure for `key` (restarting from 1 when the last one is older than windowMs) and blocks the
 * key for blockMs(count) from now. One statement, so concurrent attempts on several instances all count.
 */
export async function recordFailure(
  db: Queryable,
  key: string,
  windowMs: number,
  blockMs: (failures: number) => number,
): Promise<number> {
  const r = await db.query<{ failures: number }>(
    `INSERT INTO sign_in_failures AS f (key, failures, last_failure_at, blocked_until) VALUES ($1, 1, now(), now())
     ON CONFLICT (key) DO UPDATE SET
       failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => $2::float8 / 1000) THEN 1 ELSE f.failures + 1 END,
       last_failure_at = now()
     RETURNING failures`,
    [key, windowMs],
  );
  const failures = r.rows[0]!.failures;
  const ms = blockMs(failures);
  if (ms > 0) {
    await db.query(
      `UPDATE sign_in_failures SET blocked_until = now() + make_interval(secs => $2::float8 / 1000) WHERE key = $1`,
      [key, ms],
    );
  }
  return failures;
}

export async function clearFailures(db: Queryable, key: string): Promise<void> {
  await db.query('DELETE FROM sign_in_failures WHERE key = $1', [key]);
}

/** Which of these sessions are still live, without sliding them (an open console socket is not activity). */
export async function liveSessionHashes(db: Queryable, idHashes: string[]): Promise<Set<string>> {
  if (idHashes.length === 0) return new Set();
  const r = await db.query<{ id_hash: string }>(
    `SELECT s.id_hash FROM sessions s JOIN operators o ON o.id = s.operator_id AND o.active
      WHERE s.id_hash = ANY($1::text[]) AND s.revoked_at IS NULL AND s.expires_at > now()`,
    [idHashes],
  );
  return new Set(r.rows.map((x) => x.id_hash));
}
