import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_VENDOR_API_URLS, type ViberAccount } from '../../../channels/messengers.js';
import { type MessengerSender, VendorSendError } from '../../../outbound/messengers/contract.js';
import { createViberSender } from '../../../outbound/messengers/viber.sender.js';
import { viberAccount } from '../../support/messenger-app.js';
import { startViberApi, type ViberApiServer } from '../../support/vendors/viber-api.js';

const account = viberAccount({ senderName: 'Интернет-магазин «Пример» — поддержка' });
const CLIENT = '01234567890A=';

describe('Viber sender (send_message) against a local Viber API', () => {
  let viber: ViberApiServer;
  let sender: MessengerSender<ViberAccount>;
  beforeEach(async () => {
    viber = await startViberApi({ tokens: [account.authToken] });
    sender = createViberSender({
      urls: { ...DEFAULT_VENDOR_API_URLS, viber: viber.url },
      logger: pino({ level: 'silent' }),
      timeoutMs: 2_000,
    }) as MessengerSender<ViberAccount>;
  });
  afterEach(() => viber.close());

  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(VendorSendError);
    return e as VendorSendError;
  };

  it('sends text with the auth token header and returns the exact 64-bit message_token', async () => {
    const r = await sender.send(account, {
      chatId: CLIENT,
      text: 'Здравствуйте!',
      idempotencyKey: 'reply-1',
    });
    expect(r.vendorMessageId).toBe('5741311803571721087');
    expect(Number(r.vendorMessageId)).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(viber.calls).toEqual([
      {
        path: '/pa/send_message',
        authToken: account.authToken,
        body: {
          receiver: CLIENT,
          min_api_version: 1,
          sender: { name: 'Интернет-магазин «Пример» —' },
          tracking_data: 'reply-1',
          type: 'text',
          text: 'Здравствуйте!',
        },
      },
    ]);
    const next = await sender.send(account, { chatId: CLIENT, text: 'Ещё', idempotencyKey: 'reply-2' });
    expect(next.vendorMessageId).toBe('5741311803571721088');
  });

  it('a picture carries the text as its caption: one Viber message', async () => {
    await sender.send(account, {
      chatId: CLIENT,
      text: 'Ваш заказ',
      idempotencyKey: 'pic',
      attachments: [{ kind: 'image', url: 'https://cdn.example.com/order.jpg' }],
    });
    expect(viber.sent.map((s) => s.body)).toMatchObject([
      { type: 'picture', text: 'Ваш заказ', media: 'https://cdn.example.com/order.jpg' },
    ]);
  });

  it('a file goes with the size the host reports; without one, as a url message', async () => {
    viber.files.set('/media/price.pdf', { body: Buffer.alloc(2048, 1), contentType: 'application/pdf' });
    viber.files.set('/media/stream.pdf', {
      body: Buffer.alloc(10, 1),
      contentType: 'application/pdf',
      hideLength: true,
    });
    const r = await sender.send(account, {
      chatId: CLIENT,
      text: 'Прайс',
      idempotencyKey: 'file',
      attachments: [{ kind: 'document', url: viber.fileUrl('/media/price.pdf'), name: 'price.pdf' }],
    });
    await sender.send(account, {
      chatId: CLIENT,
      idempotencyKey: 'stream',
      attachments: [{ kind: 'document', url: viber.fileUrl('/media/stream.pdf') }],
    });
    expect(viber.sent.map((s) => s.body)).toMatchObject([
      { type: 'text', text: 'Прайс' },
      { type: 'file', media: viber.fileUrl('/media/price.pdf'), size: 2048, file_name: 'price.pdf' },
      { type: 'url', media: viber.fileUrl('/media/stream.pdf') },
    ]);
    expect(r.vendorMessageId).toBe(viber.sent[1]!.token);
  });

  it('more than one attachment is refused before any call', async () => {
    const e = await failure(
      sender.send(account, {
        chatId: CLIENT,
        idempotencyKey: 'two',
        attachments: [
          { kind: 'image', url: 'https://cdn.example.com/1.jpg' },
          { kind: 'image', url: 'https://cdn.example.com/2.jpg' },
        ],
      }),
    );
    expect(e.reason).toBe('rejected');
    expect(viber.calls).toHaveLength(0);
  });

  it('receiverNotSubscribed (6) is blocked, final', async () => {
    viber.unsubscribed.add(CLIENT);
    const e = await failure(sender.send(account, { chatId: CLIENT, text: 'hi', idempotencyKey: 'b' }));
    expect(e).toMatchObject({ reason: 'blocked', retriable: false, opts: { vendorCode: '6' } });
    expect(e.message).toContain('receiverNotSubscribed');
  });

  it('tooManyRequests (12) is rate_limited and retriable; the retry then goes through', async () => {
    viber.failNext(12);
    const msg = { chatId: CLIENT, text: 'hi', idempotencyKey: 'r' };
    expect(await failure(sender.send(account, msg))).toMatchObject({
      reason: 'rate_limited',
      retriable: true,
    });
    expect((await sender.send(account, msg)).vendorMessageId).toBe(viber.sent[0]!.token);
    expect(viber.sent).toHaveLength(1);
  });

  it('a wrong token (2) is unauthorized, an unknown receiver (5) bad_recipient, bad data (3) rejected', async () => {
    const bad = await failure(
      sender.send({ ...account, authToken: 'wrong' }, { chatId: CLIENT, text: 'hi', idempotencyKey: 'u' }),
    );
    expect(bad).toMatchObject({ reason: 'unauthorized', opts: { vendorCode: '2' } });
    viber.unregistered.add('ghost');
    expect(
      await failure(sender.send(account, { chatId: 'ghost', text: 'hi', idempotencyKey: 'g' })),
    ).toMatchObject({
      reason: 'bad_recipient',
      opts: { vendorCode: '5' },
    });
    viber.failNext(3);
    expect(
      await failure(sender.send(account, { chatId: CLIENT, text: 'hi', idempotencyKey: 'd' })),
    ).toMatchObject({
      reason: 'rejected',
      retriable: false,
    });
  });

  it('Viber unreachable is unavailable (retriable)', async () => {
    await viber.close();
    expect(
      await failure(sender.send(account, { chatId: CLIENT, text: 'hi', idempotencyKey: 'x' })),
    ).toMatchObject({
      reason: 'unavailable',
      retriable: true,
    });
    viber = await startViberApi();
  });

  it('fetchFile downloads a media URL from a client message', async () => {
    viber.files.set('/media/photo.jpg', { body: Buffer.from('jpegbytes'), contentType: 'image/jpeg' });
    const f = await sender.fetchFile(account, { kind: 'image', url: viber.fileUrl('/media/photo.jpg') });
    expect(f.body.toString()).toBe('jpegbytes');
    expect(f.mimeType).toBe('image/jpeg');
    const expired = await failure(
      sender.fetchFile(account, { kind: 'image', url: viber.fileUrl('/media/old.jpg') }),
    );
    expect(expired.reason).toBe('rejected');
  });
});
