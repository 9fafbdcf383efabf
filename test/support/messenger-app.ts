import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { loadConfig } from '../../app/config.js';
import type { MessengerAccountSettings, ViberAccount, VkAccount } from '../../channels/messengers.js';
import type { ConnectorFactory, UpdateOutcome } from '../../connectors/contract.js';
import { MemoryChannelSettings, noCursors, RecordingPublisher } from './connector-doubles.js';

/**
 * A small app around one messenger connector for unit tests: the real plugin under its real prefix, the central
 * error handler, a recording Publisher, in-memory accounts and every onUpdate call recorded.
 */
export interface MessengerTestApp {
  app: FastifyInstance;
  bus: RecordingPublisher;
  settings: MemoryChannelSettings;
  updates: { vendor: string; kind: string; outcome: UpdateOutcome }[];
}

export async function buildMessengerApp(
  factory: ConnectorFactory,
  accounts: MessengerAccountSettings[],
): Promise<MessengerTestApp> {
  const config = loadConfig({ DEFAULT_COUNTRY: 'RU', LOG_LEVEL: 'silent' });
  const bus = new RecordingPublisher();
  const settings = new MemoryChannelSettings({ accounts });
  const updates: MessengerTestApp['updates'] = [];
  const app = Fastify(httpOptions());
  registerErrorHandler(app);
  const connector = factory({
    config,
    logger: pino({ level: 'silent' }),
    bus,
    settings,
    cursors: noCursors,
    onUpdate: (vendor, kind, outcome) => updates.push({ vendor, kind, outcome }),
  });
  await app.register(connector.http!.plugin, { prefix: connector.http!.prefix });
  await app.ready();
  return { app, bus, settings, updates };
}

export function vkAccount(overrides: Partial<VkAccount> = {}): VkAccount {
  return {
    vendor: 'vk',
    key: 'vk-main',
    name: 'Shop community',
    source: 'VK ads',
    regionId: 3,
    active: true,
    groupId: 214167102,
    accessToken: 'vk1.a.community-token-0123456789',
    secret: 'Kx9vQ2mZ7pLw4tRb',
    confirmationCode: '1a2b3c4d',
    ...overrides,
  };
}

export function viberAccount(overrides: Partial<ViberAccount> = {}): ViberAccount {
  return {
    vendor: 'viber',
    key: 'viber-main',
    name: 'Shop bot',
    source: 'Viber bot',
    active: true,
    authToken: '445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9',
    senderName: 'Shop',
    ...overrides,
  };
}

const FIXTURES = new URL('../unit/messengers/fixtures/', import.meta.url);

/** A vendor fixture exactly as stored: signatures are computed over these bytes. */
export const messengerFixture = (path: string) => readFileSync(new URL(path, FIXTURES), 'utf8');
