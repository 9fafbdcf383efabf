import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VendorSendError } from '../../../outbound/messengers/contract.js';
import { SENDER_FACTORIES } from '../../../outbound/messengers/registry.js';
import { createTelegramSender } from '../../../outbound/messengers/telegram.sender.js';
import { BOT_TOKEN, telegramAccount } from '../../support/telegram-app.js';
import { TelegramApiServer } from '../../support/vendors/telegram-api.js';

const CHAT = 1111111;
const account = telegramAccount();
let api: TelegramApiServer;
let sender: ReturnType<typeof createTelegramSender>;

const urls = (telegram: string) => ({ telegram, meta: telegram, vk: telegram, viber: telegram });
beforeEach(async () => {
  api = await TelegramApiServer.start();
  api.addBot(BOT_TOKEN);
  api.addChat(BOT_TOKEN, CHAT);
  sender = createTelegramSender({ urls: urls(api.url), logger: pino({ level: 'silent' }), timeoutMs: 2_000 });
});
afterEach(() => api.close());

async function failure(p: Promise<unknown>): Promise<VendorSendError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VendorSendError);
  return err as VendorSendError;
}

describe('Telegram sender against the local Bot API server', () => {
  it('is the registered sender for telegram', () => {
    expect(SENDER_FACTORIES.telegram).toBe(createTelegramSender);
  });

  it('sends text with sendMessage; the vendor id is chat-scoped like inbound ones', async () => {
    const r = await sender.send(account, {
      chatId: String(CHAT),
      text: 'Hello, how can we help?',
      idempotencyKey: 'k1',
    });
    expect(r.vendorMessageId).toBe(`${CHAT}:1`);
    expect(api.callsOf('sendMessage')).toEqual([
      {
        method: 'sendMessage',
        token: BOT_TOKEN,
        params: { chat_id: String(CHAT), text: 'Hello, how can we help?' },
      },
    ]);
    expect(r.response).toMatchObject([{ message_id: 1, text: 'Hello, how can we help?' }]);
  });

  it('one file with short text: one sendDocument with the text as caption; images go as sendPhoto', async () => {
    const r = await sender.send(account, {
      chatId: String(CHAT),
      text: 'Your invoice',
      attachments: [
        { kind: 'document', url: 'https://files.example.com/invoice-42.pdf', name: 'invoice-42.pdf' },
      ],
      idempotencyKey: 'k2',
    });
    expect(api.calls.map((c) => c.method)).toEqual(['sendDocument']);
    expect(api.callsOf('sendDocument')[0]!.params).toEqual({
      chat_id: String(CHAT),
      document: 'https://files.example.com/invoice-42.pdf',
      caption: 'Your invoice',
    });
    expect(r.vendorMessageId).toBe(`${CHAT}:1`);
    api.addFile(BOT_TOKEN, { fileId: 'AgACphoto', path: 'photos/file_1.jpg', body: 'jpeg' });
    await sender.send(account, {
      chatId: String(CHAT),
      attachments: [{ kind: 'image', fileId: 'AgACphoto' }],
      idempotencyKey: 'k3',
    });
    expect(api.callsOf('sendPhoto')[0]!.params).toEqual({ chat_id: String(CHAT), photo: 'AgACphoto' });
  });

  it('text too long for a caption goes first as its own message, then the files', async () => {
    const text = 'x'.repeat(1_500);
    await sender.send(account, {
      chatId: String(CHAT),
      text,
      attachments: [{ kind: 'document', url: 'https://files.example.com/a.pdf' }],
      idempotencyKey: 'k4',
    });
    expect(api.calls.map((c) => c.method)).toEqual(['sendMessage', 'sendDocument']);
  });

  it('429 with parameters.retry_after -> rate_limited, retriable, retryAfterSec', async () => {
    api.failNext('sendMessage', {
      error_code: 429,
      description: 'Too Many Requests: retry after 17',
      parameters: { retry_after: 17 },
    });
    const e = await failure(sender.send(account, { chatId: String(CHAT), text: 'hi', idempotencyKey: 'k5' }));
    expect(e).toMatchObject({
      reason: 'rate_limited',
      retriable: true,
      opts: { retryAfterSec: 17, vendorCode: '429' },
    });
  });

  it('403 bot was blocked by the user -> blocked, final', async () => {
    api.block(BOT_TOKEN, CHAT);
    const e = await failure(sender.send(account, { chatId: String(CHAT), text: 'hi', idempotencyKey: 'k6' }));
    expect(e).toMatchObject({ reason: 'blocked', retriable: false, opts: { vendorCode: '403' } });
    expect(e.message).toBe('Forbidden: bot was blocked by the user');
  });

  it('400 chat not found -> bad_recipient; other 400s -> rejected', async () => {
    const e = await failure(sender.send(account, { chatId: '999', text: 'hi', idempotencyKey: 'k7' }));
    expect(e).toMatchObject({
      reason: 'bad_recipient',
      retriable: false,
      message: 'Bad Request: chat not found',
    });
    const long = await failure(
      sender.send(account, { chatId: String(CHAT), text: 'y'.repeat(5_000), idempotencyKey: 'k8' }),
    );
    expect(long).toMatchObject({ reason: 'rejected', message: 'Bad Request: message is too long' });
  });

  it('401 (token revoked) -> unauthorized', async () => {
    const e = await failure(
      sender.send(telegramAccount({ botToken: '999:revoked' }), {
        chatId: String(CHAT),
        text: 'hi',
        idempotencyKey: 'k9',
      }),
    );
    expect(e).toMatchObject({ reason: 'unauthorized', retriable: false, opts: { vendorCode: '401' } });
  });

  it('5xx and an unreachable server -> unavailable, retriable, without the token in the message', async () => {
    api.failNext('sendMessage', { error_code: 502, description: 'Bad Gateway' });
    const e = await failure(
      sender.send(account, { chatId: String(CHAT), text: 'hi', idempotencyKey: 'k10' }),
    );
    expect(e).toMatchObject({ reason: 'unavailable', retriable: true, opts: { vendorCode: '502' } });
    await api.close();
    const down = await failure(
      sender.send(account, { chatId: String(CHAT), text: 'hi', idempotencyKey: 'k11' }),
    );
    expect(down).toMatchObject({ reason: 'unavailable', retriable: true });
    expect(down.message).not.toContain(BOT_TOKEN.split(':')[1]);
    api = await TelegramApiServer.start();
  });

  it('fetchFile: getFile, then the download from /file/bot<token>/<file_path>', async () => {
    api.addFile(BOT_TOKEN, {
      fileId: 'BQACdoc',
      path: 'documents/file_7.pdf',
      body: '%PDF-1.4 test',
      mimeType: 'application/pdf',
    });
    const f = await sender.fetchFile(account, { kind: 'document', fileId: 'BQACdoc', name: 'Testfile.pdf' });
    expect(f.body.toString()).toBe('%PDF-1.4 test');
    expect(f).toMatchObject({ name: 'Testfile.pdf', mimeType: 'application/pdf' });
    expect(api.calls.map((c) => [c.method, c.params])).toEqual([
      ['getFile', { file_id: 'BQACdoc' }],
      ['file', { path: 'documents/file_7.pdf' }],
    ]);
    const missing = await failure(sender.fetchFile(account, { kind: 'document', fileId: 'nope' }));
    expect(missing).toMatchObject({ reason: 'rejected', message: 'Bad Request: invalid file_id' });
  });
});
