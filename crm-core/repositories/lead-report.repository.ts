import type { Database } from '../db/database.js';
import { reportQuery } from './report-query.js';

export const LEAD_GROUPS = ['source', 'channel', 'region', 'operator'] as const;
export type LeadGroupBy = (typeof LEAD_GROUPS)[number];

/**
 * Fixed SQL chosen by an enum, never from user text: the group's key and a readable label. A source is its type
 * and key together (form `demo` and line `demo` are two sources).
 */
const GROUP: Record<LeadGroupBy, { key: string; by: string; label: string; join: string }> = {
  // Text keys group in byte order (COLLATE "C"): a locale-aware sort of every lead costs more than the report.
  source: {
    key: `(l.source_type || ':' || l.source_key) COLLATE "C"`,
    by: '1',
    label: 'max(COALESCE(l.source_name, l.source_key))',
    join: '',
  },
  channel: { key: 'l.channel COLLATE "C"', by: '1', label: 'min(l.channel)', join: '' },
  // Ids group as integers; the key is their text.
  region: {
    key: `COALESCE(l.region_id::text, 'none')`,
    by: 'l.region_id',
    label: `COALESCE(max(g.name), 'no region')`,
    join: 'LEFT JOIN regions g ON g.id = l.region_id',
  },
  operator: {
    key: `COALESCE(l.responsible_id::text, 'unassigned')`,
    by: 'l.responsible_id',
    label: `COALESCE(max(g.name), 'unassigned')`,
    join: 'LEFT JOIN operators g ON g.id = l.responsible_id',
  },
};

export interface LeadReportRow {
  key: string;
  label: string;
  leads: number;
  open: number;
  junk: number;
  converted_to_contact: number;
  converted_to_deal: number;
  responded: number;
  first_response_p50_sec: number | null;
  first_response_avg_sec: number | null;
  to_conversion_p50_sec: number | null;
  to_conversion_avg_sec: number | null;
}

const SECONDS = (a: string, b: string) => `extract(epoch FROM ${a} - ${b})`;

export type LeadReportQuery = {
  from: string;
  to: string;
  groupBy: LeadGroupBy;
  regionIds: readonly number[] | null;
};

/** The query text and parameters (also what the benchmark EXPLAINs). */
export function leadReportSql(q: LeadReportQuery): { text: string; params: unknown[] } {
  const g = GROUP[q.groupBy];
  const params: unknown[] = [q.from, q.to];
  let scope = '';
  if (q.regionIds) {
    params.push([...q.regionIds]);
    scope = `AND l.region_id = ANY($${params.length}::int[])`;
  }
  const response = SECONDS('l.first_response_at', 'l.created_at');
  const conversion = SECONDS('l.converted_at', 'l.created_at');
  const text = `SELECT ${g.key} AS key, ${g.label} AS label,
            count(*)::int AS leads,
            count(*) FILTER (WHERE l.status IN ('new', 'in_progress'))::int AS open,
            count(*) FILTER (WHERE l.status = 'junk')::int AS junk,
            count(*) FILTER (WHERE l.converted_contact_id IS NOT NULL)::int AS converted_to_contact,
            count(*) FILTER (WHERE l.converted_deal_id IS NOT NULL OR d.lead_id IS NOT NULL)::int AS converted_to_deal,
            count(l.first_response_at)::int AS responded,
            round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ${response}))::numeric, 1)::float AS first_response_p50_sec,
            round(avg(${response}), 1)::float AS first_response_avg_sec,
            round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ${conversion}))::numeric, 1)::float AS to_conversion_p50_sec,
            round(avg(${conversion}), 1)::float AS to_conversion_avg_sec
       FROM leads l
       LEFT JOIN (SELECT DISTINCT lead_id FROM deals WHERE lead_id IS NOT NULL) d ON d.lead_id = l.id
       ${g.join}
      WHERE l.created_at >= $1 AND l.created_at < $2 AND l.status <> 'merged' ${scope}
      GROUP BY ${g.by}
      ORDER BY leads DESC, key`;
  return { text, params };
}

/**
 * Leads created in [from, to), one row per group. Merged leads (duplicates folded into another entity) are left
 * out: counting them would count one client twice. A lead reached a deal when its conversion created one or a
 * deal names it (store orders). `regionIds` limits the rows to those regions (supervisors); null: all.
 * Reads the leads_report index (017_reports.sql) only, apart from the labels and the deals' lead ids.
 */
export async function leadReport(db: Database, q: LeadReportQuery): Promise<LeadReportRow[]> {
  const { text, params } = leadReportSql(q);
  return reportQuery<LeadReportRow>(db, text, params);
}
