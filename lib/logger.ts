import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/**
 * Personal data never reaches the logs in clear: phones, emails and names inside events and requests are
 * redacted by path. Child loggers carry fixed fields (role, channel, eventId).
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
];

export function createLogger(
  opts: { level: string; pretty?: boolean },
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'contact-ingest' },
    },
    destination,
  );
}
