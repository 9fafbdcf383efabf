import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MessengerVendor } from '../../channels/messengers.js';
import {
  type MessengerSender,
  type SenderRegistry,
  VendorSendError,
} from '../../outbound/messengers/contract.js';

/**
 * A tiny messenger API on a local port, for the conversation core's tests (vendor helpers test their own
 * vendors' documented APIs): `POST /send` takes {chatId, text, template, idempotencyKey} and answers
 * {ok: true, messageId}; `GET /files/:fileId` serves a file. Tests script its answers (status codes with the
 * vendor-style error body and Retry-After), hold a request open (a worker killed mid-send), and count what it
 * received. In `dedupe` mode it answers a repeated idempotency key with the first message, as VK does with
 * random_id.
 */
export interface Delivery {
  chatId: string;
  text?: string;
  template?: unknown;
  idempotencyKey: string;
  messageId: string;
}

export class LocalMessenger {
  readonly deliveries: Delivery[] = [];
  /** Answers to give to the next sends, in order (then 200). */
  readonly script: { status: number; body?: object; retryAfter?: number }[] = [];
  files = new Map<string, { body: Buffer; type: string }>();
  dedupe = false;
  /** While set, sends are counted as received, then held until release() (or the client goes away). */
  private holding: (() => void)[] | undefined;
  private received: (() => void)[] = [];
  private server!: Server;
  private seq = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  async stop() {
    this.release();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
  hold() {
    this.holding = [];
  }
  release() {
    const held = this.holding ?? [];
    this.holding = undefined;
    for (const r of held) r();
  }
  /** Resolves when the next send has been received (counted). */
  nextReceived(): Promise<void> {
    return new Promise((resolve) => this.received.push(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: object, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname.startsWith('/files/')) {
      const f = this.files.get(decodeURIComponent(url.pathname.slice('/files/'.length)));
      if (!f) return json(404, { ok: false, error_code: 404, description: 'file not found' });
      res.writeHead(200, { 'content-type': f.type });
      return res.end(f.body);
    }
    if (req.method !== 'POST' || url.pathname !== '/send') return json(404, { ok: false });
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Delivery, 'messageId'>;
    const next = this.script.shift();
    if (next && next.status !== 200) {
      return json(
        next.status,
        next.body ?? { ok: false, error_code: next.status, description: 'scripted failure' },
        next.retryAfter ? { 'retry-after': String(next.retryAfter) } : {},
      );
    }
    const seen = this.dedupe && this.deliveries.find((d) => d.idempotencyKey === body.idempotencyKey);
    const delivery = seen || { ...body, messageId: `m-${++this.seq}` };
    if (!seen) this.deliveries.push(delivery);
    for (const r of this.received.splice(0)) r();
    if (this.holding) await new Promise<void>((resolve) => this.holding!.push(resolve));
    if (!res.destroyed) json(200, { ok: true, messageId: delivery.messageId });
  }
}

/** A real MessengerSender (HTTP, error classification) for LocalMessenger, registered for the given vendors. */
export function localSenderRegistry(
  messenger: LocalMessenger | string,
  vendors: MessengerVendor[] = ['telegram', 'whatsapp'],
  opts: { idempotent?: boolean } = {},
): SenderRegistry {
  const url = () => (typeof messenger === 'string' ? messenger : messenger.url);
  return Object.fromEntries(
    vendors.map((vendor) => [vendor, () => localSender(vendor, url, opts.idempotent)]),
  );
}

function localSender(vendor: MessengerVendor, base: () => string, idempotent = false): MessengerSender {
  const call = async (path: string, init?: RequestInit) => {
    try {
      return await fetch(`${base()}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new VendorSendError('unavailable', String((err as Error).message), { cause: err });
    }
  };
  const failure = async (r: Response) => {
    const body = (await r.json().catch(() => ({}))) as { description?: string; error_code?: number };
    const text = body.description ?? r.statusText;
    const code = String(body.error_code ?? r.status);
    if (r.status === 429)
      return new VendorSendError('rate_limited', text, {
        vendorCode: code,
        retryAfterSec: Number(r.headers.get('retry-after') ?? 0),
      });
    if (r.status >= 500) return new VendorSendError('unavailable', text, { vendorCode: code });
    if (r.status === 403) return new VendorSendError('blocked', text, { vendorCode: code });
    if (r.status === 401) return new VendorSendError('unauthorized', text, { vendorCode: code });
    return new VendorSendError('rejected', text, { vendorCode: code });
  };
  return {
    vendor,
    idempotent,
    async send(_account, m) {
      const r = await call('/send', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          chatId: m.chatId,
          text: m.text,
          template: m.template,
          idempotencyKey: m.idempotencyKey,
        }),
      });
      if (!r.ok) throw await failure(r);
      const body = (await r.json()) as { messageId: string };
      return { vendorMessageId: body.messageId, response: body };
    },
    async fetchFile(_account, a) {
      const r = await call(`/files/${encodeURIComponent(a.fileId ?? '')}`);
      if (!r.ok) throw await failure(r);
      return {
        body: Buffer.from(await r.arrayBuffer()),
        mimeType: r.headers.get('content-type') ?? undefined,
      };
    },
  };
}
