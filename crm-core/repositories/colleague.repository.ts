import type { Queryable } from '../db/database.js';

export interface ColleagueRow {
  id: number;
  name: string;
  status: string;
  region_ids: number[];
}

/**
 * Active operators who share a region with `regionIds` (null: every active operator), for the console's
 * transfer list: names and presence only, nothing about their clients.
 */
export async function listColleagues(
  db: Queryable,
  regionIds: readonly number[] | null,
): Promise<ColleagueRow[]> {
  const r = await db.query<ColleagueRow>(
    `SELECT o.id, o.name, o.status,
            COALESCE(array_agg(r.region_id ORDER BY r.region_id) FILTER (WHERE r.region_id IS NOT NULL), '{}')
              AS region_ids
       FROM operators o LEFT JOIN operator_regions r ON r.operator_id = o.id
      WHERE o.active
        AND ($1::int[] IS NULL OR EXISTS (
              SELECT 1 FROM operator_regions x WHERE x.operator_id = o.id AND x.region_id = ANY($1::int[])))
      GROUP BY o.id ORDER BY o.name, o.id`,
    [regionIds === null ? null : [...regionIds]],
  );
  return r.rows;
}
