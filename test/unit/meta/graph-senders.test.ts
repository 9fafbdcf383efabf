import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_VENDOR_API_URLS } from '../../../channels/messengers.js';
import type { SenderDeps } from '../../../outbound/messengers/contract.js';
import { VendorSendError } from '../../../outbound/messengers/contract.js';
import { graphFailureReason } from '../../../outbound/messengers/graph-api.js';
import { createInstagramSender } from '../../../outbound/messengers/instagram.sender.js';
import { SENDER_FACTORIES } from '../../../outbound/messengers/registry.js';
import { createWhatsAppSender } from '../../../outbound/messengers/whatsapp.sender.js';
import { IG_USER_ID, instagramAccount, WA_PHONE_NUMBER_ID, whatsappAccount } from '../../support/meta-app.js';
import { type MetaGraphServer, startMetaGraphServer } from '../../support/vendors/meta-graph-api.js';

const WA = whatsappAccount();
const IG = instagramAccount();
let graph: MetaGraphServer;
let deps: SenderDeps;

beforeAll(async () => {
  graph = await startMetaGraphServer({
    tokens: [WA.accessToken, IG.accessToken],
    phoneNumberIds: [WA_PHONE_NUMBER_ID],
    igUserIds: [IG_USER_ID],
  });
  deps = {
    urls: { ...DEFAULT_VENDOR_API_URLS, meta: graph.url },
    logger: pino({ level: 'silent' }),
    timeoutMs: 2_000,
  };
});
afterAll(() => graph.close());
beforeEach(() => {
  graph.calls.length = 0;
});

const msg = (o: Partial<Parameters<ReturnType<typeof createWhatsAppSender>['send']>[1]>) => ({
  chatId: '16505551234',
  idempotencyKey: 'reply-1',
  ...o,
});

async function failure(p: Promise<unknown>): Promise<VendorSendError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VendorSendError);
  return e as VendorSendError;
}

describe('WhatsApp sender against the local Graph API', () => {
  const wa = () => createWhatsAppSender(deps);

  it('sends text to /{phone-number-id}/messages with the bearer token and returns messages[0].id', async () => {
    const r = await wa().send(WA, msg({ text: 'We have it in navy too.' }));
    expect(r.vendorMessageId).toMatch(/^wamid\.LOCAL/);
    expect(graph.calls).toEqual([
      {
        method: 'POST',
        path: `/v24.0/${WA_PHONE_NUMBER_ID}/messages`,
        authorization: `Bearer ${WA.accessToken}`,
        body: {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: '16505551234',
          type: 'text',
          text: { preview_url: false, body: 'We have it in navy too.' },
        },
      },
    ]);
  });

  it('sends an approved template with body parameters', async () => {
    await wa().send(
      WA,
      msg({ template: { name: 'order_update', language: 'ru', parameters: ['Иван', '42'] } }),
    );
    expect(graph.calls[0]!.body).toMatchObject({
      type: 'template',
      template: {
        name: 'order_update',
        language: { code: 'ru' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Иван' },
              { type: 'text', text: '42' },
            ],
          },
        ],
      },
    });
  });

  it('sends an image by media id with the text as caption, and a document by link with its file name', async () => {
    await wa().send(
      WA,
      msg({ text: 'Here it is', attachments: [{ kind: 'image', fileId: '1003383421387256' }] }),
    );
    await wa().send(
      WA,
      msg({
        attachments: [{ kind: 'document', url: 'https://files.example/invoice.pdf', name: 'invoice.pdf' }],
      }),
    );
    expect(graph.calls.map((c) => c.body)).toMatchObject([
      { type: 'image', image: { id: '1003383421387256', caption: 'Here it is' } },
      { type: 'document', document: { link: 'https://files.example/invoice.pdf', filename: 'invoice.pdf' } },
    ]);
  });

  it('refuses two attachments in one message before calling WhatsApp', async () => {
    const e = await failure(
      wa().send(
        WA,
        msg({
          attachments: [
            { kind: 'image', fileId: '1' },
            { kind: 'image', fileId: '2' },
          ],
        }),
      ),
    );
    expect(e.reason).toBe('rejected');
    expect(graph.calls).toEqual([]);
  });

  it.each([
    ['rate_limit', 'rate_limited', '130429', 7, true],
    ['pair_rate_limit', 'rate_limited', '131056', undefined, true],
    ['window_closed', 'window_closed', '131047', undefined, false],
    ['blocked', 'blocked', '131050', undefined, false],
    ['undeliverable', 'bad_recipient', '131026', undefined, false],
    ['server_error', 'unavailable', '2', undefined, true],
  ] as const)('maps the %s answer to %s', async (scenario, reason, code, retryAfter, retriable) => {
    graph.failNext(scenario);
    const e = await failure(wa().send(WA, msg({ text: 'hello' })));
    expect([e.reason, e.opts.vendorCode, e.opts.retryAfterSec, e.retriable]).toEqual([
      reason,
      code,
      retryAfter,
      retriable,
    ]);
  });

  it('maps a refused token (code 190) to unauthorized', async () => {
    const e = await failure(wa().send({ ...WA, accessToken: 'expired' }, msg({ text: 'hello' })));
    expect([e.reason, e.opts.vendorCode, e.retriable]).toEqual(['unauthorized', '190', false]);
  });

  it('maps a parameter Graph refuses to rejected', async () => {
    const e = await failure(wa().send(WA, msg({ chatId: '', text: 'hello' })));
    expect([e.reason, e.opts.vendorCode]).toEqual(['rejected', '100']);
  });

  it('maps an unreachable Graph API to unavailable (retried)', async () => {
    const down = createWhatsAppSender({ ...deps, urls: { ...deps.urls, meta: 'http://127.0.0.1:9/v24.0' } });
    const e = await failure(down.send(WA, msg({ text: 'hello' })));
    expect([e.reason, e.retriable]).toEqual(['unavailable', true]);
  });

  it('fetches a media file: GET /{media-id}, then its URL with the bearer token', async () => {
    graph.media.set('1003383421387256', { body: Buffer.from('JPEGDATA'), mimeType: 'image/jpeg' });
    const f = await wa().fetchFile(WA, { kind: 'image', fileId: '1003383421387256' });
    expect(f.body.toString()).toBe('JPEGDATA');
    expect(f.mimeType).toBe('image/jpeg');
    expect(graph.calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
      ['GET', '/v24.0/1003383421387256', `Bearer ${WA.accessToken}`],
      ['GET', '/download/1003383421387256', `Bearer ${WA.accessToken}`],
    ]);
  });
});

describe('Instagram sender against the local Graph API', () => {
  const ig = () => createInstagramSender(deps);

  it('sends text to /{ig-user-id}/messages with recipient and message', async () => {
    const r = await ig().send(IG, {
      chatId: '1254459154682919',
      text: 'Yes, size M is left',
      idempotencyKey: 'k',
    });
    expect(r.vendorMessageId).toMatch(/^aWdfZAG1/);
    expect(graph.calls[0]).toEqual({
      method: 'POST',
      path: `/v24.0/${IG_USER_ID}/messages`,
      authorization: `Bearer ${IG.accessToken}`,
      body: { recipient: { id: '1254459154682919' }, message: { text: 'Yes, size M is left' } },
    });
  });

  it('sends one attachment by URL', async () => {
    await ig().send(IG, {
      chatId: '1',
      idempotencyKey: 'k',
      attachments: [{ kind: 'image', url: 'https://files.example/a.jpg' }],
    });
    expect(graph.calls[0]!.body).toEqual({
      recipient: { id: '1' },
      message: { attachment: { type: 'image', payload: { url: 'https://files.example/a.jpg' } } },
    });
  });

  it.each([
    ['ig_window_closed', 'window_closed', '10'],
    ['ig_blocked', 'blocked', '551'],
    ['rate_limit', 'rate_limited', '130429'],
  ] as const)('maps the %s answer to %s', async (scenario, reason, code) => {
    graph.failNext(scenario);
    const e = await failure(ig().send(IG, { chatId: '1', text: 'hi', idempotencyKey: 'k' }));
    expect([e.reason, e.opts.vendorCode]).toEqual([reason, code]);
  });

  it('refuses a template and text with an attachment without calling Instagram', async () => {
    const t = await failure(
      ig().send(IG, { chatId: '1', idempotencyKey: 'k', template: { name: 'x', language: 'en' } }),
    );
    const both = await failure(
      ig().send(IG, {
        chatId: '1',
        idempotencyKey: 'k',
        text: 'a',
        attachments: [{ kind: 'image', url: 'https://x.example/a' }],
      }),
    );
    expect([t.reason, both.reason]).toEqual(['rejected', 'rejected']);
    expect(graph.calls).toEqual([]);
  });

  it('downloads a client file from its CDN URL without sending the token', async () => {
    graph.media.set('asset-1', { body: Buffer.from('MP4'), mimeType: 'video/mp4' });
    const f = await ig().fetchFile(IG, {
      kind: 'video',
      url: `${graph.url.replace('/v24.0', '')}/cdn/asset-1`,
    });
    expect([f.body.toString(), f.mimeType]).toEqual(['MP4', 'video/mp4']);
    expect(graph.calls[0]!.authorization).toBeUndefined();
  });
});

describe('Graph error codes', () => {
  it.each([
    [400, { code: 80007 }, 'rate_limited'],
    [400, { code: 4 }, 'rate_limited'],
    [429, undefined, 'rate_limited'],
    [400, { code: 131048 }, 'rate_limited'],
    [400, { code: 100, error_subcode: 2018001 }, 'bad_recipient'],
    [400, { code: 10, error_subcode: 2018278 }, 'window_closed'],
    [403, { code: 200 }, 'unauthorized'],
    [400, { code: 131051 }, 'rejected'],
    [400, { code: 132001 }, 'rejected'],
    [400, { code: 131000 }, 'unavailable'],
    [503, undefined, 'unavailable'],
  ])('HTTP %i %j → %s', (status, error, reason) => {
    expect(graphFailureReason(status, error)).toBe(reason);
  });

  it('registers both senders by vendor', () => {
    expect(SENDER_FACTORIES.whatsapp?.(deps).vendor).toBe('whatsapp');
    expect(SENDER_FACTORIES.instagram?.(deps).vendor).toBe('instagram');
  });
});
