import type {
  LivechatMessage,
  ServerFrame,
  VisitorFrame,
  WidgetConfig,
} from '../connectors/livechat/protocol.js';
import type { createStore, Pending } from './store.js';

/** Close codes after which reconnecting cannot help (CONSOLE-PROTOCOL.md): wrong origin, unknown widget. */
const FINAL = new Set([4403, 4404]);
const RATE_LIMITED = 4429;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A socket that answers no ping for this long is taken for dead (a network that vanished without a close). */
const PING_EVERY_MS = 20_000;
const PONG_WITHIN_MS = 10_000;

export interface ConnectionEvents {
  hello(config: WidgetConfig, online: boolean): void;
  online(online: boolean): void;
  /** The operator read the visitor's messages up to this id. */
  read(upTo: number): void;
  /** A message to show; `clientId` lets the UI replace its own pending copy. */
  message(m: LivechatMessage | (Omit<LivechatMessage, 'id'> & { id?: number })): void;
  acked(clientId: string, id?: number): void;
  failed(clientId: string, message: string): void;
  typing(): void;
  /** The server wants the pre-chat form (again): a required field is missing or the contact was refused. */
  askContact(message?: string): void;
  status(connected: boolean): void;
  refused(): void;
}

/**
 * The visitor socket with the guarantees the widget promises: it reconnects with exponential back-off (and at
 * once when the browser says it is online again), resumes from the last message id it saw (`after`), and resends
 * every message the server has not acknowledged, with its clientId, so a message is neither lost nor doubled.
 * The UI de-duplicates by message id and clientId (a resume repeats the newest few messages on purpose).
 */
export function createConnection(
  base: string,
  widgetKey: string,
  store: ReturnType<typeof createStore>,
  on: ConnectionEvents,
) {
  let ws: WebSocket | undefined;
  let attempt = 0;
  let lastId = 0;
  let ready = false;
  let stopped = false;
  let retryTimer: number | undefined;
  let pingTimer: number | undefined;
  let pongTimer: number | undefined;
  let resendTimer: number | undefined;
  let contact: (VisitorFrame & { type: 'contact' }) | undefined;
  /** Messages were held back for the pre-chat form: they go again once the contact is acknowledged. */
  let held = false;

  function url(): string {
    const q = new URLSearchParams({ widget: widgetKey, page: location.href });
    const token = store.token();
    if (token) q.set('visitor', token);
    if (lastId) q.set('after', String(lastId));
    if (document.referrer) q.set('referrer', document.referrer);
    return `${base.replace(/^http/, 'ws')}/v1/widget/ws?${q}`;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped || (ws && ws.readyState <= WebSocket.OPEN)) return;
    const socket = new WebSocket(url());
    ws = socket;
    socket.onmessage = (e) => {
      if (ws === socket) onFrame(JSON.parse(String(e.data)) as ServerFrame);
    };
    socket.onclose = (e) => {
      if (ws !== socket) return;
      ws = undefined;
      ready = false;
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      on.status(false);
      if (FINAL.has(e.code)) {
        stopped = true;
        on.refused();
        return;
      }
      const delay =
        e.code === RATE_LIMITED
          ? 60_000
          : Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      retryTimer = window.setTimeout(connect, delay);
    };
  }

  function write(frame: VisitorFrame): boolean {
    if (!ready || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function onFrame(f: ServerFrame) {
    switch (f.type) {
      case 'hello': {
        attempt = 0;
        ready = true;
        store.setToken(f.visitor);
        on.status(true);
        on.hello(f.config, f.online);
        for (const m of f.history) seen(m);
        // Unacknowledged sends go again, in order; the server takes a known clientId as the same message.
        if (contact) write(contact);
        for (const p of store.pending()) write({ type: 'message', clientId: p.clientId, text: p.text });
        clearInterval(pingTimer);
        pingTimer = window.setInterval(() => {
          if (!write({ type: 'ping' })) return;
          clearTimeout(pongTimer);
          pongTimer = window.setTimeout(() => ws?.close(), PONG_WITHIN_MS);
        }, PING_EVERY_MS);
        return;
      }
      case 'pong':
        clearTimeout(pongTimer);
        return;
      case 'message':
        seen(f.message);
        return;
      case 'ack':
        if (contact && contact.clientId === f.clientId) {
          contact = undefined;
          store.setContactGiven(true);
          if (held) {
            held = false;
            resend();
          }
        }
        unpend(f.clientId);
        on.acked(f.clientId, f.id);
        if (f.id) lastId = Math.max(lastId, f.id);
        return;
      case 'typing':
        on.typing();
        return;
      case 'online':
        on.online(f.online);
        return;
      case 'read':
        on.read(f.upTo);
        return;
      case 'error':
        if (!f.clientId) return;
        if (f.code === 'PRE_CHAT_REQUIRED' || (contact?.clientId === f.clientId && f.code === 'VALIDATION')) {
          // The message stays pending, sent again after the form; a refused contact is asked again.
          if (contact?.clientId === f.clientId) contact = undefined;
          held = f.code === 'PRE_CHAT_REQUIRED' || held;
          store.setContactGiven(false);
          on.askContact(f.code === 'VALIDATION' ? f.message : undefined);
        } else if (f.code === 'VALIDATION') {
          unpend(f.clientId);
          on.failed(f.clientId, f.message);
        } else {
          // Rate limited or the bus is away: the message stays pending and goes again after the wait (one
          // timer for all of them, or every refusal would multiply the resends).
          if (resendTimer === undefined)
            resendTimer = window.setTimeout(
              () => {
                resendTimer = undefined;
                resend();
              },
              (f.retryAfterSec ?? 5) * 1000,
            );
        }
        return;
    }
  }

  function seen(m: LivechatMessage | (Omit<LivechatMessage, 'id'> & { id?: number })) {
    if (m.id) lastId = Math.max(lastId, m.id);
    if (m.clientId && m.id) unpend(m.clientId);
    on.message(m);
  }

  function unpend(clientId: string) {
    const p = store.pending();
    const rest = p.filter((x) => x.clientId !== clientId);
    if (rest.length !== p.length) store.setPending(rest);
  }

  function resend() {
    if (contact) write(contact);
    for (const p of store.pending()) write({ type: 'message', clientId: p.clientId, text: p.text });
  }

  const uuid = () =>
    typeof crypto !== 'undefined' && 'randomUUID' in crypto
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;

  addEventListener('online', () => {
    attempt = 0;
    connect();
  });
  // The browser knows the network is gone before the socket does: close now, reconnect when it is back.
  addEventListener('offline', () => ws?.close());

  return {
    connect,
    /** Records the message as pending (kept across reloads) and sends it when connected. */
    send(text: string): Pending {
      const p: Pending = { clientId: uuid(), text, sentAt: new Date().toISOString() };
      store.setPending([...store.pending(), p]);
      write({ type: 'message', clientId: p.clientId, text });
      return p;
    },
    sendContact(c: { name?: string; phone?: string; email?: string }) {
      contact = { type: 'contact', clientId: uuid(), ...c };
      write(contact);
    },
    typing: () => write({ type: 'typing' }),
    read: (upTo: number) => write({ type: 'read', upTo }),
    pending: () => store.pending(),
  };
}
