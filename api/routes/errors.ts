import type { FastifyError } from 'fastify';
import { AppError, isAppError } from '../../lib/errors.js';

/**
 * Turns what the API's routes can throw into AppErrors whose message and `fields` name the field, so the central
 * error handler only has to write them out. Anything it does not recognise is returned unchanged.
 */
export function toApiError(err: unknown): unknown {
  if (isAppError(err)) return err;
  const fe = err as FastifyError & { validationContext?: string };
  if (Array.isArray(fe.validation) && fe.validation.length > 0) return validationError(fe);
  const pg = err as { code?: unknown; detail?: unknown; constraint?: unknown };
  if (pg.code === '23505' || pg.code === '23503') return constraintError(pg);
  // Fastify's own 4xx (malformed JSON, empty body with a JSON content type): the body is what is wrong.
  if (typeof fe.code === 'string' && fe.code.startsWith('FST_') && fe.statusCode === 400) {
    return new AppError('VALIDATION', `body: ${fe.message}`, { fields: ['body'], cause: err });
  }
  return err;
}

interface AjvIssue {
  instancePath?: string;
  /** Set on errors about an object's key (propertyNames), next to the key's own error. */
  propertyName?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/rules/0/kind` in the body becomes `rules.0.kind`; a missing property is named itself, not its parent. */
function validationError(fe: FastifyError & { validationContext?: string }): AppError {
  const issue = fe.validation![0] as AjvIssue;
  const path = (issue.instancePath ?? '').split('/').filter(Boolean);
  if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') {
    path.push(issue.params.missingProperty);
  }
  const key = issue.propertyName ?? issue.params?.propertyName;
  if (typeof key === 'string') path.push(key);
  const field = path.join('.') || fe.validationContext || 'body';
  const allowed = Array.isArray(issue.params?.allowedValues)
    ? issue.params.allowedValues.join(', ')
    : undefined;
  let problem = issue.message ?? 'is invalid';
  if (typeof key === 'string') problem = `is not an allowed name${allowed ? ` (allowed: ${allowed})` : ''}`;
  else if (allowed) problem = `must be one of ${allowed}`;
  else if (issue.keyword === 'required') problem = 'is required';
  return new AppError('VALIDATION', `${field}: ${problem}`, { fields: [field] });
}

/** Constraints whose column is not what the API calls the field. */
const FIELD_OF_CONSTRAINT: Record<string, string> = {
  operator_regions_region_id_fkey: 'regionIds',
  operator_regions_operator_id_fkey: 'operatorId',
};

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * PostgreSQL (and PGlite) put the column in `detail`: `Key (login)=(anna) already exists.` A unique violation is
 * a conflict with existing data (409); a missing referenced row, or a row still referenced on delete, means the
 * request cannot be carried out as given (422).
 */
function constraintError(pg: { code?: unknown; detail?: unknown; constraint?: unknown }): AppError {
  const detail = typeof pg.detail === 'string' ? pg.detail : '';
  const constraint = typeof pg.constraint === 'string' ? pg.constraint : '';
  const m = /^Key \(([^)]+)\)=\((.*)\)/.exec(detail);
  const column = m?.[1] ?? 'id';
  const field = FIELD_OF_CONSTRAINT[constraint] ?? camel(column);
  if (pg.code === '23505') {
    return new AppError('CONFLICT', `${field}: "${m?.[2] ?? ''}" is already taken`, {
      fields: [field],
      cause: pg,
    });
  }
  const referencedBy = /referenced from table "([^"]+)"/.exec(detail)?.[1];
  const table = /not present in table "([^"]+)"/.exec(detail)?.[1];
  const message = referencedBy
    ? `${field}: still referenced by ${referencedBy}`
    : `${field}: ${m?.[2] ?? 'value'} does not exist${table ? ` in ${table}` : ''}`;
  return new AppError('UNPROCESSABLE', message, { fields: [field], cause: pg });
}
