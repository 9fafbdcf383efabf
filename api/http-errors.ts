import { EventValidationError } from '../event/inbound-contact.js';
import { AppError, type ErrorCode, isAppError } from '../lib/errors.js';

/**
 * The one translator from whatever a route, a plugin or Fastify itself can throw to an AppError whose code,
 * message and `fields` the central error handler (api/error-handler.ts) writes out. Every part of the HTTP
 * server (API, webhooks, forms) goes through it, so one kind of mistake gets one status everywhere: malformed
 * or invalid input is 400 VALIDATION (also an event the event schema refuses, on forms and telephony alike),
 * a well-formed request the service cannot use is 422 UNPROCESSABLE. Anything unrecognised is INTERNAL.
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof EventValidationError) {
    const fields = [...new Set(err.issues.map((i) => i.path || 'body'))];
    return new AppError('VALIDATION', err.message, { fields, cause: err });
  }
  const fe = err as {
    validation?: unknown;
    validationContext?: string;
    code?: unknown;
    statusCode?: unknown;
  };
  if (Array.isArray(fe?.validation) && fe.validation.length > 0) return validationError(fe);
  const code = typeof fe?.code === 'string' ? fe.code : undefined;
  if (code && Object.hasOwn(FASTIFY_CODES, code)) return fastifyError(err as Error, FASTIFY_CODES[code]!);
  if (code === '23505' || code === '23503') return constraintError(err as PgError);
  // Class 22 (data exception: a value too long, out of range, not storable) means a check above the database
  // let something through; the request is still what is wrong, and the handler logs it to be fixed.
  if (code && /^22[0-9A-Z]{3}$/.test(code) && isPgError(err)) {
    return new AppError('VALIDATION', 'a value cannot be stored (too long, out of range or not text)', {
      cause: err,
    });
  }
  // Other Fastify and plugin errors that carry a client status (415 from a content-type check, 429...).
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 0;
  if (status >= 400 && status < 500) {
    const byStatus: Record<number, ErrorCode> = {
      401: 'UNAUTHORIZED',
      403: 'FORBIDDEN',
      404: 'NOT_FOUND',
      413: 'PAYLOAD_TOO_LARGE',
      414: 'URI_TOO_LONG',
      415: 'UNSUPPORTED_MEDIA_TYPE',
      429: 'RATE_LIMITED',
      431: 'HEADERS_TOO_LARGE',
    };
    return new AppError(byStatus[status] ?? 'VALIDATION', (err as Error).message || 'bad request', {
      cause: err,
    });
  }
  return new AppError('INTERNAL', 'internal error', { cause: err });
}

/** Fastify's and @fastify/multipart's own errors: what each becomes, and which part of the request it is about. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; field: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  FST_REQ_FILE_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  FST_PARTS_LIMIT: { code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  FST_FILES_LIMIT: { code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  FST_FIELDS_LIMIT: { code: 'PAYLOAD_TOO_LARGE', field: 'body' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'VALIDATION', field: 'content-length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'VALIDATION', field: 'body', message: 'must not be empty JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'VALIDATION', field: 'body', message: 'is not valid JSON' },
  FST_ERR_BAD_URL: { code: 'VALIDATION', field: 'url', message: 'is not a valid URL' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', field: 'url', message: 'has a path segment too long' },
};

function fastifyError(err: Error, to: { code: ErrorCode; field: string; message?: string }): AppError {
  return new AppError(to.code, `${to.field}: ${to.message ?? err.message}`, {
    fields: [to.field],
    cause: err,
  });
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
function validationError(fe: { validation?: unknown; validationContext?: string }): AppError {
  const issue = (fe.validation as AjvIssue[])[0]!;
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
  else if (issue.keyword === 'format' && issue.params?.format === 'date-time') {
    problem = 'must be a date-time between 1900 and 9999 with an offset of at most ±14:00';
  }
  return new AppError('VALIDATION', `${field}: ${problem}`, { fields: [field] });
}

interface PgError {
  code?: unknown;
  detail?: unknown;
  constraint?: unknown;
}

/** PostgreSQL and PGlite errors carry a severity next to their SQLSTATE; Node's own errors do not. */
export const isPgError = (e: unknown) => !!e && typeof e === 'object' && 'severity' in e;

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
function constraintError(pg: PgError): AppError {
  const detail = typeof pg.detail === 'string' ? pg.detail : '';
  const constraint = typeof pg.constraint === 'string' ? pg.constraint : '';
  const m = /^Key \(([^)]+)\)=\((.*)\)/.exec(detail);
  const column = m?.[1] ?? 'id';
  const field = Object.hasOwn(FIELD_OF_CONSTRAINT, constraint)
    ? FIELD_OF_CONSTRAINT[constraint]!
    : camel(column);
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
