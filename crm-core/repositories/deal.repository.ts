import type { Queryable } from '../db/database.js';
import { entityVisibleSql, type Viewer } from './visibility.repository.js';

export interface DealRow {
  id: number;
  title: string;
  stage: string;
  contact_id: number | null;
  company_id: number | null;
  lead_id: number | null;
  responsible_id: number | null;
  amount: string | null;
  closed: boolean;
  outcome: 'won' | 'lost' | null;
  close_reason: string | null;
  closed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewDeal {
  title: string;
  stage: string;
  contactId: number | null;
  companyId: number | null;
  leadId: number | null;
  responsibleId: number | null;
  amount: number | null;
}

export async function insertDeal(db: Queryable, d: NewDeal): Promise<DealRow> {
  const r = await db.query<DealRow>(
    `INSERT INTO deals (title, stage, contact_id, company_id, lead_id, responsible_id, amount)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [d.title, d.stage, d.contactId, d.companyId, d.leadId, d.responsibleId, d.amount],
  );
  return r.rows[0]!;
}

export async function getDealRow(db: Queryable, id: number): Promise<DealRow | undefined> {
  return (await db.query<DealRow>('SELECT * FROM deals WHERE id = $1', [id])).rows[0];
}

export async function lockDeal(db: Queryable, id: number): Promise<DealRow | undefined> {
  return (await db.query<DealRow>('SELECT * FROM deals WHERE id = $1 FOR UPDATE', [id])).rows[0];
}

export interface DealFilter {
  stage?: string;
  closed?: boolean;
  responsibleId?: number;
  contactId?: number;
  companyId?: number;
  limit: number;
  offset: number;
}

/** Deals the viewer may see (visibility.repository.ts: a deal takes its contact's, company's or lead's region). */
export async function listDeals(db: Queryable, f: DealFilter, viewer: Viewer): Promise<DealRow[]> {
  const params: unknown[] = [
    f.stage ?? null,
    f.closed ?? null,
    f.responsibleId ?? null,
    f.contactId ?? null,
    f.companyId ?? null,
    f.limit,
    f.offset,
  ];
  const visible = entityVisibleSql(viewer, params, 'deal', 'd');
  return (
    await db.query<DealRow>(
      `SELECT d.* FROM deals d
        WHERE ($1::text IS NULL OR d.stage = $1) AND ($2::boolean IS NULL OR d.closed = $2)
          AND ($3::int IS NULL OR d.responsible_id = $3) AND ($4::int IS NULL OR d.contact_id = $4)
          AND ($5::int IS NULL OR d.company_id = $5) AND ${visible}
        ORDER BY d.id DESC LIMIT $6 OFFSET $7`,
      params,
    )
  ).rows;
}

export async function updateDeal(
  db: Queryable,
  id: number,
  p: { stage?: string; title?: string; amount?: number | null; responsibleId?: number },
): Promise<DealRow> {
  const r = await db.query<DealRow>(
    `UPDATE deals SET stage = COALESCE($2, stage), title = COALESCE($3, title),
            amount = CASE WHEN $4::boolean THEN $5::numeric ELSE amount END,
            responsible_id = COALESCE($6::int, responsible_id), updated_at = now()
      WHERE id = $1 RETURNING *`,
    [id, p.stage ?? null, p.title ?? null, p.amount !== undefined, p.amount ?? null, p.responsibleId ?? null],
  );
  return r.rows[0]!;
}

export async function closeDeal(
  db: Queryable,
  id: number,
  outcome: 'won' | 'lost',
  reason: string | null,
): Promise<DealRow> {
  const r = await db.query<DealRow>(
    `UPDATE deals SET closed = true, outcome = $2, stage = $2, close_reason = $3, closed_at = now(), updated_at = now()
      WHERE id = $1 RETURNING *`,
    [id, outcome, reason],
  );
  return r.rows[0]!;
}

/** Whether the rows exist (a deal's contact/company, given by id in a request). */
export async function entityExists(db: Queryable, table: 'contacts' | 'companies', id: number) {
  return (await db.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).rowCount > 0;
}
