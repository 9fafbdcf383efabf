import type { Queryable } from '../db/database.js';
import type { OwnerType } from './identity.repository.js';
import { ADMIN_VIEWER, entityRefVisibleSql, type Viewer } from './visibility.repository.js';

export interface DuplicateCandidate {
  eventId: string;
  chosenType: string;
  chosenId: number;
  otherType: string;
  otherId: number;
  identityKind: string;
  identityValue: string;
}

export async function insertDuplicateCandidates(db: Queryable, rows: DuplicateCandidate[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof DuplicateCandidate>(k: K) => rows.map((r) => r[k]);
  await db.query(
    `INSERT INTO duplicate_candidates (event_id, chosen_type, chosen_id, other_type, other_id, identity_kind, identity_value)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[])
     ON CONFLICT (chosen_type, chosen_id, other_type, other_id) DO NOTHING`,
    [
      col('eventId'),
      col('chosenType'),
      col('chosenId'),
      col('otherType'),
      col('otherId'),
      col('identityKind'),
      col('identityValue'),
    ],
  );
}

export interface CandidateRow {
  id: number;
  event_id: string;
  chosen_type: OwnerType;
  chosen_id: number;
  other_type: OwnerType;
  other_id: number;
  identity_kind: string;
  identity_value: string;
  resolved: boolean;
  resolution: 'merged' | 'dismissed' | 'superseded' | null;
  resolved_at: Date | null;
  resolved_by: number | null;
  survivor_type: OwnerType | null;
  survivor_id: number | null;
  created_at: Date;
}

/** A pair is listed to whoever may see either of its entities (crm-core/repositories/visibility.repository.ts). */
export async function listCandidates(
  db: Queryable,
  f: { state: 'open' | 'resolved' | 'all'; limit: number; offset: number },
  viewer: Viewer = ADMIN_VIEWER,
): Promise<CandidateRow[]> {
  const params: unknown[] = [f.state, f.limit, f.offset];
  const chosen = entityRefVisibleSql(viewer, params, 'd.chosen_type', 'd.chosen_id');
  const other = entityRefVisibleSql(viewer, params, 'd.other_type', 'd.other_id');
  return (
    await db.query<CandidateRow>(
      `SELECT d.* FROM duplicate_candidates d
        WHERE ($1 = 'all' OR d.resolved = ($1 = 'resolved')) AND (${chosen} OR ${other})
        ORDER BY d.id DESC LIMIT $2 OFFSET $3`,
      params,
    )
  ).rows;
}

export async function lockCandidate(db: Queryable, id: number): Promise<CandidateRow | undefined> {
  return (await db.query<CandidateRow>('SELECT * FROM duplicate_candidates WHERE id = $1 FOR UPDATE', [id]))
    .rows[0];
}

export async function resolveCandidate(
  db: Queryable,
  id: number,
  r: { resolution: 'merged' | 'dismissed'; by: number; survivor: { type: string; id: number } | null },
): Promise<CandidateRow> {
  return (
    await db.query<CandidateRow>(
      `UPDATE duplicate_candidates SET resolved = true, resolution = $2, resolved_by = $3, resolved_at = now(),
              survivor_type = $4, survivor_id = $5
        WHERE id = $1 RETURNING *`,
      [id, r.resolution, r.by, r.survivor?.type ?? null, r.survivor?.id ?? null],
    )
  ).rows[0]!;
}

/**
 * After `from` was merged or converted into `to`: open candidates naming `from` are settled as superseded, and
 * the same questions are asked again about `to` (unless they now pair `to` with itself).
 */
export async function supersedeCandidates(
  db: Queryable,
  from: { type: string; id: number },
  to: { type: string; id: number },
): Promise<void> {
  await db.query(
    `WITH old AS (
       UPDATE duplicate_candidates SET resolved = true, resolution = 'superseded', resolved_at = now(),
              survivor_type = $3, survivor_id = $4
        WHERE NOT resolved AND ((chosen_type = $1 AND chosen_id = $2) OR (other_type = $1 AND other_id = $2))
        RETURNING *
     ), again AS (
       SELECT event_id,
              CASE WHEN chosen_type = $1 AND chosen_id = $2 THEN $3 ELSE chosen_type END AS chosen_type,
              CASE WHEN chosen_type = $1 AND chosen_id = $2 THEN $4 ELSE chosen_id END AS chosen_id,
              CASE WHEN other_type = $1 AND other_id = $2 THEN $3 ELSE other_type END AS other_type,
              CASE WHEN other_type = $1 AND other_id = $2 THEN $4 ELSE other_id END AS other_id,
              identity_kind, identity_value
         FROM old
     )
     INSERT INTO duplicate_candidates (event_id, chosen_type, chosen_id, other_type, other_id, identity_kind, identity_value)
     SELECT * FROM again WHERE NOT (chosen_type = other_type AND chosen_id = other_id)
     ON CONFLICT (chosen_type, chosen_id, other_type, other_id) DO NOTHING`,
    [from.type, from.id, to.type, to.id],
  );
}
