import type { Queryable } from '../db/database.js';
import type { IdentityRow, OwnerInfo } from './identity.repository.js';
import { OPERATOR_LOAD_SQL } from './operator.repository.js';

/** An owner reached from the queried identities, with its responsible operator's brief. */
export interface SnapshotOwner extends OwnerInfo {
  responsible_name: string | null;
  responsible_extension: string | null;
}

/** What a client look-up needs, read in one statement (see routingSnapshot). */
export interface RoutingSnapshot {
  held: Pick<IdentityRow, 'kind' | 'value' | 'owner_type' | 'owner_id'>[];
  /** Holders and every entity their merged/converted redirects lead to (possibly the same one twice). */
  owners: SnapshotOwner[];
  /** app_settings values as stored (jsonb), undefined when absent. */
  junkReturn: unknown;
  defaultOperator: unknown;
  /** Whether the prediction inputs below were read (see routingSnapshot's gate). */
  predicted: boolean;
  /** Active operators of the region, by id; load counted only for a least-loaded region. */
  candidates: { operator_id: number; status: string; load: number }[];
  /** The region's round-robin pointer, read without locking. */
  pointer: number | null;
  /** Which of the global and the region's default operators are active. */
  activeDefaults: number[];
}

export interface SnapshotPrediction {
  regionId: number | null;
  leastLoaded: boolean;
  regionDefaultId: number | null;
}

/*
 * One round trip for "who is this caller and whom would we ring": the identities' holders, their redirect chains
 * (the SQL twin of owner-resolution.ts redirectOf: merged_into first, then a converted lead's contact, at most 16
 * hops), the responsible operators' briefs, the two settings the rules read, and the prediction inputs of the
 * region the caller resolves to. The prediction part (the candidates' load is the costly read) runs only when no
 * reached owner can be a client: every one is a junk lead, or there is none (with no identities at all, only the
 * prediction is read). The caller still decides with the
 * pure functions (matchClient, OperatorPicker); this only reads, never locks, and saves no pointer.
 */
const SQL = `
WITH RECURSIVE
  held AS MATERIALIZED (
    SELECT i.kind, i.value, i.owner_type, i.owner_id
      FROM unnest($1::text[], $2::text[]) AS k(kind, value)
      CROSS JOIN LATERAL (SELECT * FROM identities i WHERE i.kind = k.kind AND i.value = k.value LIMIT 1) AS i
  ),
  entity AS NOT MATERIALIZED (
    SELECT 'lead'::text AS owner_type, l.id AS owner_id, l.responsible_id, l.region_id, l.name, l.status,
           l.converted_contact_id, NULL::int AS company_id, l.merged_into_type, l.merged_into_id
      FROM leads l
    UNION ALL
    SELECT 'contact', c.id, c.responsible_id, c.region_id, c.name, NULL, NULL, c.company_id, c.merged_into_type,
           c.merged_into_id
      FROM contacts c
    UNION ALL
    SELECT 'company', co.id, co.responsible_id, co.region_id, co.name, NULL, NULL, NULL, co.merged_into_type,
           co.merged_into_id
      FROM companies co
  ),
  chain AS (
    SELECT e.*, 0 AS hops
      FROM (SELECT DISTINCT owner_type, owner_id FROM held) h
      JOIN entity e ON e.owner_type = h.owner_type AND e.owner_id = h.owner_id
    UNION ALL
    SELECT e.*, c.hops + 1
      FROM chain c
      CROSS JOIN LATERAL (
        SELECT CASE WHEN c.merged_into_type IS NOT NULL AND c.merged_into_id IS NOT NULL THEN c.merged_into_type
                    WHEN c.owner_type = 'lead' AND c.status = 'converted' AND c.converted_contact_id IS NOT NULL
                    THEN 'contact' END AS t,
               CASE WHEN c.merged_into_type IS NOT NULL AND c.merged_into_id IS NOT NULL THEN c.merged_into_id
                    WHEN c.owner_type = 'lead' AND c.status = 'converted' THEN c.converted_contact_id END AS id
      ) r
      JOIN entity e ON e.owner_type = r.t AND e.owner_id = r.id
     WHERE c.hops < 16
  ),
  owners AS (
    SELECT DISTINCT ON (c.owner_type, c.owner_id)
           c.owner_type, c.owner_id, c.responsible_id, o.active AS responsible_active, c.region_id, c.name, c.status,
           c.converted_contact_id, c.company_id, c.merged_into_type, c.merged_into_id,
           o.name AS responsible_name, o.extension AS responsible_extension
      FROM chain c LEFT JOIN operators o ON o.id = c.responsible_id
  ),
  gate AS (
    SELECT NOT EXISTS (SELECT 1 FROM chain WHERE owner_type <> 'lead' OR status <> 'junk') AS predict
  ),
  settings AS (
    SELECT (SELECT value FROM app_settings WHERE key = 'junk_return') AS junk_return,
           (SELECT value FROM app_settings WHERE key = 'default_operator_id') AS default_operator
  ),
  candidates AS (
    SELECT o.id AS operator_id, o.status, CASE WHEN $4::boolean THEN ${OPERATOR_LOAD_SQL('o')} ELSE 0 END AS load
      FROM operator_regions r JOIN operators o ON o.id = r.operator_id
     WHERE r.region_id = $3::int AND o.active AND (SELECT predict FROM gate)
  )
SELECT (SELECT coalesce(json_agg(held), '[]') FROM held) AS held,
       (SELECT coalesce(json_agg(owners), '[]') FROM owners) AS owners,
       s.junk_return, s.default_operator,
       (SELECT predict FROM gate) AS predicted,
       (SELECT coalesce(json_agg(c ORDER BY c.operator_id), '[]') FROM candidates c) AS candidates,
       (SELECT last_operator_id FROM assignment_state WHERE region_id = $3::int) AS pointer,
       ARRAY(SELECT id FROM operators
              WHERE active AND id IN ($5::int,
                    CASE WHEN jsonb_typeof(s.default_operator) = 'number' THEN s.default_operator::int END)
              ORDER BY id) AS active_defaults
  FROM settings s`;

/**
 * Everything lookupClient needs in one statement (one round trip): see the comment above SQL. Read-only and
 * lock-free, so it never waits for the router's transactions on the database side.
 */
export async function routingSnapshot(
  db: Queryable,
  keys: { kind: string; value: string }[],
  p: SnapshotPrediction,
): Promise<RoutingSnapshot> {
  const r = await db.query<{
    held: RoutingSnapshot['held'];
    owners: SnapshotOwner[];
    junk_return: unknown;
    default_operator: unknown;
    predicted: boolean;
    candidates: RoutingSnapshot['candidates'];
    pointer: number | null;
    active_defaults: number[];
  }>(SQL, [keys.map((k) => k.kind), keys.map((k) => k.value), p.regionId, p.leastLoaded, p.regionDefaultId]);
  const row = r.rows[0]!;
  return {
    held: row.held,
    owners: row.owners,
    junkReturn: row.junk_return ?? undefined,
    defaultOperator: row.default_operator ?? undefined,
    predicted: row.predicted,
    candidates: row.candidates,
    pointer: row.pointer,
    activeDefaults: row.active_defaults,
  };
}
