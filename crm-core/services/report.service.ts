import { AppError } from '../../lib/errors.js';
import type { Database } from '../db/database.js';
import { type LeadGroupBy, leadReport } from '../repositories/lead-report.repository.js';
import { operatorReport } from '../repositories/operator-report.repository.js';
import type { Viewer } from '../repositories/visibility.repository.js';

/**
 * The leads and operators reports (issue 10, item 6): who may read them, over what period, and the rates derived
 * from the counts. Administrators see everything; supervisors their regions (leads of those regions, operators
 * who work in them); operators are refused.
 */

/** First response later than this is an SLA breach when the caller names no threshold (minutes). */
export const DEFAULT_SLA_MINUTES = 30;

export interface Period {
  from: string;
  to: string;
}

/** The regions the viewer's rows are limited to; null for everything. Operators get 403. */
function scopeOf(v: Viewer): readonly number[] | null {
  if (v.role === 'admin') return null;
  if (v.role === 'supervisor') return v.regionIds;
  throw new AppError('FORBIDDEN', 'authorization: reports need the admin or supervisor role', {
    fields: ['authorization'],
  });
}

/** `from` before `to`, compared as instants (offsets differ: the text order is not the time order). */
function checkPeriod(p: Period): void {
  if (Date.parse(p.from) >= Date.parse(p.to)) {
    throw new AppError('VALIDATION', 'to: must be after from', { fields: ['to'] });
  }
}

const rate = (n: number, of: number) => (of === 0 ? null : Math.round((n / of) * 1000) / 1000);

export async function leadsReport(db: Database, v: Viewer, q: Period & { groupBy: LeadGroupBy }) {
  const regionIds = scopeOf(v);
  checkPeriod(q);
  const rows = await leadReport(db, { ...q, regionIds });
  return {
    from: q.from,
    to: q.to,
    groupBy: q.groupBy,
    rows: rows.map((r) => ({
      key: r.key,
      label: r.label,
      leads: r.leads,
      open: r.open,
      junk: r.junk,
      convertedToContact: r.converted_to_contact,
      convertedToDeal: r.converted_to_deal,
      contactRate: rate(r.converted_to_contact, r.leads),
      dealRate: rate(r.converted_to_deal, r.leads),
      responded: r.responded,
      firstResponseP50Sec: r.first_response_p50_sec,
      firstResponseAvgSec: r.first_response_avg_sec,
      toConversionP50Sec: r.to_conversion_p50_sec,
      toConversionAvgSec: r.to_conversion_avg_sec,
    })),
  };
}

export async function operatorsReport(
  db: Database,
  v: Viewer,
  q: Period & { slaMinutes: number },
  now: Date,
) {
  const regionIds = scopeOf(v);
  checkPeriod(q);
  const rows = await operatorReport(db, { ...q, slaSec: q.slaMinutes * 60, now, regionIds });
  return {
    from: q.from,
    to: q.to,
    slaMinutes: q.slaMinutes,
    rows: rows.map((r) => ({
      operatorId: r.operator_id,
      operator: r.operator,
      contacts: r.contacts,
      calls: r.calls,
      emails: r.emails,
      messages: r.messages,
      forms: r.forms,
      responded: r.responded,
      firstResponseP50Sec: r.first_response_p50_sec,
      firstResponseP90Sec: r.first_response_p90_sec,
      slaBreaches: r.sla_breaches,
      slaRuleBreaches: r.sla_rule_breaches,
      callbacks: r.callbacks,
      callbacksInTime: r.callbacks_in_time,
      callbacksLate: r.callbacks_late,
      callbacksOverdue: r.callbacks_overdue,
    })),
  };
}
