import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import { isChannelKey } from '../../channels/settings.js';
import {
  type LivechatReader,
  NOTICE_TEXT_MAX,
  type PreChatField,
  visitorTopic,
  type WidgetSettings,
} from '../../channels/widgets.js';
import type { BusEvent } from '../../event/bus-event.js';
import { AppError, isAppError } from '../../lib/errors.js';
import { serveUpgrades } from '../../lib/http-upgrades.js';
import type { RealtimeHub, RealtimeNotice } from '../../realtime/hub.js';
import { topic } from '../../realtime/notices.js';
import type { ConnectorContext } from '../contract.js';
import { contactEvent, deliveredStatus, messageEvent, type PageContext, pageUrl } from './events.js';
import { checkContact, checkMessage, contactFields, missingRequired } from './frames.js';
import { originAllowed } from './origin.js';
import { CLOSE, type ServerFrame, WIDGET_WS_PATH } from './protocol.js';
import { createRateLimiter } from './rate-limit.js';
import { isVisitorToken, newVisitorToken, visitorIdOf } from './visitor.js';

export interface LivechatOptions {
  /** Messages and contacts one visitor may send per minute (LIVECHAT_RATE_LIMIT). */
  visitorPerMinute: number;
  /** Messages and contacts from one IP address per minute, all its visitors together (LIVECHAT_IP_RATE_LIMIT). */
  ipPerMinute: number;
  /** New sockets from one IP address per minute (page views, reconnects). */
  connectionsPerMinute: number;
  historyLimit: number;
  /** Newest messages repeated in every history, so one committed late with a lower id is not skipped. */
  historyOverlap: number;
  heartbeatMs: number;
}

export const LIVECHAT_DEFAULTS: LivechatOptions = {
  visitorPerMinute: 20,
  ipPerMinute: 60,
  connectionsPerMinute: 60,
  historyLimit: 200,
  historyOverlap: 20,
  heartbeatMs: 25_000,
};

const BUS_RETRY_AFTER_SEC = 5;
const TYPING_EVERY_MS = 1_500;
/**
 * How long an open conversation is trusted before a visitor's message looks it up again. A new one opens only
 * after the old one closed (hours idle, or an operator closing it), and an operator's reply names its
 * conversation at once; looking up after every message cost a database round trip on the HTTP thread per
 * visitor message (a quarter of all statements in the chat bench). A closed one is looked up after every message.
 */
const CONVERSATION_RECHECK_MS = 60_000;
const DELIVERED_WAIT_MS = 250;
const DELIVERED_TRIES = 40;
/** A read receipt covers the visitor's newest messages, not their whole history. */
const READ_RECENT = 50;
/** Presence notices come in bursts (a shift starting): one look per region after the burst. */
const PRESENCE_SETTLE_MS = 100;
/** A socket whose visitor does not read (a frozen tab) is cut rather than buffered without end. */
const MAX_BUFFERED = 1 << 20;

interface Visitor {
  id: string;
  ws: WebSocket;
  widget: WidgetSettings;
  visitorId: string;
  ip: string;
  page: PageContext;
  name?: string;
  conversationId?: number;
  stops: Map<string, () => void>;
  alive: boolean;
  typedAt: number;
  /** When the visitor's conversation was last looked up, and whether it was open (CONVERSATION_RECHECK_MS). */
  conversationCheckedAt: number;
  conversationOpen: boolean;
  work: Promise<void>;
  /** The visitor has written before (a history): the pre-chat form is behind them. */
  chatted: boolean;
  /** Pre-chat fields given on this socket or found on file for the visitor's client. */
  known: Set<PreChatField>;
  /** What the widget was last told: is an operator online? */
  online: boolean;
}

export interface LivechatSocketDeps {
  ctx: ConnectorContext;
  reader: LivechatReader;
  realtime: RealtimeHub;
  options: LivechatOptions;
}

/**
 * The visitor socket, GET /v1/widget/ws (CONSOLE-PROTOCOL.md): `ws` in noServer mode on Fastify's HTTP server.
 * Refusals come as close codes after the handshake (a browser shows a refused upgrade only as "failed"): an unknown
 * widget 4404, an origin not allowed 4403, too many sockets from one address 4429, all before any frame is sent.
 * Then: hello (token, history after `after`, whether an operator is online, the widget's look); visitor frames are
 * handled one at a time in order; a message is acknowledged only once the bus has it (durable), so the widget
 * resends what was not acknowledged, with the same clientId, which makes the resend the same event.
 */
export function attachLivechatSocket(
  app: FastifyInstance,
  deps: LivechatSocketDeps,
): { readonly size: number } {
  const { ctx, reader, realtime, options: o } = deps;
  const log = ctx.logger.child({ connector: 'livechat' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  const visitors = new Set<Visitor>();
  const perVisitor = createRateLimiter(o.visitorPerMinute);
  const perIp = createRateLimiter(o.ipPerMinute);
  const connections = createRateLimiter(o.connectionsPerMinute);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      accept(ws, req).catch((err) => {
        log.warn({ err }, 'visitor socket refused after an error');
        ws.close(1011, 'server error');
      });
    });
  };
  const stopServing = serveUpgrades(app.server, WIDGET_WS_PATH, onUpgrade);

  async function accept(ws: WebSocket, req: IncomingMessage) {
    // Frames that arrive while the widget is looked up wait; nothing is handled before the checks pass.
    const early: string[] = [];
    const hold = (raw: unknown) => early.push(String(raw));
    ws.on('message', hold);
    const ip = clientIp(req, ctx.config.trustProxy === true);
    if (connections.take(ip) !== undefined) return ws.close(CLOSE.rateLimited, 'too many connections');
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const key = q.get('widget');
    const widget = isChannelKey(key) ? await reader.getWidget(key) : undefined;
    if (!widget?.active) return ws.close(CLOSE.unknownWidget, 'unknown widget');
    if (!originAllowed(req.headers.origin, widget.allowedOrigins)) {
      log.info(
        { widget: widget.key, origin: req.headers.origin },
        'visitor socket refused: origin not allowed',
      );
      ctx.onUpdate?.('livechat', 'connection', 'unauthorized');
      return ws.close(CLOSE.forbidden, 'origin not allowed');
    }
    const given = q.get('visitor');
    const token = isVisitorToken(given) ? given : newVisitorToken();
    const after = Number(q.get('after'));
    let opened: () => void = () => {};
    const v: Visitor = {
      id: randomUUID(),
      ws,
      widget,
      visitorId: visitorIdOf(widget.key, token),
      ip,
      page: { url: pageUrl(q.get('page')), referrer: pageUrl(q.get('referrer')) },
      stops: new Map(),
      alive: true,
      typedAt: 0,
      conversationCheckedAt: Date.now(),
      conversationOpen: false,
      chatted: false,
      known: new Set(),
      online: false,
      // Opened once hello is sent: a notice that comes while the history is read waits, so hello is first.
      work: new Promise<void>((resolve) => {
        opened = resolve;
      }),
    };
    listen(v, visitorTopic(widget.key, v.visitorId), (n) => onVisitorNotice(v, n));
    const presenceSeen = presenceSeq;
    const [history, online, conversation] = await Promise.all([
      reader.history(widget.key, v.visitorId, {
        after: Number.isSafeInteger(after) && after > 0 ? after : undefined,
        limit: o.historyLimit,
        overlap: o.historyOverlap,
      }),
      reader.operatorsOnline(widget.regionId),
      reader.conversation(widget.key, v.visitorId),
    ]);
    if (ws.readyState !== ws.OPEN) return drop(v);
    v.chatted = history.length > 0;
    v.online = online;
    visitors.add(v);
    // Presence changed while it was read: look again (the answer goes after hello).
    if (presenceSeq !== presenceSeen) presenceChanged();
    v.conversationOpen = conversation?.open === true;
    follow(v, conversation?.id);
    ws.off('message', hold);
    ws.on('message', (raw, isBinary) => enqueue(v, isBinary ? '' : String(raw)));
    ws.on('pong', () => {
      v.alive = true;
    });
    ws.on('close', () => drop(v));
    ws.on('error', () => drop(v));
    send(v, {
      type: 'hello',
      visitor: token,
      history: history.map((h) => h.message),
      online,
      config: { colors: widget.colors, texts: widget.texts, preChat: widget.preChat },
    });
    opened();
    for (const raw of early) enqueue(v, raw);
    // Replies written while the visitor was away reached them now.
    const reached = history.filter((h) => h.message.direction === 'out' && h.status === 'sent');
    if (reached.length)
      publish(reached.map((h) => deliveredStatus(widget.key, v.visitorId, h.message.id))).catch((err) =>
        log.warn({ err }, 'delivered statuses not published'),
      );
  }

  function enqueue(v: Visitor, raw: string) {
    v.work = v.work
      .then(() => onFrame(v, raw))
      .catch((err) => {
        log.warn({ err, widget: v.widget.key }, 'visitor frame failed');
        // With its clientId the widget sends it again after the wait (a database that was away).
        const clientId = frameClientId(raw);
        send(v, {
          type: 'error',
          code: 'INTERNAL',
          message: 'something went wrong; it will be sent again',
          retryAfterSec: BUS_RETRY_AFTER_SEC,
          ...(clientId ? { clientId } : {}),
        });
      });
  }

  function send(v: Visitor, frame: ServerFrame) {
    if (v.ws.readyState !== v.ws.OPEN) return false;
    if (v.ws.bufferedAmount > MAX_BUFFERED) {
      v.ws.terminate();
      return false;
    }
    v.ws.send(JSON.stringify(frame));
    return true;
  }

  function listen(v: Visitor, topic: string, listener: (n: RealtimeNotice) => void) {
    if (!v.stops.has(topic)) v.stops.set(topic, realtime.subscribe(topic, listener));
  }

  /** Typing notices travel on the visitor's current conversation; a new conversation replaces the old one. */
  /** Follows the visitor's conversation once the router made it, then re-checks it now and then. */
  async function refreshConversation(v: Visitor) {
    const now = Date.now();
    if (v.conversationOpen && now - v.conversationCheckedAt < CONVERSATION_RECHECK_MS) return;
    v.conversationCheckedAt = now;
    const c = await reader.conversation(v.widget.key, v.visitorId);
    v.conversationOpen = c?.open === true;
    follow(v, c?.id);
  }

  function follow(v: Visitor, conversationId: number | undefined) {
    if (conversationId === undefined || conversationId === v.conversationId) return;
    if (v.conversationId !== undefined) {
      v.stops.get(`conversation:${v.conversationId}`)?.();
      v.stops.delete(`conversation:${v.conversationId}`);
    }
    v.conversationId = conversationId;
    listen(v, `conversation:${conversationId}`, (n) => {
      if (n.data.who !== 'operator') return;
      // The visitor's next message opens a new conversation: look it up then (refreshConversation).
      if (n.type === 'conversation.closed') v.conversationOpen = false;
      if (n.type === 'typing') later(v, () => send(v, { type: 'typing' }));
      const upTo = n.data.upTo;
      if (n.type === 'read' && typeof upTo === 'number') later(v, () => send(v, { type: 'read', upTo }));
    });
  }

  /** Frames to the visitor keep their order, after hello; one failure does not stop the ones after it. */
  function later(v: Visitor, work: () => unknown) {
    v.work = v.work
      .then(async () => {
        await work();
      })
      .catch((err) => log.warn({ err, widget: v.widget.key }, 'visitor notice failed'));
  }

  function onVisitorNotice(v: Visitor, n: RealtimeNotice) {
    if (n.type === 'typing') {
      later(v, () => send(v, { type: 'typing' }));
      return;
    }
    if (n.type !== 'message' || n.data.from === v.id) return;
    const whole = n.data.message as Extract<ServerFrame, { type: 'message' }>['message'] | undefined;
    if (whole) {
      // The visitor's message sent from another tab, or an operator's short reply: shown as it came, with no read
      // (the reply's delivered status follows once the outbox has marked it sent).
      later(v, () => {
        if (whole.direction === 'in') return void send(v, { type: 'message', message: whole });
        follow(v, typeof n.data.conversationId === 'number' ? n.data.conversationId : undefined);
        if (send(v, { type: 'message', message: whole }) && whole.id !== undefined)
          delivered(v, whole.id, 'pending');
      });
      return;
    }
    const messageId = n.data.messageId;
    if (typeof messageId !== 'number') return;
    // An operator's reply (or a long message from another tab): the notice names it, the message is read here.
    later(v, async () => {
      follow(v, typeof n.data.conversationId === 'number' ? n.data.conversationId : undefined);
      const found = await reader.message(v.widget.key, v.visitorId, messageId);
      if (!found || !send(v, { type: 'message', message: found.message })) return;
      if (found.message.direction === 'out') delivered(v, messageId, found.status);
    });
  }

  /**
   * The reply reached the browser: its status becomes delivered (or read, when the visitor saw it), once the
   * outbox has marked it sent (a status published before the message has its vendor id could be parked after
   * the outbox looked for parked ones).
   */
  function delivered(
    v: Visitor,
    messageId: number,
    status: string | null,
    tries = 0,
    to: 'delivered' | 'read' = 'delivered',
  ) {
    if (status === 'pending' || status === null) {
      if (tries >= DELIVERED_TRIES) return;
      setTimeout(() => {
        reader
          .message(v.widget.key, v.visitorId, messageId)
          .then((m) => m && delivered(v, messageId, m.status, tries + 1, to))
          .catch((err) => log.warn({ err }, 'delivered status not checked'));
      }, DELIVERED_WAIT_MS).unref();
      return;
    }
    if (status !== 'sent' && !(to === 'read' && status === 'delivered')) return;
    publish([deliveredStatus(v.widget.key, v.visitorId, messageId, to)]).catch((err) =>
      log.warn({ err }, `${to} status not published`),
    );
  }

  async function onFrame(v: Visitor, raw: string) {
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(raw);
      if (!f || typeof f !== 'object') throw new Error('not an object');
    } catch {
      send(v, { type: 'error', code: 'VALIDATION', message: 'frames are JSON objects' });
      return;
    }
    switch (f.type) {
      case 'ping':
        send(v, { type: 'pong' });
        return;
      case 'typing': {
        const now = Date.now();
        if (v.conversationId === undefined || now - v.typedAt < TYPING_EVERY_MS) return;
        v.typedAt = now;
        await realtime.publish({
          topic: `conversation:${v.conversationId}`,
          type: 'typing',
          data: { conversationId: v.conversationId, who: 'visitor' },
        });
        return;
      }
      case 'message': {
        const c = checkMessage(f);
        if ('field' in c) return refuse(v, c, f.clientId);
        const missing = await preChatMissing(v, []);
        if (missing) {
          ctx.onUpdate?.('livechat', 'frame', 'invalid');
          send(v, {
            type: 'error',
            code: 'PRE_CHAT_REQUIRED',
            field: missing,
            message: `${missing}: this chat asks for it before the first message (send a contact frame first)`,
            clientId: c.ok.clientId,
          });
          return;
        }
        if (limited(v, c.ok.clientId)) return;
        const event = messageEvent(origin(v), c.ok.clientId, c.ok.text, v.name);
        if (!(await durable(v, [event], c.ok.clientId))) return;
        const vendorId = event.content.message!.vendorMessageId;
        // The message's id for the ack, where the router has written it by now (the in-process bus). On Kafka it
        // commits later: a look-up on every message mostly missed and cost a pooled connection's round trip.
        const id = ctx.bus.routedOnPublish
          ? await reader.messageId(v.widget.key, vendorId).catch(() => undefined)
          : undefined;
        v.chatted = true;
        send(v, { type: 'ack', clientId: c.ok.clientId, ...(id !== undefined ? { id } : {}) });
        ctx.onUpdate?.('livechat', 'message', 'published');
        const message = {
          id,
          clientId: c.ok.clientId,
          direction: 'in' as const,
          text: c.ok.text,
          sentAt: event.occurredAt,
        };
        // A notice stays small (PostgreSQL NOTIFY takes 8,000 bytes): a long text is read by the other tabs.
        const small = Buffer.byteLength(c.ok.text) <= NOTICE_TEXT_MAX;
        if (small || id !== undefined)
          await realtime
            .publish({
              topic: visitorTopic(v.widget.key, v.visitorId),
              type: 'message',
              data: small ? { from: v.id, message } : { from: v.id, messageId: id },
            })
            .catch((err) => log.warn({ err }, 'visitor message not shown to the other tabs'));
        await refreshConversation(v);
        return;
      }
      case 'read': {
        // The visitor saw the operator's replies up to this id in an open chat: those not read yet become read.
        const upTo = f.upTo;
        if (typeof upTo !== 'number' || !Number.isSafeInteger(upTo) || upTo < 1)
          return refuse(v, { field: 'upTo', message: 'upTo: the id of a message' }, undefined);
        const recent = await reader.history(v.widget.key, v.visitorId, { limit: READ_RECENT });
        for (const h of recent)
          if (h.message.direction === 'out' && h.message.id <= upTo && h.status !== 'read')
            delivered(v, h.message.id, h.status, 0, 'read');
        return;
      }
      case 'contact': {
        const c = checkContact(f);
        if ('field' in c) return refuse(v, c, f.clientId);
        const { clientId, ...contact } = c.ok;
        // A pre-chat form without a required field is refused whole: nothing of it is published.
        const missing = await preChatMissing(v, contactFields(contact));
        if (missing)
          return refuse(
            v,
            { field: missing, message: `${missing}: this chat requires it before the first message` },
            clientId,
          );
        if (limited(v, clientId)) return;
        if (!(await durable(v, [contactEvent(origin(v), contact)], clientId))) return;
        for (const k of contactFields(contact)) v.known.add(k);
        if (contact.name) v.name = contact.name;
        if (clientId) send(v, { type: 'ack', clientId });
        ctx.onUpdate?.('livechat', 'contact', 'published');
        await refreshConversation(v);
        return;
      }
      default:
        send(v, { type: 'error', code: 'VALIDATION', message: 'type: unknown frame type' });
    }
  }

  const origin = (v: Visitor) => ({
    widget: v.widget,
    visitorId: v.visitorId,
    page: v.page,
    ip: v.ip,
    defaultCountry: ctx.config.defaultCountry,
  });

  /**
   * The first field the widget requires before the first message that the visitor has not given (with `adding`,
   * the fields of the contact being sent) and the CRM does not have on file; nothing once they have written.
   * The file is read each time something is missing: a contact given on another tab or page counts once routed.
   */
  async function preChatMissing(v: Visitor, adding: PreChatField[]): Promise<PreChatField | undefined> {
    const required = v.widget.preChat.required;
    if (v.chatted || required.length === 0) return undefined;
    const known = new Set([...v.known, ...adding]);
    if (!missingRequired(required, known)) return undefined;
    for (const f of await reader.visitorContact(v.visitorId)) {
      v.known.add(f);
      known.add(f);
    }
    return missingRequired(required, known);
  }

  function refuse(v: Visitor, c: { field: string; message: string }, clientId: unknown) {
    ctx.onUpdate?.('livechat', 'frame', 'invalid');
    send(v, {
      type: 'error',
      code: 'VALIDATION',
      field: c.field,
      message: c.message,
      ...(typeof clientId === 'string' ? { clientId } : {}),
    });
  }

  /** Per visitor and per address; a refused frame is not published and the widget may resend it later. */
  function limited(v: Visitor, clientId: string | undefined): boolean {
    const wait = perVisitor.take(`${v.widget.key}:${v.visitorId}`) ?? perIp.take(v.ip);
    if (wait === undefined) return false;
    send(v, {
      type: 'error',
      code: 'RATE_LIMITED',
      message: `too many messages; try again in ${wait} s`,
      retryAfterSec: wait,
      ...(clientId ? { clientId } : {}),
    });
    return true;
  }

  async function publish(events: BusEvent[]) {
    await ctx.bus.publish(events);
  }

  /** Publishes; on a bus that cannot take it, tells the widget to resend later and returns false. */
  async function durable(v: Visitor, events: BusEvent[], clientId: string | undefined): Promise<boolean> {
    try {
      await publish(events);
      return true;
    } catch (e) {
      const err = isAppError(e)
        ? e
        : new AppError('BUS_UNAVAILABLE', 'bus did not take the message', { cause: e });
      log.warn({ err, widget: v.widget.key }, 'visitor message not published');
      send(v, {
        type: 'error',
        code: 'BUS_UNAVAILABLE',
        message: 'not received; it will be sent again',
        retryAfterSec: err.retryAfterSec ?? BUS_RETRY_AFTER_SEC,
        ...(clientId ? { clientId } : {}),
      });
      return false;
    }
  }

  /**
   * Operators' presence (realtime/notices.ts `presence`, from the API on any instance): after a burst settles,
   * whether someone is online is read once per region among the connected widgets, and each visitor whose answer
   * flipped is told (`online` frame), so the widget asks for a contact when the last operator leaves.
   */
  let presenceSeq = 0;
  let presenceTimer: NodeJS.Timeout | undefined;
  function presenceChanged() {
    presenceSeq += 1;
    if (presenceTimer) return;
    presenceTimer = setTimeout(() => {
      presenceTimer = undefined;
      recheckPresence().catch((err) => log.warn({ err }, 'operators online not rechecked'));
    }, PRESENCE_SETTLE_MS);
    presenceTimer.unref();
  }
  async function recheckPresence() {
    const regions = new Map<number | undefined, boolean>();
    for (const v of visitors) regions.set(v.widget.regionId, false);
    for (const r of regions.keys()) regions.set(r, await reader.operatorsOnline(r));
    for (const v of visitors) {
      const online = regions.get(v.widget.regionId);
      if (online === undefined || online === v.online) continue;
      v.online = online;
      later(v, () => send(v, { type: 'online', online }));
    }
  }
  const stopPresence = realtime.subscribe(topic.presence, presenceChanged);

  function drop(v: Visitor) {
    visitors.delete(v);
    for (const stop of v.stops.values()) stop();
    v.stops.clear();
  }

  const heartbeat = setInterval(() => {
    for (const v of visitors) {
      if (!v.alive) {
        v.ws.terminate();
        drop(v);
        continue;
      }
      v.alive = false;
      v.ws.ping();
    }
  }, o.heartbeatMs);
  heartbeat.unref();

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    clearTimeout(presenceTimer);
    stopPresence();
    stopServing();
    for (const v of visitors) v.ws.close(CLOSE.going, 'server stopping');
    setTimeout(() => {
      for (const c of wss.clients) c.terminate();
    }, 1_000).unref();
  });

  return {
    get size() {
      return visitors.size;
    },
  };
}

/** The visitor's address: the socket's peer, or the first X-Forwarded-For hop behind a proxy we trust. */
function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return (trustProxy && first) || req.socket.remoteAddress || 'unknown';
}

function frameClientId(raw: string): string | undefined {
  try {
    const id = (JSON.parse(raw) as { clientId?: unknown })?.clientId;
    return typeof id === 'string' && id.length <= 64 ? id : undefined;
  } catch {
    return undefined;
  }
}
