import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { loadConfig } from '../../app/config.js';
import type { FormSettings } from '../../channels/settings.js';
import { createWebformConnector } from '../../connectors/webform/index.js';
import { AppError } from '../../lib/errors.js';
import { MemoryChannelSettings, noCursors, RecordingPublisher } from './connector-doubles.js';

export { RecordingPublisher };

/**
 * A small app around the webform connector for unit tests: the real plugin under its real prefix, the central error
 * handler (api/error-handler.ts), a recording Publisher and in-memory ChannelSettings.
 */

export const busDown = () => new AppError('BUS_UNAVAILABLE', 'bus is down (test)', { retryAfterSec: 7 });

export function form(overrides: Partial<FormSettings> = {}): FormSettings {
  return {
    key: 'contact',
    name: 'Contact us',
    fieldMap: {},
    allowedOrigins: ['https://shop.example'],
    active: true,
    ...overrides,
  };
}

export interface WebformTestApp {
  app: FastifyInstance;
  bus: RecordingPublisher;
  settings: MemoryChannelSettings;
}

export async function buildWebformApp(
  opts: {
    forms?: FormSettings[];
    env?: Record<string, string>;
    trustProxy?: boolean;
    /** Routes registered next to the connector, e.g. to show its parsers and hooks do not leak. */
    siblings?: (app: FastifyInstance) => void;
  } = {},
): Promise<WebformTestApp> {
  const config = loadConfig({ DEFAULT_COUNTRY: 'RU', LOG_LEVEL: 'silent', ...opts.env });
  const bus = new RecordingPublisher();
  const app = Fastify({ ...httpOptions(), trustProxy: opts.trustProxy ?? config.trustProxy });
  registerErrorHandler(app);
  const settings = new MemoryChannelSettings({ forms: opts.forms ?? [form()] });
  const connector = createWebformConnector({
    config,
    logger: pino({ level: 'silent' }),
    bus,
    settings,
    cursors: noCursors,
  });
  await app.register(connector.http!.plugin, { prefix: connector.http!.prefix });
  opts.siblings?.(app);
  await app.ready();
  return { app, bus, settings };
}

/** A multipart/form-data body built by hand, so tests control exactly what is sent (fields and files). */
export function multipartBody(
  fields: Record<string, string>,
  files: { field: string; filename: string; content: string | Buffer }[] = [],
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----webformtest7MA4YWxkTrZu0gW';
  const chunks: (string | Buffer)[] = [];
  for (const [k, v] of Object.entries(fields)) {
    chunks.push(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  }
  for (const f of files) {
    chunks.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
      f.content,
      '\r\n',
    );
  }
  chunks.push(`--${boundary}--\r\n`);
  return {
    payload: Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
