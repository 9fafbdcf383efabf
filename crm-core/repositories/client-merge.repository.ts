import type { Queryable } from '../db/database.js';
import type { OwnerType } from './identity.repository.js';

/*
 * Joining a lead that a messenger chat created onto the client it turned out to be (router/contact-share.ts
 * decides when). Everything the lead held moves; the lead itself stays, as junk, with a resolved duplicate row
 * saying where it went (leads are never deleted).
 */

/** True when the lead holds nothing but message activities of the given channel: a chat's own lead. */
export async function leadHasOnlyChat(db: Queryable, leadId: number, channel: string): Promise<boolean> {
  const r = await db.query<{ other: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM activities WHERE owner_type = 'lead' AND owner_id = $1
          AND (type <> 'message' OR channel IS DISTINCT FROM $2)
     ) OR EXISTS (SELECT 1 FROM deals WHERE lead_id = $1) AS other`,
    [leadId, channel],
  );
  return !r.rows[0]!.other;
}

export async function mergeLeadInto(
  db: Queryable,
  m: {
    leadId: number;
    into: { type: OwnerType; id: number };
    responsibleId: number | null;
    eventId: string;
    identity: { kind: string; value: string };
  },
): Promise<void> {
  const { leadId, into } = m;
  await db.query(
    `UPDATE identities SET owner_type = $2, owner_id = $3 WHERE owner_type = 'lead' AND owner_id = $1`,
    [leadId, into.type, into.id],
  );
  await db.query(
    `UPDATE activities SET owner_type = $2, owner_id = $3, responsible_id = COALESCE($4, responsible_id),
            updated_at = now()
      WHERE owner_type = 'lead' AND owner_id = $1`,
    [leadId, into.type, into.id, m.responsibleId],
  );
  await db.query(
    `UPDATE conversations SET owner_type = $2, owner_id = $3, updated_at = now()
      WHERE owner_type = 'lead' AND owner_id = $1`,
    [leadId, into.type, into.id],
  );
  await db.query(`UPDATE leads SET status = 'junk', updated_at = now() WHERE id = $1`, [leadId]);
  await db.query(
    `INSERT INTO duplicate_candidates (event_id, chosen_type, chosen_id, other_type, other_id, identity_kind,
                                       identity_value, resolved)
     VALUES ($1, $2, $3, 'lead', $4, $5, $6, true)
     ON CONFLICT (chosen_type, chosen_id, other_type, other_id) DO UPDATE SET resolved = true`,
    [m.eventId, into.type, into.id, leadId, m.identity.kind, m.identity.value],
  );
}
