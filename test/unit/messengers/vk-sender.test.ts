import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_VENDOR_API_URLS } from '../../../channels/messengers.js';
import { type MessengerSender, VendorSendError } from '../../../outbound/messengers/contract.js';
import { createVkSender, VK_API_VERSION, vkRandomId } from '../../../outbound/messengers/vk.sender.js';
import { vkAccount } from '../../support/messenger-app.js';
import { startVkApi, type VkApiServer } from '../../support/vendors/vk-api.js';

const account = vkAccount();

describe('VK sender (messages.send) against a local VK API', () => {
  let vk: VkApiServer;
  let sender: MessengerSender<ReturnType<typeof vkAccount>>;
  beforeEach(async () => {
    vk = await startVkApi({ tokens: [account.accessToken] });
    sender = createVkSender({
      urls: { ...DEFAULT_VENDOR_API_URLS, vk: vk.url },
      logger: pino({ level: 'silent' }),
      timeoutMs: 2_000,
    }) as MessengerSender<ReturnType<typeof vkAccount>>;
  });
  afterEach(() => vk.close());

  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(VendorSendError);
    return e as VendorSendError;
  };

  it('posts the documented form and returns <peer_id>_<conversation_message_id>, as VK events name the message', async () => {
    const r = await sender.send(account, {
      chatId: '612444319',
      text: 'Доставка 300 ₽',
      idempotencyKey: 'reply-1',
    });
    expect(r.vendorMessageId).toBe('612444319_1');
    expect(vk.calls).toHaveLength(1);
    expect(vk.calls[0]).toEqual({
      method: 'messages.send',
      params: {
        access_token: account.accessToken,
        v: VK_API_VERSION,
        peer_ids: '612444319',
        random_id: String(vkRandomId('reply-1')),
        message: 'Доставка 300 ₽',
      },
    });
    const second = await sender.send(account, {
      chatId: '612444319',
      text: 'Ещё',
      idempotencyKey: 'reply-2',
    });
    expect(second.vendorMessageId).toBe('612444319_2');
  });

  it('random_id is a stable positive 31-bit int per key: a retry after a lost answer is not a second message', async () => {
    expect(vkRandomId('reply-1')).toBe(vkRandomId('reply-1'));
    expect(vkRandomId('reply-1')).not.toBe(vkRandomId('reply-2'));
    for (const key of ['a', 'b', 'reply-1', 'x'.repeat(500)]) {
      expect(vkRandomId(key)).toBeGreaterThan(0);
      expect(vkRandomId(key)).toBeLessThanOrEqual(0x7fffffff);
    }
    const msg = { chatId: '612444319', text: 'Один раз', idempotencyKey: 'outbox-42' };
    const first = await sender.send(account, msg);
    const retry = await sender.send(account, msg);
    expect(retry.vendorMessageId).toBe(first.vendorMessageId);
    expect(vk.calls).toHaveLength(2);
    expect(vk.calls[1]!.params.random_id).toBe(vk.calls[0]!.params.random_id);
    expect(vk.sent).toHaveLength(1);
  });

  it('too many requests (6) and flood control (9) are rate_limited and retriable; the retry is still one message', async () => {
    vk.failNext({ code: 6 }, { code: 9 });
    const msg = { chatId: '612444319', text: 'hi', idempotencyKey: 'k-rate' };
    const tooMany = await failure(sender.send(account, msg));
    expect(tooMany).toMatchObject({
      reason: 'rate_limited',
      retriable: true,
      opts: { vendorCode: '6', retryAfterSec: 1 },
    });
    const flood = await failure(sender.send(account, msg));
    expect(flood).toMatchObject({ reason: 'rate_limited', opts: { vendorCode: '9' } });
    await sender.send(account, msg);
    await sender.send(account, msg);
    expect(vk.sent).toHaveLength(1);
  });

  it('a client who denied the community (901) or is blacklisted (900) is blocked, final', async () => {
    vk.denied.add(111);
    vk.blacklisted.add(222);
    const denied = await failure(sender.send(account, { chatId: '111', text: 'hi', idempotencyKey: 'd' }));
    expect(denied).toMatchObject({ reason: 'blocked', retriable: false, opts: { vendorCode: '901' } });
    expect(denied.message).toContain("Can't send messages for users without permission");
    const black = await failure(sender.send(account, { chatId: '222', text: 'hi', idempotencyKey: 'b' }));
    expect(black).toMatchObject({ reason: 'blocked', opts: { vendorCode: '900' } });
    expect(vk.sent).toHaveLength(0);
  });

  it('a refused token (5) is unauthorized; VK internal error (10) unavailable; a bad parameter (100) rejected', async () => {
    const bad = await failure(
      sender.send({ ...account, accessToken: 'revoked' }, { chatId: '1', text: 'hi', idempotencyKey: 'u' }),
    );
    expect(bad).toMatchObject({ reason: 'unauthorized', retriable: false, opts: { vendorCode: '5' } });
    vk.failNext({ code: 10 }, { code: 100 });
    expect(
      await failure(sender.send(account, { chatId: '1', text: 'hi', idempotencyKey: 'x' })),
    ).toMatchObject({
      reason: 'unavailable',
      retriable: true,
    });
    expect(
      await failure(sender.send(account, { chatId: '1', text: 'hi', idempotencyKey: 'y' })),
    ).toMatchObject({
      reason: 'rejected',
      retriable: false,
      opts: { vendorCode: '100' },
    });
  });

  it('an HTTP failure in front of VK is unavailable; an unreachable VK too', async () => {
    vk.httpFailNext(502);
    expect(
      await failure(sender.send(account, { chatId: '1', text: 'hi', idempotencyKey: 'h' })),
    ).toMatchObject({
      reason: 'unavailable',
      opts: { vendorCode: 'http_502' },
    });
    await vk.close();
    expect(
      await failure(sender.send(account, { chatId: '1', text: 'hi', idempotencyKey: 'h' })),
    ).toMatchObject({
      reason: 'unavailable',
    });
    vk = await startVkApi({ tokens: [account.accessToken] });
  });

  it('a chat id that is not a VK peer is bad_recipient before any call', async () => {
    expect(
      await failure(sender.send(account, { chatId: 'abc', text: 'hi', idempotencyKey: 'p' })),
    ).toMatchObject({
      reason: 'bad_recipient',
    });
    expect(vk.calls).toHaveLength(0);
  });

  it('media VK hosts go as attachment, other files as links in the text', async () => {
    await sender.send(account, {
      chatId: '612444319',
      text: 'Смотрите',
      idempotencyKey: 'att',
      attachments: [
        { kind: 'image', fileId: 'photo612444319_457239017_8f9a3c2e1d4b5a6f70' },
        { kind: 'document', url: 'https://files.example.com/price.pdf', name: 'price.pdf' },
      ],
    });
    expect(vk.sent[0]).toMatchObject({
      message: 'Смотрите\nhttps://files.example.com/price.pdf',
      attachment: 'photo612444319_457239017_8f9a3c2e1d4b5a6f70',
    });
  });

  it('fetchFile downloads the URL VK gave for a client attachment', async () => {
    vk.files.set('/files/photo.jpg', {
      body: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
      contentType: 'image/jpeg',
    });
    const url = `${new URL(vk.url).origin}/files/photo.jpg`;
    const f = await sender.fetchFile(account, { kind: 'image', url, name: 'photo.jpg' });
    expect(f).toEqual({
      body: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
      mimeType: 'image/jpeg',
      name: 'photo.jpg',
    });
    const gone = await failure(sender.fetchFile(account, { kind: 'image', url: `${url}.missing` }));
    expect(gone.reason).toBe('rejected');
    expect((await failure(sender.fetchFile(account, { kind: 'image' }))).reason).toBe('rejected');
  });
});
