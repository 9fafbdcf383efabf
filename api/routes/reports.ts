import type { FastifyInstance } from 'fastify';
import { LEAD_GROUPS, type LeadGroupBy } from '../../crm-core/repositories/lead-report.repository.js';
import { DEFAULT_SLA_MINUTES, leadsReport, operatorsReport } from '../../crm-core/services/report.service.js';
import { viewerOf } from '../auth.js';
import { type ReportFormat, sendCsv, wantsCsv } from '../csv.js';
import type { RouteContext } from './context.js';
import * as s from './schemas.js';

const LEAD_COLUMNS = [
  'key',
  'label',
  'leads',
  'open',
  'junk',
  'convertedToContact',
  'convertedToDeal',
  'contactRate',
  'dealRate',
  'responded',
  'firstResponseP50Sec',
  'firstResponseAvgSec',
  'toConversionP50Sec',
  'toConversionAvgSec',
] as const;

const OPERATOR_COLUMNS = [
  'operatorId',
  'operator',
  'contacts',
  'calls',
  'emails',
  'messages',
  'forms',
  'responded',
  'firstResponseP50Sec',
  'firstResponseP90Sec',
  'slaBreaches',
  'slaRuleBreaches',
  'callbacks',
  'callbacksInTime',
  'callbacksLate',
  'callbacksOverdue',
] as const;

const period = {
  from: { type: 'string', format: 'date-time' },
  to: { type: 'string', format: 'date-time' },
  format: { type: 'string', enum: ['json', 'csv'] },
} as const;

const row = (columns: readonly string[]) =>
  s.obj(Object.fromEntries(columns.map((c) => [c, { type: ['string', 'number', 'null'] }])));
const doc = (summary: string, query: Record<string, unknown>, columns: readonly string[]) => ({
  tags: ['reports'],
  summary,
  security: s.security,
  querystring: s.body(query, ['from', 'to']),
  response: {
    200: {
      description: 'JSON as below; with ?format=csv or Accept: text/csv, the rows as CSV (text/csv)',
      ...s.obj({ from: s.str, to: s.str, rows: { type: 'array', items: row(columns) } }),
    },
    ...s.errors(400, 401, 403),
  },
});

interface LeadsQuery {
  from: string;
  to: string;
  groupBy: LeadGroupBy;
  format?: ReportFormat;
}
interface OperatorsQuery {
  from: string;
  to: string;
  slaMinutes: number;
  format?: ReportFormat;
}

/** GET /v1/reports/leads and /v1/reports/operators (admin and supervisor; crm-core/services/report.service.ts). */
export function reportRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireOperator;

  app.get<{ Querystring: LeadsQuery }>(
    '/v1/reports/leads',
    {
      onRequest,
      schema: doc(
        'Leads by source, channel, region or operator: conversion to contact and deal, time to first response and to conversion (admin, supervisor: their regions)',
        { ...period, groupBy: { type: 'string', enum: [...LEAD_GROUPS], default: 'source' } },
        LEAD_COLUMNS,
      ),
    },
    async (request, reply) => {
      const { format, ...q } = request.query;
      const report = await leadsReport(ctx.db, viewerOf(request), q);
      if (wantsCsv(request, format)) return sendCsv(reply, 'leads-report.csv', LEAD_COLUMNS, report.rows);
      return report;
    },
  );

  app.get<{ Querystring: OperatorsQuery }>(
    '/v1/reports/operators',
    {
      onRequest,
      schema: doc(
        'Per operator: contacts handled by channel, first-response p50/p90, SLA breaches, callbacks done in time (admin, supervisor: operators of their regions)',
        {
          ...period,
          slaMinutes: { type: 'integer', minimum: 1, maximum: 10_080, default: DEFAULT_SLA_MINUTES },
        },
        OPERATOR_COLUMNS,
      ),
    },
    async (request, reply) => {
      const { format, ...q } = request.query;
      const report = await operatorsReport(ctx.db, viewerOf(request), q, new Date());
      if (wantsCsv(request, format)) {
        return sendCsv(reply, 'operators-report.csv', OPERATOR_COLUMNS, report.rows);
      }
      return report;
    },
  );
}
