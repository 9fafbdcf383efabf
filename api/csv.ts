import { stringify } from 'csv-stringify/sync';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Reports as CSV (RFC 4180, via csv-stringify): asked for with `?format=csv` or `Accept: text/csv` (an explicit
 * `?format=json` wins over the header). UTF-8 with a byte-order mark, so spreadsheet programs read Cyrillic
 * names right; CRLF line ends; fields quoted where needed; a value starting with = + - @ or a tab is prefixed
 * with ' so a spreadsheet shows it instead of running it as a formula (operator, source and region names are
 * typed by people).
 */
export type ReportFormat = 'json' | 'csv';

export function wantsCsv(request: FastifyRequest, format: ReportFormat | undefined): boolean {
  if (format) return format === 'csv';
  return /(^|[\s,])text\/csv\b/i.test(request.headers.accept ?? '');
}

export function sendCsv(
  reply: FastifyReply,
  filename: string,
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
) {
  const body = stringify(rows as Record<string, unknown>[], {
    header: true,
    columns: [...columns],
    bom: true,
    record_delimiter: 'windows',
    escape_formulas: true,
  });
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(body);
}
