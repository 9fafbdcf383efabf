import type { Queryable } from '../db/database.js';

export type RuleKind = 'phone_prefix' | 'country' | 'called_line' | 'form_region' | 'form_city';
export interface RegionRule {
  kind: RuleKind;
  value: string;
}
export interface RegionRow {
  id: number;
  code: string;
  name: string;
  strategy: 'round_robin' | 'least_loaded';
  priority: number;
  default_operator_id: number | null;
  rules: RegionRule[];
}

export async function listRegions(db: Queryable): Promise<RegionRow[]> {
  return (
    await db.query<RegionRow>(
      `SELECT g.id, g.code, g.name, g.strategy, g.priority, g.default_operator_id,
              COALESCE(json_agg(json_build_object('kind', r.kind, 'value', r.value) ORDER BY r.position, r.id)
                       FILTER (WHERE r.id IS NOT NULL), '[]') AS rules
         FROM regions g LEFT JOIN region_rules r ON r.region_id = g.id
        GROUP BY g.id ORDER BY g.priority, g.id`,
    )
  ).rows;
}

export interface RegionInput {
  code: string;
  name: string;
  strategy?: 'round_robin' | 'least_loaded';
  priority?: number;
  defaultOperatorId?: number | null;
  rules?: RegionRule[];
}

export async function insertRegion(db: Queryable, g: RegionInput): Promise<number> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO regions (code, name, strategy, priority, default_operator_id) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [g.code, g.name, g.strategy ?? 'round_robin', g.priority ?? 100, g.defaultOperatorId ?? null],
  );
  const id = r.rows[0]!.id;
  await db.query('INSERT INTO assignment_state (region_id) VALUES ($1)', [id]);
  if (g.rules) await setRules(db, id, g.rules);
  return id;
}

export async function updateRegion(db: Queryable, id: number, g: Partial<RegionInput>): Promise<boolean> {
  const r = await db.query(
    `UPDATE regions SET code = COALESCE($2, code), name = COALESCE($3, name), strategy = COALESCE($4, strategy),
            priority = COALESCE($5, priority),
            default_operator_id = CASE WHEN $6::boolean THEN $7 ELSE default_operator_id END
      WHERE id = $1`,
    [
      id,
      g.code ?? null,
      g.name ?? null,
      g.strategy ?? null,
      g.priority ?? null,
      g.defaultOperatorId !== undefined,
      g.defaultOperatorId ?? null,
    ],
  );
  if (r.rowCount && g.rules) await setRules(db, id, g.rules);
  return r.rowCount > 0;
}

export async function deleteRegion(db: Queryable, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM regions WHERE id = $1', [id])).rowCount > 0;
}

async function setRules(db: Queryable, regionId: number, rules: RegionRule[]) {
  await db.query('DELETE FROM region_rules WHERE region_id = $1', [regionId]);
  await db.query(
    `INSERT INTO region_rules (region_id, position, kind, value)
     SELECT $1, t.ord, t.kind, t.value FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(kind, value, ord)`,
    [regionId, rules.map((r) => r.kind), rules.map((r) => r.value)],
  );
}

/** Locks the round-robin pointers of these regions (sorted, so two batches never deadlock). */
export async function lockAssignmentState(db: Queryable, regionIds: number[]) {
  if (regionIds.length === 0) return [];
  return (
    await db.query<{ region_id: number; last_operator_id: number | null }>(
      'SELECT region_id, last_operator_id FROM assignment_state WHERE region_id = ANY($1::int[]) ORDER BY region_id FOR UPDATE',
      [[...regionIds].sort((a, b) => a - b)],
    )
  ).rows;
}

export async function getSetting<T>(db: Queryable, key: string): Promise<T | undefined> {
  return (await db.query<{ value: T }>('SELECT value FROM app_settings WHERE key = $1', [key])).rows[0]
    ?.value;
}

export async function putSetting(db: Queryable, key: string, value: unknown): Promise<void> {
  await db.query(
    'INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
    [key, JSON.stringify(value)],
  );
}
