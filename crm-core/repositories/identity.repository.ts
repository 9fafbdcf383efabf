import type { Queryable } from '../db/database.js';

export type OwnerType = 'lead' | 'contact' | 'company';

export interface IdentityRow {
  kind: string;
  value: string;
  owner_type: OwnerType;
  owner_id: number;
  bouncing: boolean;
}

export interface OwnerInfo {
  owner_type: OwnerType;
  owner_id: number;
  responsible_id: number | null;
  responsible_active: boolean | null;
  region_id: number | null;
  name: string | null;
  /** leads only */
  status: string | null;
  converted_contact_id: number | null;
  /** contacts only */
  company_id: number | null;
  /** set when the entity was merged into another (duplicates): where its contacts belong now */
  merged_into_type: OwnerType | null;
  merged_into_id: number | null;
}

/**
 * Every identity row matching any of the given (kind, value) pairs, in one round trip: one index probe per
 * pair (LATERAL; LIMIT 1 on the unique key keeps the planner from flattening it into a hash join over the
 * table), so the cost follows the batch, not the table, even while statistics lag behind fast growth.
 */
export async function findIdentities(
  db: Queryable,
  keys: { kind: string; value: string }[],
): Promise<IdentityRow[]> {
  if (keys.length === 0) return [];
  const r = await db.query<IdentityRow>(
    `SELECT i.kind, i.value, i.owner_type, i.owner_id, i.bouncing
       FROM unnest($1::text[], $2::text[]) AS k(kind, value)
       CROSS JOIN LATERAL (SELECT * FROM identities i WHERE i.kind = k.kind AND i.value = k.value LIMIT 1) AS i`,
    [keys.map((k) => k.kind), keys.map((k) => k.value)],
  );
  return r.rows;
}

/**
 * Inserts identities; rows whose (kind, value) already exist are skipped, and only the inserted ones are
 * returned, so the caller can tell it lost a race with another router.
 */
export async function insertIdentities(
  db: Queryable,
  rows: { kind: string; value: string; valid: boolean; owner_type: OwnerType; owner_id: number }[],
): Promise<{ kind: string; value: string }[]> {
  if (rows.length === 0) return [];
  const r = await db.query<{ kind: string; value: string }>(
    `INSERT INTO identities (kind, value, valid, owner_type, owner_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::int[])
     ON CONFLICT (kind, value) DO NOTHING
     RETURNING kind, value`,
    [
      rows.map((x) => x.kind),
      rows.map((x) => x.value),
      rows.map((x) => x.valid),
      rows.map((x) => x.owner_type),
      rows.map((x) => x.owner_id),
    ],
  );
  return r.rows;
}

/** Moves identities held by junk leads to a new owner (a junk lead no longer claims the client). */
export async function takeOverIdentities(
  db: Queryable,
  rows: { kind: string; value: string; owner_type: OwnerType; owner_id: number }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE identities i SET owner_type = t.owner_type, owner_id = t.owner_id
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS t(kind, value, owner_type, owner_id)
      WHERE i.kind = t.kind AND i.value = t.value`,
    [
      rows.map((x) => x.kind),
      rows.map((x) => x.value),
      rows.map((x) => x.owner_type),
      rows.map((x) => x.owner_id),
    ],
  );
}

export async function identitiesOf(db: Queryable, ownerType: OwnerType, ownerId: number) {
  const r = await db.query<{ kind: string; value: string; valid: boolean; bouncing: boolean }>(
    'SELECT kind, value, valid, bouncing FROM identities WHERE owner_type = $1 AND owner_id = $2 ORDER BY id',
    [ownerType, ownerId],
  );
  return r.rows;
}

export async function markBouncing(db: Queryable, emails: string[]): Promise<number> {
  if (emails.length === 0) return 0;
  const r = await db.query(
    `UPDATE identities SET bouncing = true WHERE kind = 'email' AND value = ANY($1::text[])`,
    [emails],
  );
  return r.rowCount;
}

/**
 * Owner details (responsible, region, lead status, merge pointer) for a set of owners, in one round trip.
 * With lock, the entity rows are locked FOR KEY SHARE until the transaction ends, table by table and by id (one
 * global order). That is the router's side of the merge/conversion protocol (crm-core/services/entity-transfer.ts):
 * a merge locks both entities FOR UPDATE, so a batch either locked an owner first (and the merge, waiting, then
 * moves what the batch wrote) or waits for the merge and reads the merged row with its pointer. KEY SHARE does
 * not conflict with other routers' locks nor with their UPDATEs of the responsible.
 */
export async function findOwners(
  db: Queryable,
  owners: { type: OwnerType; id: number }[],
  opts: { lock?: boolean } = {},
): Promise<OwnerInfo[]> {
  if (owners.length === 0) return [];
  const ids = (t: OwnerType) => [...new Set(owners.filter((o) => o.type === t).map((o) => o.id))];
  const lock = opts.lock ? 'ORDER BY id FOR KEY SHARE' : '';
  const r = await db.query<OwnerInfo>(
    `WITH l AS MATERIALIZED (SELECT * FROM leads WHERE id = ANY($1::int[]) ${lock}),
          c AS MATERIALIZED (SELECT * FROM contacts WHERE id = ANY($2::int[]) ${lock}),
          co AS MATERIALIZED (SELECT * FROM companies WHERE id = ANY($3::int[]) ${lock})
     SELECT 'lead' AS owner_type, l.id AS owner_id, l.responsible_id, o.active AS responsible_active, l.region_id,
            l.name, l.status, l.converted_contact_id, NULL::int AS company_id, l.merged_into_type, l.merged_into_id
       FROM l LEFT JOIN operators o ON o.id = l.responsible_id
     UNION ALL
     SELECT 'contact', c.id, c.responsible_id, o.active, c.region_id, c.name, NULL, NULL, c.company_id,
            c.merged_into_type, c.merged_into_id
       FROM c LEFT JOIN operators o ON o.id = c.responsible_id
     UNION ALL
     SELECT 'company', co.id, co.responsible_id, o.active, co.region_id, co.name, NULL, NULL, NULL,
            co.merged_into_type, co.merged_into_id
       FROM co LEFT JOIN operators o ON o.id = co.responsible_id`,
    [ids('lead'), ids('contact'), ids('company')],
  );
  return r.rows;
}
