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
  RATE_LIMITED: { status: 429, retriable: true, doc: 'Too many requests from this client; see Retry-After.' },
  BUS_UNAVAILABLE: {
    status: 503,
    retriable: true,
    doc: 'The event bus cannot take the event now; nothing was accepted. See Retry-After.',
  },
  DB_UNAVAILABLE: { status: 503, retriable: true, doc: 'The database cannot be reached now.' },
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

export function isRetriable(e: unknown): boolean {
  if (isAppError(e)) return e.retriable;
  if (isProgrammingError(e)) return false;
  const err = e as { retriable?: boolean; code?: string } | undefined;
  if (typeof err?.retriable === 'boolean') return err.retriable; // kafkajs errors carry this flag
  // PostgreSQL: serialization failure, deadlock, unique race, connection problems are worth a retry.
  if (
    typeof err?.code === 'string' &&
    ['40001', '40P01', '57P01', '08006', '08001', '08003', 'ECONNREFUSED', 'ECONNRESET'].includes(err.code)
  ) {
    return true;
  }
  return false;
}
