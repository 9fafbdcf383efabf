/**
 * The console's live connection (/v1/console/ws, protocol in the README's "Operator console" section): JSON
 * notices in, subscribe/unsubscribe/typing/read/ping out. It reconnects with capped, jittered back-off and
 * re-subscribes the open conversations; whatever was missed while away is re-read over REST by the listeners
 * of `open` (the work list and the open card refetch), so no notice needs to be replayed.
 */
export interface Notice {
  type: string;
  [key: string]: unknown;
}
type Listener = (n: Notice) => void;

const PING_MS = 25_000;

export class ConsoleSocket {
  private ws: WebSocket | undefined;
  private listeners = new Set<Listener>();
  private conversations = new Set<number>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ping: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  connected = false;

  constructor(private readonly onAuthLost: () => void) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.ping);
    this.ws?.close(1000);
    this.ws = undefined;
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribe(conversationId: number): void {
    this.conversations.add(conversationId);
    this.send({ type: 'subscribe', conversationId });
  }

  unsubscribe(conversationId: number): void {
    this.conversations.delete(conversationId);
    this.send({ type: 'unsubscribe', conversationId });
  }

  send(message: Notice): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private emit(n: Notice): void {
    for (const l of this.listeners) l(n);
  }

  private open(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/console/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (e) => {
      let n: Notice;
      try {
        n = JSON.parse(String(e.data)) as Notice;
      } catch {
        return; // A frame that is not JSON is not ours to act on.
      }
      // Live from the server's hello, not from the socket opening: the server checks the session first and
      // listens for this operator only then, so a notice (a screen pop) or a subscribe sent before it is lost.
      if (n.type === 'hello' && !this.connected) {
        this.attempt = 0;
        this.connected = true;
        for (const id of this.conversations) this.send({ type: 'subscribe', conversationId: id });
        this.ping = setInterval(() => this.send({ type: 'ping' }), PING_MS);
        this.emit(n);
        this.emit({ type: 'open' });
        return;
      }
      this.emit(n);
    };
    ws.onclose = (e) => {
      clearInterval(this.ping);
      const was = this.connected;
      this.connected = false;
      if (was) this.emit({ type: 'close' });
      if (this.stopped || this.ws !== ws) return;
      // 4401: the session ended (expired, revoked, signed out elsewhere): sign in again, do not retry.
      if (e.code === 4401) return this.onAuthLost();
      const delay = Math.min(30_000, 500 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
