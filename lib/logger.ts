import { type DestinationStream, type Logger, pino } from 'pino';
import { safeError, safeRequest } from './log-serializers.js';

export type { Logger };

/**
 * Personal data and secrets never reach the logs in clear: phones, emails, names and credentials are redacted by
 * path, and errors are serialised by allow-list (lib/log-serializers.ts), so a database error's parameters and
 * key values stay out. Child loggers carry fixed fields (role, channel, eventId).
 */
export const REDACT_PATHS = [
  'sender.name',
  'sender.phones',
  'sender.emails',
  'event.sender',
  'identities[*].value',
  'req.headers.authorization',
  'req.headers["x-signature"]',
  'phone',
  'email',
  'password',
  'secret',
  'token',
  'authToken',
  '*.password',
  '*.secret',
  '*.authToken',
  'params',
  'values',
];

export function createLogger(
  opts: { level: string; pretty?: boolean },
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: safeError, error: safeError, cause: safeError, req: safeRequest },
      base: { service: 'contact-ingest' },
    },
    destination,
  );
}
