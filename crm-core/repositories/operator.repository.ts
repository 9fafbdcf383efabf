import type { Queryable } from '../db/database.js';
import type { Role } from './visibility.repository.js';

export interface OperatorRow {
  id: number;
  login: string;
  name: string;
  email: string | null;
  extension: string | null;
  status: 'online' | 'away' | 'offline';
  active: boolean;
  role: Role;
  /** Whether a password is set (the hash itself never leaves the session repository). */
  has_password: boolean;
  created_at: Date;
  region_ids: number[];
}

const SELECT = `SELECT o.id, o.login, o.name, o.email, o.extension, o.status, o.active, o.role,
  o.password_hash IS NOT NULL AS has_password, o.created_at,
  COALESCE(array_agg(r.region_id ORDER BY r.region_id) FILTER (WHERE r.region_id IS NOT NULL), '{}') AS region_ids
  FROM operators o LEFT JOIN operator_regions r ON r.operator_id = o.id`;

export async function listOperators(db: Queryable): Promise<OperatorRow[]> {
  return (await db.query<OperatorRow>(`${SELECT} GROUP BY o.id ORDER BY o.id`)).rows;
}

export async function getOperator(db: Queryable, id: number): Promise<OperatorRow | undefined> {
  return (await db.query<OperatorRow>(`${SELECT} WHERE o.id = $1 GROUP BY o.id`, [id])).rows[0];
}

export async function findOperatorByTokenHash(
  db: Queryable,
  tokenHash: string,
): Promise<OperatorRow | undefined> {
  return (
    await db.query<OperatorRow>(`${SELECT} WHERE o.token_hash = $1 AND o.active GROUP BY o.id`, [tokenHash])
  ).rows[0];
}

export interface OperatorInput {
  login: string;
  name: string;
  email?: string | null;
  extension?: string | null;
  status?: 'online' | 'away' | 'offline';
  active?: boolean;
  role?: Role;
  regionIds?: number[];
}

export async function insertOperator(db: Queryable, o: OperatorInput, tokenHash: string): Promise<number> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO operators (login, name, email, extension, status, active, token_hash, role)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [
      o.login,
      o.name,
      o.email ?? null,
      o.extension ?? null,
      o.status ?? 'offline',
      o.active ?? true,
      tokenHash,
      o.role ?? 'operator',
    ],
  );
  const id = r.rows[0]!.id;
  if (o.regionIds) await setOperatorRegions(db, id, o.regionIds);
  return id;
}

export async function updateOperator(db: Queryable, id: number, o: Partial<OperatorInput>): Promise<boolean> {
  const r = await db.query(
    `UPDATE operators SET login = COALESCE($2, login), name = COALESCE($3, name), email = COALESCE($4, email),
            extension = COALESCE($5, extension), status = COALESCE($6, status), active = COALESCE($7, active),
            role = COALESCE($8, role)
      WHERE id = $1`,
    [
      id,
      o.login ?? null,
      o.name ?? null,
      o.email ?? null,
      o.extension ?? null,
      o.status ?? null,
      o.active ?? null,
      o.role ?? null,
    ],
  );
  if (r.rowCount && o.regionIds) await setOperatorRegions(db, id, o.regionIds);
  return r.rowCount > 0;
}

export async function setOperatorToken(db: Queryable, id: number, tokenHash: string): Promise<boolean> {
  return (await db.query('UPDATE operators SET token_hash = $2 WHERE id = $1', [id, tokenHash])).rowCount > 0;
}

/** Operators are never deleted (history points at them): they are deactivated. */
export async function deactivateOperator(db: Queryable, id: number): Promise<boolean> {
  return (
    (await db.query(`UPDATE operators SET active = false, status = 'offline' WHERE id = $1`, [id])).rowCount >
    0
  );
}

async function setOperatorRegions(db: Queryable, id: number, regionIds: number[]) {
  await db.query('DELETE FROM operator_regions WHERE operator_id = $1', [id]);
  await db.query('INSERT INTO operator_regions (operator_id, region_id) SELECT $1, unnest($2::int[])', [
    id,
    regionIds,
  ]);
}

/** An operator's load, as least-loaded assignment weighs it: open leads + planned activities (`op`: operators alias). */
export const OPERATOR_LOAD_SQL = (op: string) =>
  `((SELECT count(*)::int FROM leads l WHERE l.responsible_id = ${op}.id AND l.status IN ('new', 'in_progress'))
  + (SELECT count(*)::int FROM activities a WHERE a.responsible_id = ${op}.id AND a.state = 'planned'))`;

/**
 * Candidates for assignment in these regions. Their load (open leads + planned activities) is counted only
 * for the regions in `loadFor` (least-loaded ones): round robin does not need it and it is the costly part.
 */
export async function regionCandidates(db: Queryable, regionIds: number[], loadFor: number[] = regionIds) {
  if (regionIds.length === 0) return [];
  return (
    await db.query<{ region_id: number; operator_id: number; status: string; load: number }>(
      `SELECT r.region_id, o.id AS operator_id, o.status,
              CASE WHEN r.region_id = ANY($2::int[]) THEN ${OPERATOR_LOAD_SQL('o')} ELSE 0 END AS load
         FROM operator_regions r JOIN operators o ON o.id = r.operator_id
        WHERE r.region_id = ANY($1::int[]) AND o.active
        ORDER BY r.region_id, o.id`,
      [regionIds, loadFor],
    )
  ).rows;
}

export async function activeOperatorIds(db: Queryable, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const r = await db.query<{ id: number }>('SELECT id FROM operators WHERE id = ANY($1::int[]) AND active', [
    ids,
  ]);
  return new Set(r.rows.map((x) => x.id));
}

/** Operators by PBX extension (call events name the extension that answered). */
export async function operatorsByExtensions(
  db: Queryable,
  extensions: string[],
): Promise<Map<string, number>> {
  if (extensions.length === 0) return new Map();
  const r = await db.query<{ id: number; extension: string }>(
    'SELECT id, extension FROM operators WHERE extension = ANY($1::text[])',
    [extensions],
  );
  return new Map(r.rows.map((x) => [x.extension, x.id]));
}

/**
 * The supervisor an escalation goes to: an active supervisor of the region other than `exclude`, one who is
 * online first, then the lowest id (a stable choice).
 */
export async function regionSupervisor(
  db: Queryable,
  regionId: number,
  exclude: number | null,
): Promise<number | undefined> {
  const r = await db.query<{ id: number }>(
    `SELECT o.id FROM operators o JOIN operator_regions r ON r.operator_id = o.id
      WHERE r.region_id = $1 AND o.role = 'supervisor' AND o.active AND o.id IS DISTINCT FROM $2
      ORDER BY (o.status = 'online') DESC, o.id LIMIT 1`,
    [regionId, exclude],
  );
  return r.rows[0]?.id;
}
