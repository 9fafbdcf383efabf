/**
 * One error registry for the whole service. Each error has a stable code (clients and tests match on it,
 * never on the message), an HTTP status (mapped in exactly one place: api/error-handler.ts) and a flag that
 * tells retry loops whether trying again can help.
 */
export const ErrorCodes = {
  VALIDATION: {
    status: 400,
    retriable: false,
    doc: 'The request or event failed validation; the message names the field.',
  },
  UNPROCESSABLE: {
    status: 422,
    retriable: false,
    doc: 'The request is well-formed but cannot be used (e.g. no identity).',
  },
  UNAUTHORIZED: { status: 401, retriable: false, doc: 'Missing or wrong token / signature.' },
  FORBIDDEN: {
    status: 403,
    retriable: false,
    doc: 'Authenticated but not allowed (e.g. origin not in the CORS allow-list).',
  },
  NOT_FOUND: { status: 404, retriable: false, doc: 'No such resource.' },
  CONFLICT: {
    status: 409,
    retriable: false,
    doc: "A unique value is already taken, or the record's state does not allow the change (a converted lead).",
  },
  WINDOW_CLOSED: {
    status: 409,
    retriable: false,
    doc: "WhatsApp's 24-hour customer-service window is closed: only an approved template may be sent.",
  },
  VENDOR_UNAVAILABLE: {
    status: 502,
    retriable: true,
    doc: "A messenger vendor's API failed or refused a request made on the caller's behalf (a file download).",
  },
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false, doc: 'The body is larger than the endpoint takes.' },
  URI_TOO_LONG: { status: 414, retriable: false, doc: 'A path segment is longer than any key or id.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retriable: false,
    doc: 'The Content-Type is not one the endpoint reads.',
  },
  HEADERS_TOO_LARGE: { status: 431, retriable: false, doc: 'The request headers are too large.' },
  RATE_LIMITED: { status: 429, retriable: true, doc: 'Too many requests from this client; see Retry-After.' },
  BUS_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'The event bus cannot take the event now; nothing was accepted. See Retry-After.',
  },
  DB_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'The database cannot be reached now (restarting, unreachable); nothing was written. See Retry-After.',
  },
  IDENTITY_RACE: {
    status: 503,
    retriable: true,
    doc: 'Another router created the same identity concurrently; the batch is retried.',
  },
  ENTITY_BUSY: {
    status: 503,
    retriable: true,
    doc: 'The record is being written by the router right now (a merge or conversion could not lock it); retry.',
  },
  CONFIG: { status: 500, retriable: false, doc: 'Invalid configuration (start-up only).' },
  INTERNAL: { status: 500, retriable: false, doc: 'Unexpected error; see the logs.' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  /** Field path(s) the error is about, echoed in the HTTP body so clients can highlight them. */
  readonly fields?: string[];
  readonly retryAfterSec?: number;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; fields?: string[]; retryAfterSec?: number; retriable?: boolean } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.retriable = opts.retriable ?? ErrorCodes[code].retriable;
    this.fields = opts.fields;
    this.retryAfterSec = opts.retryAfterSec;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** Programming errors are never retried: retrying a bug only hides it. */
export function isProgrammingError(e: unknown): boolean {
  return (
    e instanceof TypeError ||
    e instanceof RangeError ||
    e instanceof SyntaxError ||
    e instanceof ReferenceError
  );
}

/**
 * The database is away (restarting, unreachable, refusing connections), as opposed to answering: whatever was
 * asked may well succeed once it is back, so such an error is retriable and never makes an event poison.
 * - SQLSTATE class 08 (connection exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
 *   now (starting up / shutting down), 53300 too many connections;
 * - Node socket errors: the server closed or refused the connection.
 */
export function isDatabaseAwayCode(code: string): boolean {
  return (
    code.startsWith('08') ||
    ['57P01', '57P02', '57P03', '53300'].includes(code) ||
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)
  );
}

/**
 * node-postgres raises a few connection failures as plain Errors without a code; these are its exact messages
 * (pg/lib/client.js, pg-pool). They are matched here, once, so no caller ever has to look at message text.
 */
const PG_DRIVER_AWAY_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
];

/** True for an AppError DB_UNAVAILABLE, an error with a database-away code, or the driver's codeless ones. */
export function isDatabaseAway(e: unknown): boolean {
  if (isAppError(e)) return e.code === 'DB_UNAVAILABLE';
  const err = e as { code?: unknown; message?: unknown } | undefined;
  if (typeof err?.code === 'string') return isDatabaseAwayCode(err.code);
  return e instanceof Error && PG_DRIVER_AWAY_MESSAGES.includes(e.message);
}

/** The Retry-After a client is told while the database is away (a restart takes a few seconds). */
export const DB_RETRY_AFTER_SEC = 2;

export function isRetriable(e: unknown): boolean {
  if (isAppError(e)) return e.retriable;
  if (isProgrammingError(e)) return false;
  const err = e as { retriable?: boolean; code?: string } | undefined;
  if (typeof err?.retriable === 'boolean') return err.retriable; // kafkajs errors (and RetriesExhaustedError)
  if (isDatabaseAway(e)) return true;
  // PostgreSQL: a serialization failure or a deadlock is worth another try.
  return typeof err?.code === 'string' && ['40001', '40P01'].includes(err.code);
}
