import Fastify, { type FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { conversationsApi } from '../../api/conversations.js';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { apiRoutes } from '../../api/routes/index.js';
import { seedDemo } from '../../app/demo-seed.js';
import type { Bus } from '../../bus/bus.js';
import { createMemoryBus } from '../../bus/memory-bus.js';
import type { WidgetSettings } from '../../channels/widgets.js';
import { createLivechatConnector } from '../../connectors/livechat/index.js';
import type { LivechatOptions } from '../../connectors/livechat/socket.js';
import { channelSettings, cursorStore } from '../../crm-core/repositories/channel-settings.repository.js';
import { livechatReader, upsertWidget } from '../../crm-core/repositories/widget.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createMessengerOutbox, type MessengerOutbox } from '../../outbound/messengers/outbox.js';
import type { RealtimeHub } from '../../realtime/hub.js';
import { createMemoryHub } from '../../realtime/memory-hub.js';
import { createNotifier } from '../../realtime/notices.js';
import { createRouter } from '../../router/router.js';
import { ADMIN_TOKEN } from './api-app.js';
import type { TestDatabase } from './db.js';

export const SITE = 'https://shop.example';

/**
 * The live chat end to end in one process, as the embedded default runs it: the visitor socket and /widget.js
 * (the connector's real plugin), the in-process bus with the router on it (a publish resolves once routed), the
 * in-process hub, the API and the conversations API with the messenger outbox (whose live-chat sender answers
 * visitors), listening on a real port for WebSocket clients. Widget `shop` allows SITE.
 */
export interface LivechatTestApp {
  app: FastifyInstance;
  url: string;
  wsUrl: string;
  bus: Bus;
  hub: RealtimeHub;
  outbox: MessengerOutbox;
  tokens: Record<string, string>;
  ops: Record<string, number>;
  close(): Promise<void>;
}

export const shopWidget = (over: Partial<WidgetSettings> = {}): WidgetSettings => ({
  key: 'shop',
  name: 'Shop chat',
  allowedOrigins: [SITE],
  colors: { primary: '#0a7d5a' },
  texts: { en: { title: 'Shop' } },
  // Asked, not required: most tests chat without the form (the visitor-socket test covers required fields).
  preChat: { fields: ['name', 'phone'], required: [] },
  source: 'site chat',
  active: true,
  ...over,
});

export async function buildLivechatApp(
  t: TestDatabase,
  options: Partial<LivechatOptions> = {},
  widget: WidgetSettings = shopWidget(),
): Promise<LivechatTestApp> {
  const logger = createLogger({ level: 'silent' });
  const seed = (await seedDemo(t.db))!;
  await upsertWidget(t.db, widget);
  const bus = createMemoryBus({ logger });
  await bus.start();
  const router = createRouter({ db: t.db, logger, callbackDeadlineMin: 30, meaningfulCallSec: 60 });
  const subscription = await bus.subscribe(router.handle);
  const hub = createMemoryHub();
  const outbox = createMessengerOutbox({
    db: t.db,
    logger,
    urls: {
      telegram: 'http://127.0.0.1:9',
      meta: 'http://127.0.0.1:9',
      vk: 'http://127.0.0.1:9',
      viber: 'http://127.0.0.1:9',
    },
    realtime: hub,
    options: { retryInitialMs: 50, retryMaxMs: 200, leaseMs: 3_000 },
  });
  const config = { adminToken: ADMIN_TOKEN, defaultCountry: 'RU', trustProxy: false };
  const connector = createLivechatConnector(
    {
      config: {
        defaultCountry: 'RU',
        publicUrl: 'http://127.0.0.1',
        formRateLimit: 30,
        vendorApiUrls: {} as never,
      },
      logger,
      bus,
      settings: channelSettings(t.db),
      cursors: cursorStore(t.db),
      livechat: livechatReader(t.db, 0),
      realtime: hub,
    },
    options,
  );
  const app = Fastify(httpOptions());
  registerErrorHandler(app);
  await app.register(connector.http!.plugin, { prefix: connector.http!.prefix });
  // One notifier for both, as api/server.ts wires them: a closed conversation is heard by the visitor's socket.
  const notices = createNotifier(hub, logger);
  await app.register(apiRoutes, { db: t.db, config, notices });
  await app.register(conversationsApi, { db: t.db, config, outbox, sendWaitMs: 5_000, notices });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/v1/widget/ws`,
    bus,
    hub,
    outbox,
    tokens: Object.fromEntries(seed.operators.map((o) => [o.login, o.token])),
    ops: Object.fromEntries(seed.operators.map((o) => [o.login, o.id])),
    async close() {
      await app.close();
      await outbox.stop();
      await subscription.stop();
      await bus.close();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: frames are checked by the assertions
export type Frame = Record<string, any>;

/** A visitor's socket as a test sees it: every frame received, in order, and waiting for the next of a kind. */
export interface VisitorClient {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  next(type: string, match?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  send(frame: object): void;
  close(): Promise<void>;
}

export function visitor(
  wsUrl: string,
  q: Record<string, string | number | undefined>,
  /** null: no Origin header (not a browser). */
  origin: string | null = SITE,
): VisitorClient {
  const params = new URLSearchParams(
    Object.entries(q).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
  );
  const ws = new WebSocket(`${wsUrl}?${params}`, origin ? { origin } : {});
  const frames: Frame[] = [];
  const taken = new WeakSet<Frame>();
  const waiters: { type: string; match: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }[] =
    [];
  ws.on('message', (raw) => {
    const f = JSON.parse(String(raw)) as Frame;
    frames.push(f);
    for (const w of [...waiters]) {
      if (w.type === f.type && w.match(f)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(f);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  return {
    ws,
    frames,
    closed,
    next(type, match = () => true, timeoutMs = 5_000) {
      const have = frames.find((f) => f.type === type && match(f) && !taken.has(f));
      if (have) {
        taken.add(have);
        return Promise.resolve(have);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${type} frame within ${timeoutMs} ms: ${JSON.stringify(frames)}`)),
          timeoutMs,
        );
        waiters.push({
          type,
          match,
          from: frames.length,
          resolve: (f) => {
            clearTimeout(timer);
            taken.add(f);
            resolve(f);
          },
        });
      });
    },
    send(frame) {
      if (ws.readyState === ws.CONNECTING) ws.once('open', () => ws.send(JSON.stringify(frame)));
      else ws.send(JSON.stringify(frame));
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}
