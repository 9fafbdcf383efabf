import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import { createViberConnector } from '../../../connectors/viber/index.js';
import { contactId } from '../../../event/inbound-contact.js';
import { AppError } from '../../../lib/errors.js';
import {
  buildMessengerApp,
  type MessengerTestApp,
  messengerFixture,
  viberAccount,
} from '../../support/messenger-app.js';

const TOKEN = '445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9';
const URL_MAIN = '/v1/messengers/viber/viber-main';
/** Computed with `openssl dgst -sha256 -hmac <token>` over the fixture files, independently of our code. */
const KNOWN_GOOD = {
  'message-text': '24d20c17714c5c9110411124d8dadbd699d37ae4e941301d4254c1f02d8adb02',
  delivered: '3849bee0a6ac2ba7ef99390ac5ff878b8884f57d7a0baf43fd42c4fcac0c62ca',
};

const sign = (body: string, token = TOKEN) => createHmac('sha256', token).update(body).digest('hex');
const fixture = (name: string) => messengerFixture(`viber/${name}.json`);

describe('Viber bot webhook connector', () => {
  let t: MessengerTestApp;
  let app: FastifyInstance;
  beforeEach(async () => {
    t = await buildMessengerApp(createViberConnector, [
      viberAccount(),
      viberAccount({ key: 'viber-off', active: false }),
    ]);
    app = t.app;
  });

  /** `null`: no signature header at all. */
  const post = (body: string, signature: string | null = sign(body), url = URL_MAIN) =>
    app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...(signature === null ? {} : { 'x-viber-content-signature': signature }),
      },
      payload: body,
    });

  describe('X-Viber-Content-Signature', () => {
    it('accepts the known-good vectors', async () => {
      expect(sign(fixture('message-text'))).toBe(KNOWN_GOOD['message-text']);
      expect((await post(fixture('message-text'), KNOWN_GOOD['message-text'])).statusCode).toBe(200);
      expect((await post(fixture('delivered'), KNOWN_GOOD.delivered)).statusCode).toBe(200);
      expect(t.bus.events).toHaveLength(1);
      expect(t.bus.statuses).toHaveLength(1);
    });

    it('refuses a tampered body, a forged, missing or other-token signature, and an unknown key alike, writing nothing', async () => {
      const body = fixture('message-text');
      const tampered = body.replace('a message to the service', 'a message to the servicf');
      const answers = [
        await post(tampered, KNOWN_GOOD['message-text']),
        await post(body, KNOWN_GOOD['message-text'].replace(/^24/, '25')),
        await post(body, null),
        await post(body, ''),
        await post(body, sign(body, 'another-token')),
        await post(body, sign(body), '/v1/messengers/viber/nope'),
        await post(body, sign(body), '/v1/messengers/viber/viber-off'),
      ];
      expect(answers.map((r) => r.statusCode)).toEqual(answers.map(() => 401));
      for (const res of answers) expect(res.json()).toEqual(answers[0]!.json());
      expect(t.bus.events).toHaveLength(0);
      expect(t.updates.every((u) => u.outcome === 'unauthorized')).toBe(true);
      expect(t.updates).toHaveLength(answers.length);
    });

    it('checks the signature before parsing: an unsigned malformed body is 401, not 400', async () => {
      expect((await post('{"event":', 'deadbeef')).statusCode).toBe(401);
      expect((await post('{"event":')).statusCode).toBe(400);
    });
  });

  describe('message', () => {
    it('text: an inbound Viber message with the exact 64-bit message_token as vendor id', async () => {
      const body = fixture('message-text');
      await post(body);
      const [e] = t.bus.events;
      expect(e).toMatchObject({
        channel: 'viber',
        kind: 'message',
        direction: 'inbound',
        source: { type: 'bot', key: 'viber-main', name: 'Viber bot' },
        externalId: '4912661846655238145',
        occurredAt: new Date(1457764197627).toISOString(),
        sender: {
          name: 'John McClane',
          identities: [{ kind: 'viber', value: '01234567890A=', valid: true }],
        },
        content: {
          text: 'a message to the service',
          message: { vendorMessageId: '4912661846655238145', chatId: '01234567890A=' },
        },
        regionHints: { country: 'UK' },
        meta: { viberMessageType: 'text', viberTrackingData: 'tracking data' },
        raw: { body },
      });
      expect(e!.id).toBe(contactId('viber', 'viber-main', '4912661846655238145'));
      expect(t.updates).toEqual([{ vendor: 'viber', kind: 'message', outcome: 'published' }]);
    });

    it('tokens that differ beyond 2^53 stay different messages (JSON.parse would make them one)', async () => {
      const a = fixture('message-text');
      const b = a.replace('4912661846655238145', '4912661846655238144');
      expect(JSON.parse(a).message_token).toBe(JSON.parse(b).message_token);
      await post(a);
      await post(b);
      expect(t.bus.events.map((e) => e.content.message!.vendorMessageId)).toEqual([
        '4912661846655238145',
        '4912661846655238144',
      ]);
      expect(t.bus.events[0]!.id).not.toBe(t.bus.events[1]!.id);
    });

    it('every message type becomes its attachment, place or contact card', async () => {
      for (const type of ['picture', 'video', 'file', 'location', 'contact', 'sticker', 'url']) {
        expect((await post(fixture(`message-${type}`))).statusCode).toBe(200);
      }
      const m = t.bus.events.map((e) => ({ text: e.content.text, ...e.content.message }));
      expect(m[0]).toMatchObject({
        text: 'the broken part',
        attachments: [
          {
            kind: 'image',
            url: 'https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/5688fdffdf2e2f8bc5b5b6d3b8a9e1c9.jpg',
            name: 'photo.jpg',
            size: 85432,
          },
        ],
      });
      expect(m[1]!.attachments).toMatchObject([
        {
          kind: 'video',
          url: 'https://dl-media.viber.com/5/media/2/short/any/sig/video/0x0/b0f0/video.mp4',
          size: 10000,
        },
      ]);
      expect(m[2]!.attachments).toMatchObject([
        {
          kind: 'document',
          url: 'https://dl-media.viber.com/5/media/2/short/any/sig/file/doc.pdf',
          name: 'name_of_file.pdf',
          size: 10000,
        },
      ]);
      expect(m[3]!.location).toEqual({ latitude: 50.76891, longitude: 6.11499, address: 'Aachen, Markt 39' });
      expect(m[4]!.sharedContact).toEqual({ phone: '+972511123123', name: 'Itamar', ownPhone: false });
      expect(m[5]!.attachments).toMatchObject([
        { kind: 'sticker', fileId: '46105', url: 'https://viber.com/stickers/46105.png' },
      ]);
      expect(m[6]).toMatchObject({
        text: 'http://www.website.com/go_here',
        attachments: [{ kind: 'other', name: 'url', url: 'http://www.website.com/go_here' }],
      });
    });

    it("a shared contact's phone is not an identity of the sender", async () => {
      await post(fixture('message-contact'));
      expect(t.bus.events[0]!.sender.identities).toEqual([
        { kind: 'viber', value: '01234567890A=', valid: true },
      ]);
    });

    it("Viber's retry of the same callback is the same event id", async () => {
      await post(fixture('message-text'));
      await post(fixture('message-text'));
      expect(t.bus.events[1]!.id).toBe(t.bus.events[0]!.id);
    });

    it('answers 503 with Retry-After when the bus cannot take it, so Viber retries', async () => {
      t.bus.failWith = new AppError('BUS_UNAVAILABLE', 'bus is down (test)', { retryAfterSec: 5 });
      const res = await post(fixture('message-text'));
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
    });

    it('a malformed signed body is 400 naming the field, nothing published', async () => {
      const body = JSON.stringify({
        event: 'message',
        message_token: 1,
        sender: { name: 'x' },
        message: { type: 'text' },
      });
      const res = await post(body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.fields).toEqual(['sender.id']);
      expect(t.bus.events).toHaveLength(0);
      expect(t.updates).toEqual([{ vendor: 'viber', kind: 'message', outcome: 'invalid' }]);
    });
  });

  describe('receipts', () => {
    it('delivered, seen, failed become delivery statuses of our message, keyed by the client', async () => {
      for (const name of ['delivered', 'seen', 'failed']) await post(fixture(name));
      expect(t.bus.events).toHaveLength(0);
      expect(t.bus.statuses.map((s) => [s.status, s.vendorMessageId, s.error?.message])).toEqual([
        ['delivered', '4912661846655238145', undefined],
        ['read', '4912661846655238145', undefined],
        ['failed', '4912661846655238145', 'failure description'],
      ]);
      expect(t.bus.statuses[0]).toMatchObject({
        channel: 'viber',
        accountKey: 'viber-main',
        recipient: { kind: 'viber', value: '01234567890A=' },
        occurredAt: new Date(1457764197627).toISOString(),
      });
    });

    it('out of order and repeated: each status keeps its own stable id, whatever arrives first', async () => {
      await post(fixture('seen'));
      await post(fixture('delivered'));
      await post(fixture('seen'));
      const [seen, delivered, seenAgain] = t.bus.statuses;
      expect([seen!.status, delivered!.status]).toEqual(['read', 'delivered']);
      expect(seenAgain!.id).toBe(seen!.id);
      expect(delivered!.id).not.toBe(seen!.id);
    });
  });

  describe('other callbacks', () => {
    it('webhook, conversation_started, subscribed, unsubscribed: 200, nothing recorded, acknowledged', async () => {
      for (const name of ['webhook', 'conversation_started', 'subscribed', 'unsubscribed']) {
        expect((await post(fixture(name))).statusCode).toBe(200);
      }
      expect(t.bus.events).toHaveLength(0);
      expect(t.bus.statuses).toHaveLength(0);
      expect(t.updates).toEqual(
        ['webhook', 'conversation_started', 'subscribed', 'unsubscribed'].map((kind) => ({
          vendor: 'viber',
          kind,
          outcome: 'acknowledged',
        })),
      );
    });

    it('an unknown callback type is answered 200 and counted unhandled', async () => {
      const res = await post(fixture('client_status'));
      expect(res.statusCode).toBe(200);
      expect(t.updates).toEqual([{ vendor: 'viber', kind: 'client_status', outcome: 'unhandled' }]);
    });
  });
});
