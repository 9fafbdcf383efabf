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
}

/** Every identity row matching any of the given (kind, value) pairs, in one round trip. */
export async function findIdentities(
  db: Queryable,
  keys: { kind: string; value: string }[],
): Promise<IdentityRow[]> {
  if (keys.length === 0) return [];
  const r = await db.query<IdentityRow>(
    `SELECT i.kind, i.value, i.owner_type, i.owner_id, i.bouncing
       FROM identities i
       JOIN unnest($1::text[], $2::text[]) AS k(kind, value) ON i.kind = k.kind AND i.value = k.value`,
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

/** Owner details (responsible, region, lead status) for a set of owners, in one round trip. */
export async function findOwners(
  db: Queryable,
  owners: { type: OwnerType; id: number }[],
): Promise<OwnerInfo[]> {
  if (owners.length === 0) return [];
  const ids = (t: OwnerType) => [...new Set(owners.filter((o) => o.type === t).map((o) => o.id))];
  const r = await db.query<OwnerInfo>(
    `SELECT 'lead' AS owner_type, l.id AS owner_id, l.responsible_id, o.active AS responsible_active, l.region_id,
            l.name, l.status, l.converted_contact_id, NULL::int AS company_id
       FROM leads l LEFT JOIN operators o ON o.id = l.responsible_id WHERE l.id = ANY($1::int[])
     UNION ALL
     SELECT 'contact', c.id, c.responsible_id, o.active, c.region_id, c.name, NULL, NULL, c.company_id
       FROM contacts c LEFT JOIN operators o ON o.id = c.responsible_id WHERE c.id = ANY($2::int[])
     UNION ALL
     SELECT 'company', c.id, c.responsible_id, o.active, c.region_id, c.name, NULL, NULL, NULL
       FROM companies c LEFT JOIN operators o ON o.id = c.responsible_id WHERE c.id = ANY($3::int[])`,
    [ids('lead'), ids('contact'), ids('company')],
  );
  return r.rows;
}
