import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { registerErrorHandler } from '../../api/error-handler.js';
import { loadConfig } from '../../app/config.js';
import type { StoreSettings } from '../../channels/settings.js';
import type { UpdateOutcome } from '../../connectors/contract.js';
import { createStoreConnector } from '../../connectors/store/index.js';
import { MemoryChannelSettings, noCursors, RecordingPublisher } from './connector-doubles.js';

export const STORE_SECRET = 'store-secret-0123456789';

export function store(overrides: Partial<StoreSettings> = {}): StoreSettings {
  return {
    key: 'shop',
    name: 'Shop',
    secret: STORE_SECRET,
    platform: 'woocommerce',
    active: true,
    ...overrides,
  };
}

/** The store connector under its real prefix with the central error handler, a recording bus and settings. */
export async function buildStoreApp(stores: StoreSettings[] = [store()]) {
  const config = loadConfig({ DEFAULT_COUNTRY: 'RU', LOG_LEVEL: 'silent' });
  const bus = new RecordingPublisher();
  const counted: [string, string, UpdateOutcome][] = [];
  const app: FastifyInstance = Fastify();
  registerErrorHandler(app);
  const connector = createStoreConnector({
    config,
    logger: pino({ level: 'silent' }),
    bus,
    settings: new MemoryChannelSettings({ stores }),
    cursors: noCursors,
    onUpdate: (v, k, o) => counted.push([v, k, o]),
  });
  await app.register(connector.http!.plugin, { prefix: connector.http!.prefix });
  await app.ready();
  return { app, bus, counted };
}
