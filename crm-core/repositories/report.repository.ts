import type { Queryable } from '../db/database.js';

/* Read-only queries the HTTP API needs and the router does not. */

export async function getDeal(db: Queryable, id: number) {
  return (await db.query<Record<string, unknown>>('SELECT * FROM deals WHERE id = $1', [id])).rows[0];
}

/**
 * Round-robin pointers without FOR UPDATE: the client look-up only predicts the next assignment, so it must not
 * take the locks the router's batches wait on.
 */
export async function assignmentPointers(db: Queryable, regionIds: number[]) {
  if (regionIds.length === 0) return [];
  return (
    await db.query<{ region_id: number; last_operator_id: number | null }>(
      'SELECT region_id, last_operator_id FROM assignment_state WHERE region_id = ANY($1::int[])',
      [regionIds],
    )
  ).rows;
}

export interface OperatorBrief {
  id: number;
  name: string;
  extension: string | null;
}

export async function operatorsBrief(db: Queryable, ids: number[]): Promise<OperatorBrief[]> {
  if (ids.length === 0) return [];
  return (
    await db.query<OperatorBrief>('SELECT id, name, extension FROM operators WHERE id = ANY($1::int[])', [
      ids,
    ])
  ).rows;
}
