import Fastify, { type FastifyInstance } from 'fastify';
import { conversationsApi } from '../../api/conversations.js';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { seedDemo } from '../../app/demo-seed.js';
import { upsertMessengerAccount } from '../../crm-core/repositories/messenger-account.repository.js';
import { createLogger } from '../../lib/logger.js';
import {
  createMessengerOutbox,
  type MessengerOutbox,
  type MessengerOutboxOptions,
} from '../../outbound/messengers/outbox.js';
import { createRouter, type Router } from '../../router/router.js';
import { ADMIN_TOKEN } from './api-app.js';
import type { TestDatabase } from './db.js';
import { type LocalMessenger, localSenderRegistry } from './local-messenger.js';

/**
 * The conversation API with a messenger outbox whose senders talk to a LocalMessenger, the demo seed, a router
 * (to route messages in), and the accounts `telegram-bot` and `whatsapp-bot`.
 */
export interface ConversationTestApp {
  app: FastifyInstance;
  router: Router;
  outbox: MessengerOutbox;
  tokens: Record<string, string>;
  ops: Record<string, number>;
}

export async function buildConversationApp(
  t: TestDatabase,
  messenger: LocalMessenger,
  options: MessengerOutboxOptions = {},
): Promise<ConversationTestApp> {
  const logger = createLogger({ level: 'silent' });
  const seed = (await seedDemo(t.db))!;
  await upsertMessengerAccount(t.db, {
    vendor: 'telegram',
    key: 'telegram-bot',
    name: 'Bot',
    botToken: '1:x',
    mode: 'polling',
    active: true,
  });
  await upsertMessengerAccount(t.db, {
    vendor: 'whatsapp',
    key: 'whatsapp-bot',
    name: 'WA',
    phoneNumberId: '1065',
    accessToken: 'a',
    appSecret: 'b',
    verifyToken: 'c',
    active: true,
  });
  const router = createRouter({ db: t.db, logger, callbackDeadlineMin: 30, meaningfulCallSec: 60 });
  const outbox = createMessengerOutbox({
    db: t.db,
    logger,
    urls: { telegram: messenger.url, meta: messenger.url, vk: messenger.url, viber: messenger.url },
    registry: localSenderRegistry(messenger),
    options: { retryInitialMs: 50, retryMaxMs: 200, leaseMs: 3_000, ...options },
  });
  const app = Fastify(httpOptions());
  registerErrorHandler(app);
  await app.register(conversationsApi, {
    db: t.db,
    config: { adminToken: ADMIN_TOKEN, defaultCountry: 'RU', trustProxy: false },
    outbox,
    sendWaitMs: 5_000,
  });
  await app.ready();
  return {
    app,
    router,
    outbox,
    tokens: Object.fromEntries(seed.operators.map((o) => [o.login, o.token])),
    ops: Object.fromEntries(seed.operators.map((o) => [o.login, o.id])),
  };
}
