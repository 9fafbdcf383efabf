import type { Queryable } from '../db/database.js';
import { ownerActivityIds } from './activity.repository.js';

export interface AssignmentWrite {
  /** Leads created by this batch: their operator and why. */
  newLeads: { id: number; responsibleId: number | null; reason: string }[];
  /** Known clients whose responsible left. */
  owners: Record<'lead' | 'contact' | 'company', { id: number; responsibleId: number }[]>;
  /** Unassigned activities without an owner (the line queue), by id. */
  activities: { id: number; responsibleId: number }[];
  /** Every unassigned activity of these owners (a new client's other contacts, callbacks). */
  ownerActivities: { ownerType: string; ownerId: number; responsibleId: number }[];
  /** Round-robin pointers to save. */
  pointers: { regionId: number; lastOperatorId: number; count: number }[];
}

/**
 * Writes a batch's operator choices in ONE statement (data-modifying CTEs), because it runs while the
 * regions' round-robin rows are locked: one round trip instead of eight keeps other batches' wait short.
 * The CTEs touch disjoint rows: activities by id are only those without an owner (PostgreSQL leaves it
 * undefined which change wins when two CTEs update one row).
 *
 * The owners' unassigned activities are found with ownerActivityIds and updated by id. "Still unassigned" is
 * kept by COALESCE, not in the WHERE clause, where the planner would combine the responsible index in again: an
 * activity another transaction assigned meanwhile keeps its operator (the SET is evaluated on the newest row).
 */
export async function writeAssignment(db: Queryable, w: AssignmentWrite): Promise<void> {
  const o = w.owners;
  await db.query(
    `WITH
       new_leads AS (
         UPDATE leads l SET responsible_id = t.r, assignment_reason = t.reason
           FROM unnest($1::int[], $2::int[], $3::text[]) AS t(id, r, reason) WHERE l.id = t.id RETURNING 1),
       old_leads AS (
         UPDATE leads l SET responsible_id = t.r FROM unnest($4::int[], $5::int[]) AS t(id, r) WHERE l.id = t.id RETURNING 1),
       contacts_ AS (
         UPDATE contacts c SET responsible_id = t.r FROM unnest($6::int[], $7::int[]) AS t(id, r) WHERE c.id = t.id RETURNING 1),
       companies_ AS (
         UPDATE companies c SET responsible_id = t.r FROM unnest($8::int[], $9::int[]) AS t(id, r) WHERE c.id = t.id RETURNING 1),
       acts AS (
         UPDATE activities a SET responsible_id = t.r FROM unnest($10::bigint[], $11::int[]) AS t(id, r)
          WHERE a.id = t.id AND a.responsible_id IS NULL RETURNING 1),
       owner_acts AS (
         UPDATE activities a SET responsible_id = COALESCE(a.responsible_id, t.r)
           FROM unnest($12::text[], $13::int[], $14::int[]) AS t(owner_type, owner_id, r)
          WHERE a.id = ANY (${ownerActivityIds('$12', '$13', 'x.responsible_id IS NULL')})
            AND a.owner_type = t.owner_type AND a.owner_id = t.owner_id RETURNING 1),
       pointers AS (
         UPDATE assignment_state s SET last_operator_id = t.last_id, assigned_total = s.assigned_total + t.n, updated_at = now()
           FROM unnest($15::int[], $16::int[], $17::int[]) AS t(region_id, last_id, n) WHERE s.region_id = t.region_id RETURNING 1)
     SELECT (SELECT count(*) FROM new_leads) + (SELECT count(*) FROM old_leads) + (SELECT count(*) FROM contacts_)
          + (SELECT count(*) FROM companies_) + (SELECT count(*) FROM acts) + (SELECT count(*) FROM owner_acts)
          + (SELECT count(*) FROM pointers) AS n`,
    [
      w.newLeads.map((x) => x.id),
      w.newLeads.map((x) => x.responsibleId),
      w.newLeads.map((x) => x.reason),
      o.lead.map((x) => x.id),
      o.lead.map((x) => x.responsibleId),
      o.contact.map((x) => x.id),
      o.contact.map((x) => x.responsibleId),
      o.company.map((x) => x.id),
      o.company.map((x) => x.responsibleId),
      w.activities.map((x) => x.id),
      w.activities.map((x) => x.responsibleId),
      w.ownerActivities.map((x) => x.ownerType),
      w.ownerActivities.map((x) => x.ownerId),
      w.ownerActivities.map((x) => x.responsibleId),
      w.pointers.map((x) => x.regionId),
      w.pointers.map((x) => x.lastOperatorId),
      w.pointers.map((x) => x.count),
    ],
  );
}
