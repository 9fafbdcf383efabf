import type { Queryable } from '../db/database.js';

/* Automation rules (migration 016): the administrator's configuration, read by the router and the scheduler. */

export type RuleKind = 'first_response_sla' | 'offline_reassign' | 'condition';

export interface RuleRow {
  id: number;
  name: string;
  kind: RuleKind;
  active: boolean;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface RuleWrite {
  name: string;
  kind: RuleKind;
  active: boolean;
  settings: Record<string, unknown>;
}

export async function listRules(db: Queryable, f: { kind?: RuleKind; activeOnly?: boolean } = {}) {
  return (
    await db.query<RuleRow>(
      `SELECT * FROM automation_rules WHERE ($1::text IS NULL OR kind = $1) AND (NOT $2::boolean OR active)
        ORDER BY id`,
      [f.kind ?? null, f.activeOnly ?? false],
    )
  ).rows;
}

export async function getRule(db: Queryable, id: number): Promise<RuleRow | undefined> {
  return (await db.query<RuleRow>('SELECT * FROM automation_rules WHERE id = $1', [id])).rows[0];
}

export async function insertRule(db: Queryable, r: RuleWrite): Promise<RuleRow> {
  return (
    await db.query<RuleRow>(
      'INSERT INTO automation_rules (name, kind, active, settings) VALUES ($1, $2, $3, $4) RETURNING *',
      [r.name, r.kind, r.active, JSON.stringify(r.settings)],
    )
  ).rows[0]!;
}

export async function updateRule(db: Queryable, id: number, r: RuleWrite): Promise<RuleRow | undefined> {
  return (
    await db.query<RuleRow>(
      `UPDATE automation_rules SET name = $2, active = $3, settings = $4, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [id, r.name, r.active, JSON.stringify(r.settings)],
    )
  ).rows[0];
}

/** Deleting a rule deletes its timers (ON DELETE CASCADE): nothing fires for a rule that is gone. */
export async function deleteRule(db: Queryable, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM automation_rules WHERE id = $1', [id])).rowCount > 0;
}
