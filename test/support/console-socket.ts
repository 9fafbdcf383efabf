import WebSocket from 'ws';

/** A frame the console socket sends (JSON object with a type). */
// biome-ignore lint/suspicious/noExplicitAny: frames are read by tests field by field
export type Frame = Record<string, any> & { type: string };

/** Signs in through POST /v1/session; the cookie header value and the CSRF token. */
export async function signIn(baseUrl: string, login: string, password: string) {
  const r = await fetch(new URL('/v1/session', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  if (r.status !== 200) throw new Error(`sign-in as ${login}: ${r.status} ${await r.text()}`);
  const set = r.headers.getSetCookie().find((c) => c.startsWith('ci_session='))!;
  return { cookie: set.split(';')[0]!, csrfToken: ((await r.json()) as { csrfToken: string }).csrfToken };
}

const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, 'ws')}/v1/console/ws`;

/**
 * A console socket as a browser opens it (Origin of the page, the session cookie), collecting frames so a test
 * can wait for the next one matching a predicate.
 */
export class ConsoleClient {
  readonly frames: Frame[] = [];
  private read = 0;
  private waiters: (() => void)[] = [];
  hello!: Frame;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static connect(baseUrl: string, o: { cookie?: string; origin?: string | null }): WebSocket {
    const origin = o.origin === undefined ? new URL(baseUrl).origin : o.origin;
    return new WebSocket(wsUrl(baseUrl), {
      headers: { ...(o.cookie ? { cookie: o.cookie } : {}), ...(origin ? { origin } : {}) },
    });
  }

  static async open(baseUrl: string, o: { cookie: string; origin?: string }): Promise<ConsoleClient> {
    const c = new ConsoleClient(ConsoleClient.connect(baseUrl, o));
    c.hello = await c.next((f) => f.type === 'hello', 5_000);
    return c;
  }

  /** The close code of a socket the server refuses (it accepts the upgrade, then closes with a reason). */
  static refusal(baseUrl: string, o: { cookie?: string; origin?: string | null }): Promise<number> {
    const ws = ConsoleClient.connect(baseUrl, o);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket neither refused nor closed')), 5_000);
      ws.on('message', (m) => reject(new Error(`refused socket got a frame: ${m}`)));
      ws.on('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      ws.on('error', () => {});
    });
  }

  send(frame: Record<string, unknown>) {
    this.ws.send(JSON.stringify(frame));
  }

  /** The next frame (after the ones already consumed) matching `match`, within `timeoutMs`. */
  async next(match: (f: Frame) => boolean, timeoutMs: number): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      while (this.read < this.frames.length) {
        const f = this.frames[this.read++]!;
        if (match(f)) return f;
      }
      const left = end - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** How many frames came so far: a mark for `seen`. */
  mark(): number {
    return this.frames.length;
  }

  /** A frame matching `match` among those from `from` on (consumed or not), within `timeoutMs`. */
  async seen(match: (f: Frame) => boolean, timeoutMs: number, from: number): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.slice(from).find(match);
      if (f) return f;
      const left = end - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(from))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves with the close code. */
  closed(timeoutMs: number): Promise<number> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
      this.ws.once('close', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  close() {
    this.ws.close();
  }
}
