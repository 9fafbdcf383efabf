import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server speaking the Graph API calls our WhatsApp and Instagram senders make, as Meta documents
 * them: POST /{phone-number-id}/messages and POST /{ig-user-id}/messages (and /me/messages), GET /{media-id}
 * and the media download URL it returns (bearer token required), plus an unauthenticated CDN path for Instagram
 * files. Errors come in Graph's own body `{"error":{"message","type","code","error_subcode","fbtrace_id"}}` with
 * the HTTP statuses Graph uses. Every call is recorded.
 *
 * `failNext(...)` queues canned vendor errors, answered to the next sends in order.
 */
export type GraphScenario =
  | 'rate_limit' // HTTP 429, code 130429, Retry-After
  | 'pair_rate_limit' // HTTP 400, code 131056
  | 'window_closed' // WhatsApp: HTTP 400, code 131047 (re-engagement)
  | 'ig_window_closed' // Instagram: HTTP 403, code 10, subcode 2534022
  | 'blocked' // WhatsApp: HTTP 400, code 131050 (stopped receiving messages from the business)
  | 'ig_blocked' // Instagram: HTTP 400, code 551 (this person isn't available)
  | 'undeliverable' // HTTP 400, code 131026
  | 'server_error'; // HTTP 500, code 2

export interface RecordedCall {
  method: string;
  path: string;
  authorization?: string;
  body?: unknown;
}

export interface MetaGraphServer {
  /** Graph root with version, for VendorApiUrls.meta. */
  url: string;
  calls: RecordedCall[];
  /** Tokens the server accepts (any other: 401, code 190). */
  tokens: Set<string>;
  /** Media the server holds: id → bytes and type. */
  media: Map<string, { body: Buffer; mimeType: string }>;
  failNext(...scenarios: GraphScenario[]): void;
  close(): Promise<void>;
}

const VERSION = 'v24.0';
const trace = () => randomBytes(8).toString('base64url');

function graphError(
  res: ServerResponse,
  status: number,
  e: { message: string; type?: string; code: number; error_subcode?: number; details?: string },
  headers: Record<string, string> = {},
) {
  send(
    res,
    status,
    {
      error: {
        message: e.message,
        type: e.type ?? 'OAuthException',
        code: e.code,
        ...(e.error_subcode !== undefined && { error_subcode: e.error_subcode }),
        ...(e.details && { error_data: { messaging_product: 'whatsapp', details: e.details } }),
        fbtrace_id: trace(),
      },
    },
    headers,
  );
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

const SCENARIOS: Record<GraphScenario, (res: ServerResponse) => void> = {
  rate_limit: (res) =>
    graphError(
      res,
      429,
      {
        message: '(#130429) Rate limit hit',
        code: 130429,
        details: 'Cloud API message throughput has been reached.',
      },
      { 'retry-after': '7' },
    ),
  pair_rate_limit: (res) =>
    graphError(res, 400, {
      message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
      code: 131056,
    }),
  window_closed: (res) =>
    graphError(res, 400, {
      message: '(#131047) Re-engagement message',
      code: 131047,
      details:
        'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    }),
  ig_window_closed: (res) =>
    graphError(res, 403, {
      message: 'This message is sent outside of allowed window.',
      type: 'IGApiException',
      code: 10,
      error_subcode: 2534022,
    }),
  blocked: (res) =>
    graphError(res, 400, {
      message:
        '(#131050) Unable to deliver the message. This recipient has chosen to stop receiving messages on WhatsApp from your business',
      code: 131050,
    }),
  ig_blocked: (res) =>
    graphError(res, 400, {
      message: "This person isn't available right now.",
      type: 'IGApiException',
      code: 551,
      error_subcode: 1545041,
    }),
  undeliverable: (res) => graphError(res, 400, { message: '(#131026) Message Undeliverable.', code: 131026 }),
  server_error: (res) =>
    graphError(res, 500, {
      message: 'An unexpected error has occurred. Please retry your request later.',
      code: 2,
    }),
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Meta's rules for a WhatsApp send body, enough to refuse what Graph would refuse with code 100. */
function whatsappProblem(b: Record<string, unknown>): string | undefined {
  if (b.messaging_product !== 'whatsapp') return 'messaging_product must be whatsapp';
  if (typeof b.to !== 'string' || !b.to) return 'to is required';
  const type = b.type as string;
  const obj = b[type] as Record<string, unknown> | undefined;
  if (!obj) return `${type} object is required`;
  if (type === 'text' && typeof obj.body !== 'string') return 'text.body is required';
  if (type === 'template') {
    const lang = obj.language as { code?: unknown } | undefined;
    if (!obj.name || typeof lang?.code !== 'string') return 'template name and language.code are required';
  }
  if (['image', 'document', 'audio', 'video', 'sticker'].includes(type) && !obj.id && !obj.link) {
    return `${type}.id or ${type}.link is required`;
  }
  return undefined;
}

export async function startMetaGraphServer(
  opts: { tokens?: string[]; phoneNumberIds?: string[]; igUserIds?: string[] } = {},
): Promise<MetaGraphServer> {
  const phones = new Set(opts.phoneNumberIds ?? []);
  const igUsers = new Set(opts.igUserIds ?? []);
  const queue: GraphScenario[] = [];
  let sequence = 0;
  const state: Omit<MetaGraphServer, 'url' | 'close'> = {
    calls: [],
    tokens: new Set(opts.tokens ?? []),
    media: new Map(),
    failNext: (...s) => queue.push(...s),
  };
  let base = '';

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return graphError(res, 400, { message: '(#100) Invalid JSON', code: 100, type: 'OAuthException' });
    }
    const authorization = req.headers.authorization;
    state.calls.push({ method: req.method ?? 'GET', path: url.pathname, authorization, body });

    // Instagram's CDN: signed URLs, no token.
    const cdn = /^\/cdn\/(.+)$/.exec(url.pathname);
    if (cdn) return serveMedia(res, cdn[1]!);

    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token || !state.tokens.has(token)) {
      return graphError(res, 401, {
        message: 'Error validating access token: Session has expired.',
        code: 190,
        error_subcode: 463,
      });
    }
    const download = /^\/download\/(.+)$/.exec(url.pathname);
    if (download) return serveMedia(res, download[1]!);

    const path = url.pathname.startsWith(`/${VERSION}/`) ? url.pathname.slice(VERSION.length + 1) : undefined;
    if (!path) return graphError(res, 400, { message: 'Unknown path components', code: 2500 });
    const messages = /^\/([^/]+)\/messages$/.exec(path);
    if (req.method === 'POST' && messages) {
      const scenario = queue.shift();
      if (scenario) return SCENARIOS[scenario](res);
      const b = (body ?? {}) as Record<string, unknown>;
      const node = messages[1]!;
      if (phones.has(node)) {
        const problem = whatsappProblem(b);
        if (problem)
          return graphError(res, 400, { message: `(#100) Invalid parameter: ${problem}`, code: 100 });
        sequence += 1;
        return send(res, 200, {
          messaging_product: 'whatsapp',
          contacts: [{ input: b.to, wa_id: String(b.to).replace(/^\+/, '') }],
          messages: [{ id: `wamid.LOCAL${String(sequence).padStart(6, '0')}` }],
        });
      }
      if (igUsers.has(node) || node === 'me') {
        const r = b.recipient as { id?: string } | undefined;
        const m = b.message as Record<string, unknown> | undefined;
        if (!r?.id || !m || (!m.text && !m.attachment)) {
          return graphError(res, 400, {
            message: '(#100) Invalid parameter',
            code: 100,
            type: 'IGApiException',
          });
        }
        sequence += 1;
        return send(res, 200, {
          recipient_id: r.id,
          message_id: `aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE${sequence}`,
        });
      }
      return graphError(res, 400, {
        message: `(#100) Unsupported post request. Object with ID '${node}' does not exist`,
        code: 100,
        error_subcode: 33,
        type: 'GraphMethodException',
      });
    }
    const mediaInfo = /^\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && mediaInfo) {
      const m = state.media.get(mediaInfo[1]!);
      if (!m)
        return graphError(res, 400, {
          message: '(#100) Invalid media id',
          code: 100,
          type: 'GraphMethodException',
        });
      return send(res, 200, {
        messaging_product: 'whatsapp',
        url: `${base}/download/${mediaInfo[1]}`,
        mime_type: m.mimeType,
        file_size: m.body.length,
        id: mediaInfo[1],
      });
    }
    return graphError(res, 400, { message: 'Unknown path components', code: 2500 });

    function serveMedia(r: ServerResponse, id: string) {
      const m = state.media.get(decodeURIComponent(id));
      if (!m) {
        r.writeHead(404);
        return r.end();
      }
      r.writeHead(200, { 'content-type': m.mimeType, 'content-length': m.body.length });
      r.end(m.body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...state,
    url: `${base}/${VERSION}`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
