import type { Queryable } from '../db/database.js';

/**
 * Claims event ids for this transaction. Returns the ids not processed before; a concurrent transaction
 * claiming the same id waits on the primary key and then sees it as taken, so an event is handled once.
 */
export async function claimEvents(db: Queryable, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await db.query<{ event_id: string }>(
    `INSERT INTO processed_events (event_id) SELECT unnest($1::uuid[])
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [ids],
  );
  return new Set(r.rows.map((x) => x.event_id));
}

export async function recordOutcomes(
  db: Queryable,
  rows: { eventId: string; ownerType: string | null; ownerId: number | null; activityId: number | null }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE processed_events p SET owner_type = t.owner_type, owner_id = t.owner_id, activity_id = t.activity_id
       FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[]) AS t(event_id, owner_type, owner_id, activity_id)
      WHERE p.event_id = t.event_id`,
    [
      rows.map((x) => x.eventId),
      rows.map((x) => x.ownerType),
      rows.map((x) => x.ownerId),
      rows.map((x) => x.activityId),
    ],
  );
}
