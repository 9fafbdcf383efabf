import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { loadConfig } from '../../app/config.js';
import type { InstagramAccount, WhatsAppAccount } from '../../channels/messengers.js';
import type { UpdateOutcome } from '../../connectors/contract.js';
import { createInstagramConnector } from '../../connectors/instagram/index.js';
import { createWhatsAppConnector } from '../../connectors/whatsapp/index.js';
import { hmacSha256Hex } from '../../lib/credentials.js';
import { MemoryChannelSettings, noCursors, RecordingPublisher } from './connector-doubles.js';

/**
 * The WhatsApp and Instagram connectors for unit tests: the real plugins under their real prefixes, the central
 * error handler, a recording Publisher, in-memory accounts and every onUpdate call recorded. Accounts use the
 * ids of Meta's documentation examples, so fixtures copied from it need no editing.
 */
export const WA_PHONE_NUMBER_ID = '106540352242922';
export const IG_USER_ID = '17841405822304914';

export function whatsappAccount(overrides: Partial<WhatsAppAccount> = {}): WhatsAppAccount {
  return {
    vendor: 'whatsapp',
    key: 'wa-main',
    name: 'WhatsApp sales',
    source: 'WhatsApp ad',
    regionId: 3,
    active: true,
    phoneNumberId: WA_PHONE_NUMBER_ID,
    accessToken: 'EAAG-whatsapp-token',
    appSecret: 'wa-app-secret-0123456789',
    verifyToken: 'wa-verify-token',
    ...overrides,
  };
}

export function instagramAccount(overrides: Partial<InstagramAccount> = {}): InstagramAccount {
  return {
    vendor: 'instagram',
    key: 'ig-main',
    name: 'Instagram shop',
    active: true,
    igUserId: IG_USER_ID,
    accessToken: 'EAAG-instagram-token',
    appSecret: 'ig-app-secret-0123456789',
    verifyToken: 'ig-verify-token',
    ...overrides,
  };
}

export interface MetaTestApp {
  app: FastifyInstance;
  bus: RecordingPublisher;
  settings: MemoryChannelSettings;
  updates: { vendor: string; kind: string; outcome: UpdateOutcome }[];
}

export async function buildMetaApp(
  accounts: (WhatsAppAccount | InstagramAccount)[] = [whatsappAccount(), instagramAccount()],
): Promise<MetaTestApp> {
  const config = loadConfig({ DEFAULT_COUNTRY: 'RU', LOG_LEVEL: 'silent' });
  const bus = new RecordingPublisher();
  const settings = new MemoryChannelSettings({ accounts });
  const updates: MetaTestApp['updates'] = [];
  const ctx = {
    config,
    logger: pino({ level: 'silent' }),
    bus,
    settings,
    cursors: noCursors,
    onUpdate: (vendor: string, kind: string, outcome: UpdateOutcome) =>
      updates.push({ vendor, kind, outcome }),
  };
  const app = Fastify(httpOptions());
  registerErrorHandler(app);
  for (const c of [createWhatsAppConnector(ctx), createInstagramConnector(ctx)]) {
    await app.register(c.http!.plugin, { prefix: c.http!.prefix });
  }
  await app.ready();
  return { app, bus, settings, updates };
}

/** X-Hub-Signature-256 as Meta computes it: `sha256=` + HMAC-SHA256 of the raw body with the app secret. */
export const metaSignature = (appSecret: string, body: string) => `sha256=${hmacSha256Hex(appSecret, body)}`;

/** POSTs a raw body as Meta does, signed with `secret` unless a signature header is given. */
export function postSigned(
  app: FastifyInstance,
  url: string,
  body: string,
  secret: string,
  signature: string | null = metaSignature(secret, body),
) {
  return app.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': 'application/json',
      ...(signature !== null && { 'x-hub-signature-256': signature }),
    },
    payload: body,
  });
}

const FIXTURES = new URL('../unit/meta/fixtures/', import.meta.url);

/** A fixture file exactly as stored: its bytes are what gets signed. */
export const metaFixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
