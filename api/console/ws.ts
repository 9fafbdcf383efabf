import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Database } from '../../crm-core/db/database.js';
import { getOperator } from '../../crm-core/repositories/operator.repository.js';
import type { Viewer } from '../../crm-core/repositories/visibility.repository.js';
import { conversationVisible } from '../../crm-core/services/console-work.service.js';
import type { SessionService } from '../../crm-core/services/session.service.js';
import { serveUpgrades } from '../../lib/http-upgrades.js';
import type { Logger } from '../../lib/logger.js';
import type { RealtimeHub, RealtimeNotice } from '../../realtime/hub.js';
import { topic } from '../../realtime/notices.js';
import { SESSION_COOKIE } from '../auth.js';

/**
 * The operator console's socket, GET /v1/console/ws (protocol: README "Operator console", CONSOLE-PROTOCOL).
 *
 * `ws` in noServer mode on Fastify's own HTTP server: the upgrade is answered by `ws` (the well-kept reference
 * implementation, already a dependency), and everything before it is ours, so refusals carry the protocol's
 * close codes (4401 no session, 4403 foreign Origin) which a browser can read, where an HTTP 401 before the
 * upgrade reaches a page only as a bare "connection failed".
 *
 * The socket only listens: everything that changes data goes over REST with the CSRF header. It subscribes to
 * `operator:<me>` and `region:<r>` of the operator's regions at once, and to `conversation:<id>` on request,
 * after the same visibility check as GET /v1/conversations/:id. Frames of one socket are handled in order.
 * Dead sockets are dropped by ping/pong. A session ended by sign-out, revocation or a password change closes
 * its sockets at once (the `session.ended` notice reaches every instance); one that expired, at the next
 * periodic check (every 20 s).
 */
export const CONSOLE_WS_PATH = '/v1/console/ws';

export interface ConsoleSocketDeps {
  db: Database;
  realtime: RealtimeHub;
  sessions: SessionService;
  logger: Logger;
  /** PUBLIC_URL: its origin is accepted besides the Host the request was sent to. */
  publicUrl?: string;
  heartbeatMs?: number;
  sessionCheckMs?: number;
}

export const CLOSE = { unauthorized: 4401, forbidden: 4403, policy: 1008, going: 1001 } as const;

/** A socket that buffers this much unsent data is too slow to follow: it is dropped and reconnects. */
const MAX_BUFFERED = 1_000_000;
const MAX_CONVERSATIONS = 200;
const TYPING_EVERY_MS = 1_000;
/** Frames waiting to be handled (each may wait for a visibility query): more is a misbehaving client. */
const MAX_PENDING = 50;

interface Client {
  ws: WebSocket;
  sessionId: string;
  viewer: Viewer & { operatorId: number };
  alive: boolean;
  stops: Map<string, () => void>;
  typedAt: Map<number, number>;
  /** The newest message id each conversation was reported read up to by this socket. */
  readUpTo: Map<number, number>;
  /** Frames are handled one after another, in order: a ping after a subscribe is answered after it. */
  queue: Promise<void>;
  pending: number;
}

/** Whether the page that opened the socket is ours: Origin's host is the Host it connected to, or PUBLIC_URL's. */
export function sameOrigin(req: IncomingMessage, publicUrl?: string): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    const o = new URL(origin);
    if (publicUrl && o.origin === new URL(publicUrl).origin) return true;
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === req.headers.host;
  } catch {
    return false;
  }
}

export function attachConsoleSocket(
  app: FastifyInstance,
  deps: ConsoleSocketDeps,
): { readonly size: number } {
  const log = deps.logger.child({ component: 'console-ws' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  const clients = new Set<Client>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      accept(ws, req).catch((err) => {
        log.warn({ err }, 'console socket refused after an error');
        ws.close(1011, 'server error');
      });
    });
  };
  const stopServing = serveUpgrades(app.server, CONSOLE_WS_PATH, onUpgrade);

  async function accept(ws: WebSocket, req: IncomingMessage) {
    if (!sameOrigin(req, deps.publicUrl)) return ws.close(CLOSE.forbidden, 'origin not allowed');
    const sessionId = app.parseCookie(req.headers.cookie ?? '')[SESSION_COOKIE];
    const session = sessionId ? await deps.sessions.resolve(sessionId) : undefined;
    if (!sessionId || !session) return ws.close(CLOSE.unauthorized, 'sign in');
    const op = await getOperator(deps.db, session.operatorId);
    if (!op || ws.readyState !== ws.OPEN) return ws.close(CLOSE.unauthorized, 'sign in');
    const c: Client = {
      ws,
      sessionId,
      viewer: { operatorId: session.operatorId, role: session.role, regionIds: session.regionIds },
      alive: true,
      stops: new Map(),
      typedAt: new Map(),
      readUpTo: new Map(),
      queue: Promise.resolve(),
      pending: 0,
    };
    clients.add(c);
    listen(c, topic.operator(c.viewer.operatorId));
    for (const r of c.viewer.regionIds) listen(c, topic.region(r));
    // A supervisor's work list is the whole region's: they hear of changes to their operators' work too.
    if (c.viewer.role === 'supervisor') for (const r of c.viewer.regionIds) listen(c, topic.supervisors(r));
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('message', (raw, isBinary) => {
      if (++c.pending > MAX_PENDING) return ws.close(CLOSE.policy, 'too many frames');
      const text = isBinary ? '' : raw.toString();
      c.queue = c.queue
        .then(() => onMessage(c, text))
        .catch((err) => {
          log.warn({ err }, 'console socket message failed');
          send(c, { type: 'error', code: 'INTERNAL' });
        })
        .finally(() => {
          c.pending -= 1;
        });
    });
    ws.on('close', () => drop(c));
    ws.on('error', () => drop(c));
    send(c, {
      type: 'hello',
      operator: { id: op.id, name: op.name, login: op.login, status: op.status, extension: op.extension },
      role: c.viewer.role,
      regionIds: c.viewer.regionIds,
    });
  }

  function send(c: Client, frame: Record<string, unknown>) {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BUFFERED) {
      c.ws.terminate();
      return;
    }
    c.ws.send(JSON.stringify(frame));
  }

  function listen(c: Client, t: string) {
    if (c.stops.has(t)) return;
    c.stops.set(
      t,
      deps.realtime.subscribe(t, (n: RealtimeNotice) => {
        if (n.type === 'session.ended') return void checkSessions([c]);
        if (n.type === 'typing') {
          // The typist's own consoles do not need their typing back, nor anybody to learn who typed.
          const { operatorId, ...data } = n.data;
          if (operatorId !== c.viewer.operatorId) send(c, { type: 'typing', ...data });
          return;
        }
        send(c, { type: n.type, ...n.data });
      }),
    );
  }

  function drop(c: Client) {
    if (!clients.delete(c)) return;
    for (const stop of c.stops.values()) stop();
    c.stops.clear();
  }

  async function onMessage(c: Client, raw: string) {
    let m: { type?: unknown; conversationId?: unknown };
    try {
      m = JSON.parse(raw);
    } catch {
      return send(c, { type: 'error', code: 'VALIDATION', message: 'frames are JSON objects' });
    }
    const id = m?.conversationId;
    const validId = typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
    switch (m?.type) {
      case 'ping':
        return send(c, { type: 'pong' });
      case 'subscribe': {
        if (!validId) return send(c, { type: 'error', code: 'VALIDATION', message: 'conversationId' });
        const t = topic.conversation(id);
        if (c.stops.has(t)) return;
        if (c.stops.size >= MAX_CONVERSATIONS + c.viewer.regionIds.length + 1)
          return send(c, { type: 'error', code: 'RATE_LIMITED', message: 'too many subscriptions' });
        if (!(await conversationVisible(deps.db, c.viewer, id)))
          return send(c, { type: 'error', code: 'NOT_FOUND', conversationId: id });
        return listen(c, t);
      }
      case 'unsubscribe': {
        if (!validId) return send(c, { type: 'error', code: 'VALIDATION', message: 'conversationId' });
        const t = topic.conversation(id);
        c.stops.get(t)?.();
        c.stops.delete(t);
        return;
      }
      case 'typing': {
        // Only in a conversation the socket subscribed to, so visibility was checked; at most once a second.
        if (!validId || !c.stops.has(topic.conversation(id)))
          return send(c, { type: 'error', code: 'NOT_FOUND', conversationId: id });
        const now = Date.now();
        if (now - (c.typedAt.get(id) ?? 0) < TYPING_EVERY_MS) return;
        c.typedAt.set(id, now);
        await deps.realtime.publish({
          topic: topic.conversation(id),
          type: 'typing',
          data: { conversationId: id, who: 'operator', operatorId: c.viewer.operatorId },
        });
        return;
      }
      case 'read': {
        // The operator has the conversation on screen up to this message: the visitor's widget shows it read.
        // Only in a subscribed (so visible) conversation, and only forwards: a repeat is dropped.
        const upTo = (m as { upTo?: unknown }).upTo;
        if (!validId || !c.stops.has(topic.conversation(id)))
          return send(c, { type: 'error', code: 'NOT_FOUND', conversationId: id });
        if (typeof upTo !== 'number' || !Number.isSafeInteger(upTo) || upTo < 1)
          return send(c, { type: 'error', code: 'VALIDATION', message: 'upTo: the id of a message' });
        if (upTo <= (c.readUpTo.get(id) ?? 0)) return;
        c.readUpTo.set(id, upTo);
        await deps.realtime.publish({
          topic: topic.conversation(id),
          type: 'read',
          data: { conversationId: id, who: 'operator', upTo },
        });
        return;
      }
      default:
        return send(c, { type: 'error', code: 'VALIDATION', message: 'unknown frame type' });
    }
  }

  // One timer for every socket: ping, and drop those that did not answer the previous ping.
  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        c.ws.terminate();
        drop(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, deps.heartbeatMs ?? 25_000);
  heartbeat.unref();

  /** Closes the sockets whose session is no longer live (one query for all of them). */
  async function checkSessions(list: Client[]) {
    try {
      const live = await deps.sessions.live([...new Set(list.map((c) => c.sessionId))]);
      for (const c of list) if (!live.has(c.sessionId)) c.ws.close(CLOSE.unauthorized, 'session ended');
    } catch (err) {
      log.warn({ err }, 'console session check failed');
    }
  }

  // Sessions that expired, or were revoked where no notice could reach this instance, are found periodically.
  let checking = false;
  const sessionCheck = setInterval(async () => {
    if (checking || clients.size === 0) return;
    checking = true;
    await checkSessions([...clients]);
    checking = false;
  }, deps.sessionCheckMs ?? 20_000);
  sessionCheck.unref();

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    clearInterval(sessionCheck);
    stopServing();
    for (const c of clients) c.ws.close(CLOSE.going, 'server stopping');
    // Sockets that do not finish the closing handshake promptly are cut.
    setTimeout(() => {
      for (const c of wss.clients) c.terminate();
    }, 1_000).unref();
  });
  return {
    get size() {
      return clients.size;
    },
  };
}
