import type { Queryable } from '../db/database.js';
import type { Viewer } from './visibility.repository.js';

export interface CannedAnswerRow {
  id: number;
  title: string;
  body: string;
  language: string | null;
  region_id: number | null;
  position: number;
  created_at: Date;
  updated_at: Date;
}

export interface CannedAnswerInput {
  title?: string;
  body?: string;
  language?: string | null;
  regionId?: number | null;
  position?: number;
}

/** Everything (admin), or what an operator may use: answers for everybody and for their regions. */
export async function listCannedAnswers(
  db: Queryable,
  v: Viewer,
  language?: string,
): Promise<CannedAnswerRow[]> {
  const r = await db.query<CannedAnswerRow>(
    `SELECT * FROM canned_answers
      WHERE ($1::boolean OR region_id IS NULL OR region_id = ANY($2::int[]))
        AND ($3::text IS NULL OR language IS NULL OR language = $3)
      ORDER BY position, id`,
    [v.role === 'admin', [...v.regionIds], language ?? null],
  );
  return r.rows;
}

export async function getCannedAnswer(db: Queryable, id: number): Promise<CannedAnswerRow | undefined> {
  return (await db.query<CannedAnswerRow>('SELECT * FROM canned_answers WHERE id = $1', [id])).rows[0];
}

export async function insertCannedAnswer(
  db: Queryable,
  a: Required<Pick<CannedAnswerInput, 'title' | 'body'>> & CannedAnswerInput,
): Promise<CannedAnswerRow> {
  const r = await db.query<CannedAnswerRow>(
    `INSERT INTO canned_answers (title, body, language, region_id, position) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
    [a.title, a.body, a.language ?? null, a.regionId ?? null, a.position ?? 0],
  );
  return r.rows[0]!;
}

/** Fields left undefined keep their value; null clears language or region. */
export async function updateCannedAnswer(
  db: Queryable,
  id: number,
  a: CannedAnswerInput,
): Promise<CannedAnswerRow | undefined> {
  const r = await db.query<CannedAnswerRow>(
    `UPDATE canned_answers SET title = COALESCE($2, title), body = COALESCE($3, body),
            language = CASE WHEN $4::boolean THEN $5 ELSE language END,
            region_id = CASE WHEN $6::boolean THEN $7 ELSE region_id END,
            position = COALESCE($8, position), updated_at = now()
      WHERE id = $1 RETURNING *`,
    [
      id,
      a.title ?? null,
      a.body ?? null,
      a.language !== undefined,
      a.language ?? null,
      a.regionId !== undefined,
      a.regionId ?? null,
      a.position ?? null,
    ],
  );
  return r.rows[0];
}

export async function deleteCannedAnswer(db: Queryable, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM canned_answers WHERE id = $1', [id])).rowCount > 0;
}
