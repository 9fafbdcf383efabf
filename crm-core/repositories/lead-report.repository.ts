import type { Queryable } from '../db/database.js';

export const LEAD_GROUPS = ['source', 'channel', 'region', 'operator'] as const;
export type LeadGroupBy = (typeof LEAD_GROUPS)[number];

/**
 * Fixed SQL chosen by an enum, never from user text: the group's key and a readable label. A source is its type
 * and key together (form `demo` and line `demo` are two sources).
 */
const GROUP: Record<LeadGroupBy, { key: string; label: string; join: string }> = {
  source: {
    key: `l.source_type || ':' || l.source_key`,
    label: 'max(COALESCE(l.source_name, l.source_key))',
    join: '',
  },
  channel: { key: 'l.channel', label: 'l.channel', join: '' },
  region: {
    key: `COALESCE(l.region_id::text, 'none')`,
    label: `COALESCE(max(g.name), 'no region')`,
    join: 'LEFT JOIN regions g ON g.id = l.region_id',
  },
  operator: {
    key: `COALESCE(l.responsible_id::text, 'unassigned')`,
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

/**
 * Leads created in [from, to), one row per group. Merged leads (duplicates folded into another entity) are left
 * out: counting them would count one client twice. A lead reached a deal when its conversion created one or a
 * deal names it (store orders). `regionIds` limits the rows to those regions (supervisors); null: all.
 * Reads the leads_report index (017_reports.sql) only, apart from the labels and the deals' lead ids.
 */
export async function leadReport(
  db: Queryable,
  q: { from: string; to: string; groupBy: LeadGroupBy; regionIds: readonly number[] | null },
): Promise<LeadReportRow[]> {
  const g = GROUP[q.groupBy];
  const params: unknown[] = [q.from, q.to];
  let scope = '';
  if (q.regionIds) {
    params.push([...q.regionIds]);
    scope = `AND l.region_id = ANY($${params.length}::int[])`;
  }
  const response = SECONDS('l.first_response_at', 'l.created_at');
  const conversion = SECONDS('l.converted_at', 'l.created_at');
  const r = await db.query<LeadReportRow>(
    `SELECT ${g.key} AS key, ${g.label} AS label,
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
      GROUP BY 1
      ORDER BY leads DESC, key`,
    params,
  );
  return r.rows;
}
