import type { Queryable } from '../db/database.js';

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
