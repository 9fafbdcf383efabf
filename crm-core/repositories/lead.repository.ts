import type { Queryable } from '../db/database.js';
import { jsonArrayParam, jsonbArray } from '../db/jsonb-array.js';
import { entityVisibleSql, type Viewer } from './visibility.repository.js';

export interface NewLead {
  title: string;
  name: string | null;
  responsibleId: number | null;
  regionId: number | null;
  assignmentReason: string;
  channel: string;
  sourceType: string;
  sourceKey: string;
  sourceName: string | null;
  utm: Record<string, unknown>;
  firstEventId: string;
}

export interface LeadRow {
  id: number;
  title: string;
  name: string | null;
  status: string;
  responsible_id: number | null;
  region_id: number | null;
  assignment_reason: string;
  channel: string;
  source_type: string;
  source_key: string;
  source_name: string | null;
  utm: Record<string, string>;
  converted_contact_id: number | null;
  converted_company_id: number | null;
  converted_deal_id: number | null;
  converted_at: Date | null;
  junk_reason: string | null;
  merged_into_type: string | null;
  merged_into_id: number | null;
  merged_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** Inserts leads in one statement; ids come back in input order (WITH ORDINALITY keeps it explicit). */
export async function insertLeads(db: Queryable, leads: NewLead[]): Promise<number[]> {
  if (leads.length === 0) return [];
  const col = <K extends keyof NewLead>(k: K) => leads.map((l) => l[k]);
  const r = await db.query<{ id: number; ord: number }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], ${jsonbArray(10)}, $11::uuid[]) WITH ORDINALITY
         AS t(title, name, responsible_id, region_id, assignment_reason, channel, source_type, source_key, source_name, utm, first_event_id, ord)
     ), ins AS (
       INSERT INTO leads (title, name, responsible_id, region_id, assignment_reason, channel, source_type, source_key, source_name, utm, first_event_id)
       SELECT title, name, responsible_id, region_id, assignment_reason, channel, source_type, source_key, source_name, utm, first_event_id
         FROM input ORDER BY ord
       RETURNING id, first_event_id
     )
     SELECT ins.id, input.ord FROM ins JOIN input USING (first_event_id) ORDER BY input.ord`,
    [
      col('title'),
      col('name'),
      col('responsibleId'),
      col('regionId'),
      col('assignmentReason'),
      col('channel'),
      col('sourceType'),
      col('sourceKey'),
      col('sourceName'),
      jsonArrayParam(leads.map((l) => l.utm)),
      col('firstEventId'),
    ],
  );
  return r.rows.map((x) => x.id);
}

export async function getLead(db: Queryable, id: number): Promise<LeadRow | undefined> {
  return (await db.query<LeadRow>('SELECT * FROM leads WHERE id = $1', [id])).rows[0];
}

export interface LeadFilter {
  status?: string;
  responsibleId?: number;
  source?: string;
  createdFrom?: string;
  createdTo?: string;
  limit: number;
  offset: number;
}

/** Leads the viewer may see (visibility.repository.ts), filtered and paged. */
export async function listLeads(db: Queryable, f: LeadFilter, viewer: Viewer): Promise<LeadRow[]> {
  const params: unknown[] = [
    f.status ?? null,
    f.responsibleId ?? null,
    f.source ?? null,
    f.createdFrom ?? null,
    f.createdTo ?? null,
    f.limit,
    f.offset,
  ];
  const visible = entityVisibleSql(viewer, params, 'lead', 'l');
  const r = await db.query<LeadRow>(
    `SELECT l.* FROM leads l
      WHERE ($1::text IS NULL OR status = $1)
        AND ($2::int IS NULL OR responsible_id = $2)
        AND ($3::text IS NULL OR source_key = $3 OR source_name = $3 OR channel = $3)
        AND ($4::timestamptz IS NULL OR created_at >= $4)
        AND ($5::timestamptz IS NULL OR created_at < $5)
        AND ${visible}
      ORDER BY id DESC LIMIT $6 OFFSET $7`,
    params,
  );
  return r.rows;
}

export async function getContact(db: Queryable, id: number) {
  return (await db.query<Record<string, unknown>>('SELECT * FROM contacts WHERE id = $1', [id])).rows[0];
}

export async function getCompany(db: Queryable, id: number) {
  return (await db.query<Record<string, unknown>>('SELECT * FROM companies WHERE id = $1', [id])).rows[0];
}

export async function setLeadStatus(
  db: Queryable,
  id: number,
  status: 'new' | 'in_progress' | 'junk',
  junkReason: string | null,
): Promise<LeadRow> {
  const r = await db.query<LeadRow>(
    'UPDATE leads SET status = $2, junk_reason = $3, updated_at = now() WHERE id = $1 RETURNING *',
    [id, status, junkReason],
  );
  return r.rows[0]!;
}

export async function markConverted(
  db: Queryable,
  id: number,
  to: { contactId: number; companyId: number | null; dealId: number | null },
): Promise<void> {
  await db.query(
    `UPDATE leads SET status = 'converted', converted_contact_id = $2, converted_company_id = $3,
            converted_deal_id = $4, converted_at = now(), updated_at = now() WHERE id = $1`,
    [id, to.contactId, to.companyId, to.dealId],
  );
}

/** Junk leads a returning client reopens (JUNK_RETURN 'reopen'); returns the ids actually reopened. */
export async function reopenJunkLeads(db: Queryable, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const r = await db.query<{ id: number }>(
    `UPDATE leads SET status = 'new', junk_reason = NULL, updated_at = now()
      WHERE id = ANY($1::int[]) AND status = 'junk' RETURNING id`,
    [ids],
  );
  return r.rows.map((x) => x.id);
}
