import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../app/config.js';
import type { Publisher } from '../../bus/bus.js';
import type { ChannelSettings, CursorStore, FormSettings } from '../../connectors/contract.js';
import { createWebformConnector } from '../../connectors/webform/index.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { AppError, isAppError } from '../../lib/errors.js';

/**
 * A small app around the webform connector for unit tests: the real plugin under its real prefix, an error
 * handler equivalent to api/error-handler.ts (AppError -> status, `{ error: { code, message, fields } }`,
 * Retry-After), a recording Publisher and in-memory ChannelSettings.
 */

export class RecordingPublisher implements Publisher {
  readonly events: InboundContact[] = [];
  /** When set, publish() rejects with it (nothing is recorded). */
  failWith?: Error;
  async publish(events: InboundContact[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.events.push(...events);
  }
}

export const busDown = () => new AppError('BUS_UNAVAILABLE', 'bus is down (test)', { retryAfterSec: 7 });

export function memorySettings(forms: FormSettings[]): ChannelSettings {
  const byKey = new Map(forms.map((f) => [f.key, f]));
  return {
    getForm: async (key) => byKey.get(key),
    getTelephonyLine: async () => undefined,
    listMailboxes: async () => [],
  };
}

const noCursors: CursorStore = { get: async () => undefined, set: async () => {} };

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
  const app = Fastify({ trustProxy: opts.trustProxy ?? config.trustProxy });
  app.setErrorHandler((err, _request, reply) => {
    if (isAppError(err)) {
      if (err.retryAfterSec !== undefined) reply.header('retry-after', String(err.retryAfterSec));
      return reply
        .code(err.status)
        .send({ error: { code: err.code, message: err.message, fields: err.fields } });
    }
    return reply.code(500).send({ error: { code: 'INTERNAL', message: String(err) } });
  });
  const connector = createWebformConnector({
    config,
    logger: pino({ level: 'silent' }),
    bus,
    settings: memorySettings(opts.forms ?? [form()]),
    cursors: noCursors,
  });
  await app.register(connector.http!.plugin, { prefix: connector.http!.prefix });
  opts.siblings?.(app);
  await app.ready();
  return { app, bus };
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
