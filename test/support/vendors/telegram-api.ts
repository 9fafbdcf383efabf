import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server speaking the Telegram Bot API as documented at https://core.telegram.org/bots/api, for
 * tests: the connector and the sender run unchanged with their API root pointed here.
 *
 * - `POST|GET /bot<token>/<method>` with parameters in the query string, urlencoded or JSON; every answer is
 *   `{ok:true,result}` or `{ok:false,error_code,description[,parameters]}` with the HTTP status = error_code.
 * - getUpdates: `offset` confirms every update below it (they are gone for good), `limit` 1-100, `timeout`
 *   long-polls until an update arrives; a second getUpdates while one waits ends the first with 409 Conflict.
 * - sendMessage / sendPhoto / sendDocument to chats that pressed Start (addChat); unknown chat 400 "chat not
 *   found", blocked 403 "bot was blocked by the user"; getFile and `/file/bot<token>/<file_path>` downloads.
 * - failNext(method, error) answers the next call(s) with a Bot API error (429 with retry_after, 5xx...).
 * Every call is recorded in `calls`.
 */
export interface BotApiError {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export interface BotApiCall {
  method: string;
  token: string;
  params: Record<string, unknown>;
}

interface StoredFile {
  file_id: string;
  file_unique_id: string;
  file_path: string;
  body: Buffer;
  mimeType: string;
}

interface Bot {
  user: { id: number; is_bot: true; first_name: string; username: string };
  queue: { update_id: number }[];
  nextUpdateId: number;
  waiting?: { res: ServerResponse; wake: () => void; timer: NodeJS.Timeout };
  chats: Set<string>;
  blocked: Set<string>;
  messageIds: Map<string, number>;
  files: Map<string, StoredFile>;
}

const INTERNAL_ERRORS: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway' };

export class TelegramApiServer {
  readonly calls: BotApiCall[] = [];
  private readonly bots = new Map<string, Bot>();
  private readonly failures = new Map<string, BotApiError[]>();
  private fileSeq = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<TelegramApiServer> {
    let self: TelegramApiServer | undefined;
    const server = createServer((req, res) => {
      self!.handle(req, res).catch((err) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new TelegramApiServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  async close(): Promise<void> {
    for (const bot of this.bots.values()) if (bot.waiting) this.endWait(bot, []);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A bot the server knows; its id is the token's first part, as in real tokens (`123456:ABC-DEF...`). */
  addBot(token: string, username = 'test_bot'): void {
    const id = Number(token.split(':')[0]);
    this.bots.set(token, {
      user: { id, is_bot: true, first_name: username, username },
      queue: [],
      nextUpdateId: 100_000,
      chats: new Set(),
      blocked: new Set(),
      messageIds: new Map(),
      files: new Map(),
    });
  }

  /** A private chat whose user pressed Start: the bot may write to it. */
  addChat(token: string, chatId: number | string): void {
    this.bot(token).chats.add(String(chatId));
  }

  /** The user blocked the bot: sends answer 403. */
  block(token: string, chatId: number | string): void {
    this.bot(token).blocked.add(String(chatId));
  }

  /** A file the bot may fetch with getFile and download. */
  addFile(
    token: string,
    file: { fileId: string; path: string; body: Buffer | string; mimeType?: string },
  ): void {
    this.bot(token).files.set(file.fileId, {
      file_id: file.fileId,
      file_unique_id: `u-${file.fileId}`,
      file_path: file.path,
      body: Buffer.from(file.body),
      mimeType: file.mimeType ?? 'application/octet-stream',
    });
  }

  /** Queues an update (given without update_id) for getUpdates; returns the update_id it got. */
  pushUpdate(token: string, update: Record<string, unknown>): number {
    const bot = this.bot(token);
    const update_id = bot.nextUpdateId++;
    bot.queue.push({ update_id, ...update });
    bot.waiting?.wake();
    return update_id;
  }

  /** Update ids not yet confirmed (an update is confirmed by a getUpdates with a higher offset). */
  pending(token: string): number[] {
    return this.bot(token).queue.map((u) => u.update_id);
  }

  /** The next `times` calls of `method` answer this error. */
  failNext(method: string, error: BotApiError, times = 1): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push(error);
    this.failures.set(method, list);
  }

  callsOf(method: string): BotApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private bot(token: string): Bot {
    const bot = this.bots.get(token);
    if (!bot) throw new Error(`no bot with token ${token} (addBot first)`);
    return bot;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.url);
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) return this.download(res, decodeURIComponent(file[1]!), decodeURIComponent(file[2]!));
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const body = await readBody(req);
    if (!m) return answerError(res, { error_code: 404, description: 'Not Found' });
    const token = decodeURIComponent(m[1]!);
    const method = m[2]!;
    const params = { ...Object.fromEntries(url.searchParams), ...parseBody(req, body) };
    this.calls.push({ method, token, params });
    const bot = this.bots.get(token);
    if (!bot) return answerError(res, { error_code: 401, description: 'Unauthorized' });
    const failure = this.failures.get(method)?.shift();
    if (failure) {
      // Telegram's front ends answer 5xx with an HTML page, not the JSON envelope.
      if (failure.error_code >= 500) {
        res.writeHead(failure.error_code, { 'content-type': 'text/html' });
        res.end(`<html><body>${INTERNAL_ERRORS[failure.error_code] ?? 'Error'}</body></html>`);
        return;
      }
      return answerError(res, failure);
    }
    switch (method) {
      case 'getMe':
        return answer(res, bot.user);
      case 'getUpdates':
        return this.getUpdates(bot, params, res);
      case 'sendMessage':
        return this.send(bot, params, res, 'text');
      case 'sendPhoto':
        return this.send(bot, params, res, 'photo');
      case 'sendDocument':
        return this.send(bot, params, res, 'document');
      case 'getFile':
        return this.getFile(bot, params, res);
      default:
        return answerError(res, { error_code: 404, description: 'Not Found' });
    }
  }

  private getUpdates(bot: Bot, params: Record<string, unknown>, res: ServerResponse) {
    const offset = params.offset === undefined ? undefined : Number(params.offset);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const timeout = Math.max(0, Number(params.timeout ?? 0));
    if (bot.waiting) {
      answerError(bot.waiting.res, {
        error_code: 409,
        description:
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      });
      clearTimeout(bot.waiting.timer);
      bot.waiting = undefined;
    }
    if (offset !== undefined && offset < 0) bot.queue = bot.queue.slice(offset);
    else if (offset !== undefined) bot.queue = bot.queue.filter((u) => u.update_id >= offset);
    const ready = () => bot.queue.slice(0, limit);
    if (ready().length || timeout === 0) return answer(res, ready());
    const timer = setTimeout(() => this.endWait(bot, ready()), timeout * 1000);
    bot.waiting = { res, timer, wake: () => this.endWait(bot, ready()) };
    res.on('close', () => {
      if (bot.waiting?.res === res) {
        clearTimeout(timer);
        bot.waiting = undefined;
      }
    });
  }

  private endWait(bot: Bot, result: unknown[]): void {
    const w = bot.waiting;
    if (!w) return;
    bot.waiting = undefined;
    clearTimeout(w.timer);
    answer(w.res, result);
  }

  private send(
    bot: Bot,
    params: Record<string, unknown>,
    res: ServerResponse,
    what: 'text' | 'photo' | 'document',
  ) {
    const chat = String(params.chat_id ?? '');
    if (!chat) return answerError(res, { error_code: 400, description: 'Bad Request: chat_id is empty' });
    if (!bot.chats.has(chat))
      return answerError(res, { error_code: 400, description: 'Bad Request: chat not found' });
    if (bot.blocked.has(chat)) {
      return answerError(res, { error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    }
    const message_id = (bot.messageIds.get(chat) ?? 0) + 1;
    const base = {
      message_id,
      from: bot.user,
      chat: { id: Number(chat), type: 'private' },
      date: Math.floor(Date.now() / 1000),
    };
    if (what === 'text') {
      const text = String(params.text ?? '');
      if (!text.trim())
        return answerError(res, { error_code: 400, description: 'Bad Request: message text is empty' });
      if (text.length > 4096)
        return answerError(res, { error_code: 400, description: 'Bad Request: message is too long' });
      bot.messageIds.set(chat, message_id);
      return answer(res, { ...base, text });
    }
    const media = String(params[what] ?? '');
    if (!media)
      return answerError(res, {
        error_code: 400,
        description: `Bad Request: there is no ${what} in the request`,
      });
    const caption = params.caption === undefined ? undefined : String(params.caption);
    if (caption && caption.length > 1024) {
      return answerError(res, { error_code: 400, description: 'Bad Request: message caption is too long' });
    }
    const known = bot.files.get(media);
    if (!known && !/^https?:\/\//.test(media)) {
      return answerError(res, {
        error_code: 400,
        description: 'Bad Request: wrong file identifier/HTTP URL specified',
      });
    }
    bot.messageIds.set(chat, message_id);
    const file_id = known?.file_id ?? `sent-${++this.fileSeq}`;
    const sentFile = { file_id, file_unique_id: `u-${file_id}` };
    const result =
      what === 'photo'
        ? { ...base, photo: [{ ...sentFile, width: 1280, height: 960 }], caption }
        : { ...base, document: { ...sentFile, file_name: known?.file_path.split('/').pop() }, caption };
    return answer(res, result);
  }

  private getFile(bot: Bot, params: Record<string, unknown>, res: ServerResponse) {
    const f = bot.files.get(String(params.file_id ?? ''));
    if (!f) return answerError(res, { error_code: 400, description: 'Bad Request: invalid file_id' });
    answer(res, {
      file_id: f.file_id,
      file_unique_id: f.file_unique_id,
      file_size: f.body.length,
      file_path: f.file_path,
    });
  }

  private download(res: ServerResponse, token: string, path: string) {
    const f = [...(this.bots.get(token)?.files.values() ?? [])].find((x) => x.file_path === path);
    this.calls.push({ method: 'file', token, params: { path } });
    if (!f) return answerError(res, { error_code: 404, description: 'Not Found' });
    res.writeHead(200, { 'content-type': f.mimeType, 'content-length': f.body.length });
    res.end(f.body);
  }
}

function answer(res: ServerResponse, result: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: true, result }));
}

function answerError(res: ServerResponse, e: BotApiError): void {
  res.writeHead(e.error_code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: false, ...e }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(req: IncomingMessage, body: string): Record<string, unknown> {
  if (!body) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.includes('json')) return JSON.parse(body) as Record<string, unknown>;
  if (type.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body));
  throw new Error(`content type ${type} is not supported by the test Bot API server`);
}
