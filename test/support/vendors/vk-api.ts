import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local VK API (https://api.vk.com/method) for sender tests: messages.send as VK documents it — form or query
 * parameters, `v` required, the community token checked, errors as HTTP 200 with {error:{error_code,
 * error_msg, request_params}}, random_id de-duplication (a repeated random_id from the same sender to the same
 * peer answers the first message again and sends nothing), `peer_ids` answered with conversation_message_id,
 * `peer_id` with the message id — plus media files served for fetchFile. Every call is recorded.
 */
export interface VkCall {
  method: string;
  params: Record<string, string>;
}

export interface VkSentMessage {
  peerId: number;
  messageId: number;
  conversationMessageId: number;
  randomId: number;
  message?: string;
  attachment?: string;
}

export interface VkApiServer {
  url: string;
  calls: VkCall[];
  /** Messages actually delivered (a de-duplicated retry adds none). */
  sent: VkSentMessage[];
  /** Community tokens the server accepts. */
  tokens: Set<string>;
  /** Users who denied the community's messages (error 901) or are in its blacklist (error 900). */
  denied: Set<number>;
  blacklisted: Set<number>;
  /** The next calls fail with these VK errors, in order (e.g. 6 too many requests, 9 flood control). */
  failNext(...errors: { code: number; msg?: string }[]): void;
  /** The next calls get this HTTP status with an HTML body (a proxy or VK front end failing). */
  httpFailNext(status: number): void;
  files: Map<string, { body: Buffer; contentType: string }>;
  close(): Promise<void>;
}

const MESSAGES: Record<number, string> = {
  5: 'User authorization failed: invalid access_token (4).',
  6: 'Too many requests per second',
  8: 'Invalid request: v (version) is required',
  9: 'Flood control',
  10: 'Internal server error',
  100: 'One of the parameters specified was missing or invalid: message is empty or invalid',
  900: "Can't send messages for users from blacklist",
  901: "Can't send messages for users without permission",
};

async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const params = Object.fromEntries(url.searchParams);
  const body = Buffer.concat(chunks).toString('utf8');
  if (body) Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
  return params;
}

export async function startVkApi(opts: { tokens?: string[] } = {}): Promise<VkApiServer> {
  const calls: VkCall[] = [];
  const sent: VkSentMessage[] = [];
  const failures: { code: number; msg?: string }[] = [];
  const httpFailures: number[] = [];
  const byRandomId = new Map<string, VkSentMessage>();
  const cmid = new Map<number, number>();
  let messageId = 1000;
  const files = new Map<string, { body: Buffer; contentType: string }>();

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && files.has(url.pathname)) {
      const f = files.get(url.pathname)!;
      res.writeHead(200, { 'content-type': f.contentType }).end(f.body);
      return;
    }
    if (!url.pathname.startsWith('/method/')) {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>404 Not Found</body></html>');
      return;
    }
    const method = url.pathname.slice('/method/'.length);
    const params = await readParams(req, url);
    calls.push({ method, params });
    const httpStatus = httpFailures.shift();
    if (httpStatus) {
      res.writeHead(httpStatus, { 'content-type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
      return;
    }
    const reply = (body: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    const error = (code: number, msg = MESSAGES[code] ?? 'error') =>
      reply({
        error: {
          error_code: code,
          error_msg: msg,
          request_params: Object.entries(params)
            .filter(([k]) => k !== 'access_token')
            .map(([key, value]) => ({ key, value })),
        },
      });

    if (method !== 'messages.send') return error(3, 'Unknown method passed');
    if (!params.v) return error(8);
    if (!params.access_token || !api.tokens.has(params.access_token)) return error(5);
    const queued = failures.shift();
    if (queued) return error(queued.code, queued.msg);
    const peerIds = params.peer_ids?.split(',').map(Number);
    const peer = peerIds?.[0] ?? Number(params.peer_id);
    if (!Number.isSafeInteger(peer))
      return error(100, 'One of the parameters specified was missing or invalid: peer_id');
    if (!params.message && !params.attachment) return error(100);
    if (api.blacklisted.has(peer)) return error(900);
    if (api.denied.has(peer)) return error(901);
    const randomId = Number(params.random_id ?? 0);
    const dedupKey = `${params.access_token}:${peer}:${randomId}`;
    let msg = randomId ? byRandomId.get(dedupKey) : undefined;
    if (!msg) {
      const next = (cmid.get(peer) ?? 0) + 1;
      cmid.set(peer, next);
      msg = {
        peerId: peer,
        messageId: ++messageId,
        conversationMessageId: next,
        randomId,
        message: params.message,
        attachment: params.attachment,
      };
      sent.push(msg);
      if (randomId) byRandomId.set(dedupKey, msg);
    }
    if (peerIds) {
      return reply({
        response: [
          {
            peer_id: msg.peerId,
            message_id: msg.messageId,
            conversation_message_id: msg.conversationMessageId,
          },
        ],
      });
    }
    return reply({ response: msg.messageId });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const api: VkApiServer = {
    url: `http://127.0.0.1:${port}/method`,
    calls,
    sent,
    tokens: new Set(opts.tokens ?? []),
    denied: new Set(),
    blacklisted: new Set(),
    failNext: (...errors) => failures.push(...errors),
    httpFailNext: (status) => httpFailures.push(status),
    files,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return api;
}
