import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { type AppConfig, loadConfig } from '../../app/config.js';
import type { ClientDirectory, TelephonyLineSettings } from '../../channels/settings.js';
import { createTelephonyConnector } from '../../connectors/telephony/index.js';
import { AppError } from '../../lib/errors.js';
import { MemoryChannelSettings, noCursors, RecordingPublisher } from './connector-doubles.js';

export { RecordingPublisher };

/**
 * A small app around the telephony connector for unit tests: the real plugin under its real prefix, the central error
 * handler (api/error-handler.ts), a recording Publisher and in-memory ChannelSettings.
 */

export const busDown = () => new AppError('BUS_UNAVAILABLE', 'bus is down (test)', { retryAfterSec: 5 });

export function telephonyLine(overrides: Partial<TelephonyLineSettings> = {}): TelephonyLineSettings {
  return {
    key: 'main',
    name: 'Main line',
    number: '+74957654321',
    secret: 'line-secret-0123456789',
    source: 'Yandex Direct',
    regionId: 7,
    createLeadOnOutbound: false,
    options: {},
    active: true,
    ...overrides,
  };
}

export interface TelephonyTestApp {
  app: FastifyInstance;
  bus: RecordingPublisher;
  settings: MemoryChannelSettings;
  config: Readonly<AppConfig>;
}

export const PUBLIC_URL = 'https://ingest.example.com';

export async function buildTelephonyApp(
  opts: { lines?: TelephonyLineSettings[]; env?: Record<string, string>; clients?: ClientDirectory } = {},
): Promise<TelephonyTestApp> {
  const config = loadConfig({ DEFAULT_COUNTRY: 'RU', LOG_LEVEL: 'silent', PUBLIC_URL, ...opts.env });
  const bus = new RecordingPublisher();
  const app = Fastify(httpOptions());
  registerErrorHandler(app);
  const settings = new MemoryChannelSettings({ lines: opts.lines ?? [telephonyLine()] });
  const connector = createTelephonyConnector({
    config,
    logger: pino({ level: 'silent' }),
    bus,
    settings,
    cursors: noCursors,
    clients: opts.clients,
  });
  await app.register(connector.http!.plugin, { prefix: connector.http!.prefix });
  await app.ready();
  return { app, bus, config, settings };
}

const FIXTURES = new URL('../unit/telephony/fixtures/', import.meta.url);

/** A fixture file as text, exactly as stored (the wire bytes for urlencoded bodies). */
export const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8').trimEnd();

/**
 * FreeSWITCH's switch_url_encode: the characters it treats as unsafe, and every byte outside printable ASCII,
 * become %XX (upper-case hex). '/', ',' and '.' stay as they are, unlike encodeURIComponent.
 */
export function freeswitchUrlEncode(text: string): string {
  const unsafe = '\r\n "#%&+:;<=>?@[\\]^`{|}';
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out +=
      byte < 32 || byte > 126 || unsafe.includes(ch)
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : ch;
  }
  return out;
}

export const basicAuth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
