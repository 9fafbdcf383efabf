import kafkajs, { type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../lib/logger.js';

const { logLevel } = kafkajs;

export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';

export const KAFKA_LOG_LEVELS: Record<KafkaLogLevel, kafkajs.logLevel> = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/**
 * kafkajs messages demoted to debug. The retry-limit warning is expected: we bound the idempotent producer's
 * retries on purpose (a publish must fail fast into a 503; event ids are deterministic, so a duplicate after a
 * retry is harmless downstream). The connection/crash lines repeat several times a second during a broker
 * outage at error level; the bus logs one warning per failed send and per consumer crash instead.
 */
const EXPECTED = [
  'Limiting retries for the idempotent producer',
  'Connection error:',
  'Failed to send messages: Connection error',
  'Failed to connect to seed broker',
  'Crash: ',
  'Restarting the consumer',
];

/** Routes kafkajs' own logs into the service's pino logger (one JSON stream, same redaction). */
export function pinoLogCreator(logger: Logger): logCreator {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _ts, ...extra } = entry;
      const fields = { namespace, ...extra };
      if (EXPECTED.some((m) => message.startsWith(m))) return log.debug(fields, message);
      if (level === logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else if (level === logLevel.INFO) log.info(fields, message);
      else log.debug(fields, message);
    };
}
