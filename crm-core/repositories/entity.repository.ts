import type { Queryable } from '../db/database.js';
import type { OwnerType } from './identity.repository.js';

/* Leads, contacts and companies as whole entities: locking, creating, merging pointers and the links between them. */

export interface EntityRef {
  type: OwnerType;
  id: number;
}

export interface EntityRow {
  type: OwnerType;
  id: number;
  name: string | null;
  responsible_id: number | null;
  region_id: number | null;
  /** leads only */
  status: string | null;
  title: string | null;
  company_id: number | null;
  merged_into_type: OwnerType | null;
  merged_into_id: number | null;
}

const TABLE: Record<OwnerType, string> = { lead: 'leads', contact: 'contacts', company: 'companies' };
/** The one global lock order (the router's findOwners locks in the same one): leads, contacts, companies; by id. */
const ORDER: OwnerType[] = ['lead', 'contact', 'company'];

/**
 * Locks entities (FOR UPDATE by default) in the global order and returns them (missing ones are absent). A router batch holding
 * one of them (KEY SHARE) is waited for; batches arriving later wait for this transaction and then read its result.
 */
export async function lockEntities(
  db: Queryable,
  refs: EntityRef[],
  /** KEY SHARE: only keeps a merge or conversion away while a row is added to the entity (a note, a deal). */
  mode: 'UPDATE' | 'KEY SHARE' = 'UPDATE',
): Promise<Map<string, EntityRow>> {
  const out = new Map<string, EntityRow>();
  for (const type of ORDER) {
    const ids = [...new Set(refs.filter((r) => r.type === type).map((r) => r.id))].sort((a, b) => a - b);
    if (ids.length === 0) continue;
    const r = await db.query<EntityRow>(
      `SELECT $2::text AS type, id, name, responsible_id, region_id,
              ${type === 'lead' ? 'status, title' : 'NULL::text AS status, NULL::text AS title'},
              ${type === 'contact' ? 'company_id' : 'NULL::int AS company_id'}, merged_into_type, merged_into_id
         FROM ${TABLE[type]} WHERE id = ANY($1::int[]) ORDER BY id FOR ${mode}`,
      [ids, type],
    );
    for (const row of r.rows) out.set(`${type}:${row.id}`, row);
  }
  return out;
}

export async function insertCompany(
  db: Queryable,
  c: { name: string; responsibleId: number | null; regionId: number | null },
): Promise<number> {
  const r = await db.query<{ id: number }>(
    'INSERT INTO companies (name, responsible_id, region_id) VALUES ($1, $2, $3) RETURNING id',
    [c.name, c.responsibleId, c.regionId],
  );
  return r.rows[0]!.id;
}

export async function insertContact(
  db: Queryable,
  c: { name: string | null; companyId: number | null; responsibleId: number | null; regionId: number | null },
): Promise<number> {
  const r = await db.query<{ id: number }>(
    'INSERT INTO contacts (name, company_id, responsible_id, region_id) VALUES ($1, $2, $3, $4) RETURNING id',
    [c.name, c.companyId, c.responsibleId, c.regionId],
  );
  return r.rows[0]!.id;
}

export async function setContactCompany(db: Queryable, contactId: number, companyId: number): Promise<void> {
  await db.query('UPDATE contacts SET company_id = COALESCE(company_id, $2) WHERE id = $1', [
    contactId,
    companyId,
  ]);
}

/** The survivor keeps its own name, responsible and region; it takes the merged entity's where it had none. */
export async function fillSurvivor(db: Queryable, to: EntityRef, from: EntityRow): Promise<void> {
  await db.query(
    `UPDATE ${TABLE[to.type]} SET name = COALESCE(name, $2), responsible_id = COALESCE(responsible_id, $3),
            region_id = COALESCE(region_id, $4) WHERE id = $1`,
    [to.id, from.name, from.responsible_id, from.region_id],
  );
}

/** The merged-away entity stays, pointing at its survivor (a lead also gets status 'merged'). */
export async function markMerged(db: Queryable, from: EntityRef, to: EntityRef): Promise<void> {
  const status = from.type === 'lead' ? `, status = 'merged', updated_at = now()` : '';
  await db.query(
    `UPDATE ${TABLE[from.type]} SET merged_into_type = $2, merged_into_id = $3, merged_at = now()${status}
      WHERE id = $1`,
    [from.id, to.type, to.id],
  );
}

/**
 * References to the merged-away entity from other entities follow it to the survivor: leads converted into a
 * contact, contacts of a company, leads converted into a company. Returns how many rows changed.
 */
export async function repointEntityLinks(db: Queryable, from: EntityRef, to: EntityRef): Promise<number> {
  if (from.type === 'contact' && to.type === 'contact') {
    return (
      await db.query('UPDATE leads SET converted_contact_id = $2 WHERE converted_contact_id = $1', [
        from.id,
        to.id,
      ])
    ).rowCount;
  }
  if (from.type === 'company' && to.type === 'company') {
    const a = await db.query('UPDATE contacts SET company_id = $2 WHERE company_id = $1', [from.id, to.id]);
    const b = await db.query('UPDATE leads SET converted_company_id = $2 WHERE converted_company_id = $1', [
      from.id,
      to.id,
    ]);
    return a.rowCount + b.rowCount;
  }
  return 0;
}
