import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Viber REST bot API (https://chatapi.viber.com/pa) for sender tests: send_message as Viber documents
 * it — X-Viber-Auth-Token checked, HTTP 200 with {status, status_message, message_token, chat_hostname},
 * message_token a 64-bit integer written as a bare JSON number (beyond 2^53, as Viber's are), the documented
 * failure statuses (2 invalidAuthToken, 3 badData, 4 missingData, 5 receiverNotRegistered, 6
 * receiverNotSubscribed, 12 tooManyRequests...) — plus media files (GET and HEAD) for fetchFile and file sizes.
 * Every call is recorded.
 */
export interface ViberCall {
  path: string;
  authToken?: string;
  body: Record<string, unknown> | undefined;
}

export interface ViberApiServer {
  url: string;
  calls: ViberCall[];
  /** Tokens of the messages actually accepted, as exact decimal strings. */
  sent: { token: string; body: Record<string, unknown> }[];
  tokens: Set<string>;
  /** Subscribers who unsubscribed (status 6) and ids Viber does not know (status 5). */
  unsubscribed: Set<string>;
  unregistered: Set<string>;
  /** The next send_message calls answer these statuses, in order (e.g. 12 tooManyRequests). */
  failNext(...statuses: number[]): void;
  files: Map<string, { body: Buffer; contentType: string; hideLength?: boolean }>;
  /** Absolute URL of a file path on this server. */
  fileUrl(path: string): string;
  close(): Promise<void>;
}

const STATUS_MESSAGES: Record<number, string> = {
  2: 'invalidAuthToken',
  3: 'badData',
  4: 'missingData',
  5: 'receiverNotRegistered',
  6: 'receiverNotSubscribed',
  10: 'webhookNotSet',
  12: 'tooManyRequests',
};

export async function startViberApi(opts: { tokens?: string[] } = {}): Promise<ViberApiServer> {
  const calls: ViberCall[] = [];
  const sent: ViberApiServer['sent'] = [];
  const failures: number[] = [];
  const files: ViberApiServer['files'] = new Map();
  let nextToken = 5741311803571721087n;

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const file = files.get(url.pathname);
    if ((req.method === 'GET' || req.method === 'HEAD') && !url.pathname.startsWith('/pa/')) {
      if (!file) return res.writeHead(404).end();
      const headers: Record<string, string> = { 'content-type': file.contentType };
      if (!file.hideLength) headers['content-length'] = String(file.body.length);
      else headers['transfer-encoding'] = 'chunked';
      res.writeHead(200, headers);
      return req.method === 'HEAD' ? res.end() : res.end(file.body);
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const header = req.headers['x-viber-auth-token'];
    const authToken = Array.isArray(header) ? header[0] : header;
    calls.push({ path: url.pathname, authToken, body });
    const answer = (status: number, token?: bigint) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          `{"status":${status},"status_message":"${status === 0 ? 'ok' : (STATUS_MESSAGES[status] ?? 'generalError')}"${
            token === undefined ? '' : `,"message_token":${token}`
          },"chat_hostname":"SN-CHAT-05_","billing_status":1}`,
        );

    if (url.pathname !== '/pa/send_message') return res.writeHead(404).end();
    if (!authToken || !api.tokens.has(authToken)) return answer(2);
    if (!body) return answer(3);
    const sender = body.sender as { name?: unknown } | undefined;
    if (!body.receiver || !body.type || typeof sender?.name !== 'string') return answer(4);
    const queued = failures.shift();
    if (queued !== undefined) return answer(queued);
    if (api.unregistered.has(String(body.receiver))) return answer(5);
    if (api.unsubscribed.has(String(body.receiver))) return answer(6);
    if (body.type === 'file' && (typeof body.size !== 'number' || typeof body.file_name !== 'string')) {
      return answer(4);
    }
    const token = nextToken++;
    sent.push({ token: String(token), body });
    return answer(0, token);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const api: ViberApiServer = {
    url: `${origin}/pa`,
    calls,
    sent,
    tokens: new Set(opts.tokens ?? []),
    unsubscribed: new Set(),
    unregistered: new Set(),
    failNext: (...statuses) => failures.push(...statuses),
    files,
    fileUrl: (path) => `${origin}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return api;
}
