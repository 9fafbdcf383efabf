import type { Queryable } from '../db/database.js';

/**
 * Who may see what, written once as SQL conditions that every read query appends (issue 9, item 1):
 * - `operator`: clients they are responsible for, and the unassigned ones (no responsible) of their regions;
 * - `supervisor`: everything in their regions, and whatever they are responsible for themselves;
 * - `admin`: everything (the admin token, and operators given the admin role).
 * A deal has no region of its own: it takes its contact's, else its company's, else its lead's. An activity is
 * visible with its owner, or to its responsible; activities waiting in the `queue` (no owner at all: withheld
 * numbers) are seen by supervisors and by their responsible.
 *
 * Filtering happens in SQL, so lists page correctly and a hidden row costs nothing to skip.
 */
export const ROLES = ['operator', 'supervisor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The caller of one request, resolved once by the auth hook. operatorId is null for the admin token. */
export interface Viewer {
  operatorId: number | null;
  role: Role;
  regionIds: readonly number[];
}

export const ADMIN_VIEWER: Viewer = Object.freeze({ operatorId: null, role: 'admin', regionIds: [] });

export type EntityType = 'lead' | 'contact' | 'company' | 'deal';
const TABLE: Record<EntityType, string> = {
  lead: 'leads',
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
};

const dealRegion = (x: string) =>
  `COALESCE((SELECT region_id FROM contacts WHERE id = ${x}.contact_id),
            (SELECT region_id FROM companies WHERE id = ${x}.company_id),
            (SELECT region_id FROM leads WHERE id = ${x}.lead_id))`;

/** The viewer's id and regions as query parameters, appended once and referenced by every condition. */
interface Refs {
  v: Viewer;
  me: string;
  regions: string;
}
function refs(v: Viewer, params: unknown[]): Refs {
  params.push(v.operatorId ?? 0, [...v.regionIds]);
  return { v, me: `$${params.length - 1}::int`, regions: `$${params.length}::int[]` };
}

function rule(r: Refs, responsible: string, region: string): string {
  if (r.v.role === 'supervisor') return `(${responsible} = ${r.me} OR ${region} = ANY(${r.regions}))`;
  return `(${responsible} = ${r.me} OR (${responsible} IS NULL AND ${region} = ANY(${r.regions})))`;
}

function entityRule(r: Refs, type: EntityType, x: string): string {
  return rule(r, `${x}.responsible_id`, type === 'deal' ? dealRegion(x) : `${x}.region_id`);
}

/**
 * Condition on a row of a lead, contact, company or deal table aliased `alias`; parameters are appended to
 * `params` (pass the array the query already uses). 'TRUE' for the admin.
 */
export function entityVisibleSql(v: Viewer, params: unknown[], type: EntityType, alias: string): string {
  if (v.role === 'admin') return 'TRUE';
  return entityRule(refs(v, params), type, alias);
}

function ownerRule(r: Refs, ownerType: string, ownerId: string): string {
  const owned = (Object.keys(TABLE) as EntityType[]).map(
    (t) =>
      `(${ownerType} = '${t}' AND EXISTS (SELECT 1 FROM ${TABLE[t]} vx WHERE vx.id = ${ownerId} AND ${entityRule(r, t, 'vx')}))`,
  );
  return owned.join(' OR ');
}

/**
 * Condition on an (entity type, entity id) pair of columns, e.g. a duplicate candidate's chosen or other entity.
 * 'TRUE' for the admin.
 */
export function entityRefVisibleSql(v: Viewer, params: unknown[], typeCol: string, idCol: string): string {
  if (v.role === 'admin') return 'TRUE';
  return `(${ownerRule(refs(v, params), typeCol, idCol)})`;
}

/**
 * Condition for rows that belong to an owner through (owner_type, owner_id) columns and have their own
 * responsible: activities, conversations. Visible with the owner, or to the row's responsible; owner_type
 * 'queue' rows to supervisors.
 */
export function ownedVisibleSql(
  v: Viewer,
  params: unknown[],
  alias: string,
  cols = { ownerType: 'owner_type', ownerId: 'owner_id', responsible: 'responsible_id' },
): string {
  if (v.role === 'admin') return 'TRUE';
  const r = refs(v, params);
  const ot = `${alias}.${cols.ownerType}`;
  const queue = v.role === 'supervisor' ? ` OR ${ot} = 'queue'` : '';
  return `(${alias}.${cols.responsible} = ${r.me} OR ${ownerRule(r, ot, `${alias}.${cols.ownerId}`)}${queue})`;
}

/** Whether the entity exists and the viewer may see it; callers answer 404 alike for both "no". */
export async function isEntityVisible(
  db: Queryable,
  v: Viewer,
  type: EntityType,
  id: number,
): Promise<boolean> {
  const params: unknown[] = [id];
  const cond = entityVisibleSql(v, params, type, 'x');
  const r = await db.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${TABLE[type]} x WHERE x.id = $1 AND ${cond}) AS ok`,
    params,
  );
  return r.rows[0]?.ok === true;
}

/** Whether the activity exists and the viewer may see it. */
export async function isActivityVisible(db: Queryable, v: Viewer, id: number): Promise<boolean> {
  const params: unknown[] = [id];
  const cond = ownedVisibleSql(v, params, 'a');
  const r = await db.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM activities a WHERE a.id = $1 AND ${cond}) AS ok`,
    params,
  );
  return r.rows[0]?.ok === true;
}

/**
 * Whether a conversation exists and its activity is visible to the viewer: one probe, for the hot paths that only
 * need the yes or no (a reply), not the conversation's view with its message count.
 */
export async function isConversationVisible(db: Queryable, v: Viewer, id: number): Promise<boolean> {
  const params: unknown[] = [id];
  const cond = ownedVisibleSql(v, params, 'a');
  const r = await db.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM conversations c JOIN activities a ON a.id = c.activity_id
                     WHERE c.id = $1 AND ${cond}) AS ok`,
    params,
  );
  return r.rows[0]?.ok === true;
}

/** Whether `operatorId` works in one of the viewer's regions (a supervisor may hand work only to them). */
export async function sharesRegion(db: Queryable, v: Viewer, operatorId: number): Promise<boolean> {
  if (v.role === 'admin') return true;
  const r = await db.query<{ ok: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM operator_regions WHERE operator_id = $1 AND region_id = ANY($2::int[])) AS ok',
    [operatorId, [...v.regionIds]],
  );
  return r.rows[0]?.ok === true;
}
