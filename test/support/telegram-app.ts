import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import type { TelegramAccount } from '../../channels/messengers.js';
import type { CursorStore } from '../../channels/settings.js';
import type { ConnectorContext, UpdateOutcome } from '../../connectors/contract.js';
import { createTelegramConnector, type TelegramConnector } from '../../connectors/telegram/index.js';
import type { TelegramConnectorOptions } from '../../connectors/telegram/options.js';
import { MemoryChannelSettings, RecordingPublisher } from './connector-doubles.js';

/** Telegram connector tests: accounts, documented fixtures, an app around the real plugin, a cursor store. */

export const BOT_TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';
export const WEBHOOK_SECRET = 'tg-secret_0123456789';

export function telegramAccount(overrides: Partial<TelegramAccount> = {}): TelegramAccount {
  return {
    vendor: 'telegram',
    key: 'shop',
    name: 'Shop bot',
    source: 'Telegram shop bot',
    regionId: 3,
    active: true,
    botToken: BOT_TOKEN,
    webhookSecret: WEBHOOK_SECRET,
    mode: 'webhook',
    ...overrides,
  };
}

const FIXTURES = new URL('../unit/telegram/fixtures/', import.meta.url);
export const fixtureText = (name: string) => readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8');
export const fixture = (name: string) => JSON.parse(fixtureText(name)) as Record<string, unknown>;

/** Cursors kept in memory across connector instances: a "restart" is a new connector on the same store. */
export class MemoryCursors implements CursorStore {
  readonly values = new Map<string, unknown>();
  /** When set, set() rejects with it and stores nothing. */
  failWith?: Error;
  async get<T>(connector: string, key: string): Promise<T | undefined> {
    return structuredClone(this.values.get(`${connector}/${key}`)) as T | undefined;
  }
  async set(connector: string, key: string, value: unknown): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.values.set(`${connector}/${key}`, structuredClone(value));
  }
}

export interface TelegramHarness {
  connector: TelegramConnector;
  bus: RecordingPublisher;
  settings: MemoryChannelSettings;
  cursors: CursorStore;
  updates: { vendor: string; kind: string; outcome: UpdateOutcome }[];
  ctx: ConnectorContext;
}

export function telegramHarness(
  opts: {
    accounts?: TelegramAccount[];
    apiUrl?: string;
    bus?: RecordingPublisher;
    cursors?: CursorStore;
    settings?: MemoryChannelSettings;
    options?: TelegramConnectorOptions;
  } = {},
): TelegramHarness {
  const bus = opts.bus ?? new RecordingPublisher();
  const settings =
    opts.settings ?? new MemoryChannelSettings({ accounts: opts.accounts ?? [telegramAccount()] });
  const cursors = opts.cursors ?? new MemoryCursors();
  const updates: TelegramHarness['updates'] = [];
  const ctx: ConnectorContext = {
    config: {
      defaultCountry: 'RU',
      publicUrl: 'https://ingest.example.com',
      formRateLimit: 30,
      vendorApiUrls: {
        telegram: opts.apiUrl ?? 'http://127.0.0.1:9',
        meta: 'http://127.0.0.1:9',
        vk: 'http://127.0.0.1:9',
        viber: 'http://127.0.0.1:9',
      },
    },
    logger: pino({ level: 'silent' }),
    bus,
    settings,
    cursors,
    onUpdate: (vendor, kind, outcome) => updates.push({ vendor, kind, outcome }),
  };
  const connector = createTelegramConnector(ctx, opts.options);
  return { connector, bus, settings, cursors, updates, ctx };
}

/** The real webhook plugin under its real prefix with the central error handler. */
export async function buildTelegramApp(
  h: TelegramHarness = telegramHarness(),
): Promise<TelegramHarness & { app: FastifyInstance }> {
  const app = Fastify(httpOptions());
  registerErrorHandler(app);
  await app.register(h.connector.http.plugin, { prefix: h.connector.http.prefix });
  await app.ready();
  return { ...h, app };
}
