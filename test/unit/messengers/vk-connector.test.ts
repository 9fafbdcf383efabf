import type { FastifyInstance } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import { vkAttachments } from '../../../connectors/vk/attachments.js';
import { createVkConnector } from '../../../connectors/vk/index.js';
import { contactId } from '../../../event/inbound-contact.js';
import { AppError } from '../../../lib/errors.js';
import {
  buildMessengerApp,
  type MessengerTestApp,
  messengerFixture,
  vkAccount,
} from '../../support/messenger-app.js';

const URL_MAIN = '/v1/messengers/vk/vk-main';
const SECRET = 'Kx9vQ2mZ7pLw4tRb';

describe('VK Callback API connector', () => {
  let t: MessengerTestApp;
  let app: FastifyInstance;
  beforeEach(async () => {
    t = await buildMessengerApp(createVkConnector, [
      vkAccount(),
      vkAccount({ key: 'vk-off', active: false }),
      vkAccount({ key: 'vk-other', groupId: 1, secret: 'another-secret-1', confirmationCode: 'ffff0000' }),
    ]);
    app = t.app;
  });

  const post = (body: string | object, url = URL_MAIN) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const fixture = (name: string) => JSON.parse(messengerFixture(`vk/${name}.json`));

  describe('confirmation handshake', () => {
    it("answers the account's confirmation code as plain text for its own community", async () => {
      const res = await post(messengerFixture('vk/confirmation.json'));
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toBe('1a2b3c4d');
      expect(t.bus.events).toHaveLength(0);
      expect(t.updates).toEqual([{ vendor: 'vk', kind: 'confirmation', outcome: 'acknowledged' }]);
    });

    it('refuses another community, an unknown key and an inactive account alike, revealing no code', async () => {
      const wrongGroup = await post({ type: 'confirmation', group_id: 999 });
      const unknown = await post(fixture('confirmation'), '/v1/messengers/vk/nope');
      const inactive = await post(fixture('confirmation'), '/v1/messengers/vk/vk-off');
      for (const res of [wrongGroup, unknown, inactive]) {
        expect(res.statusCode).toBe(401);
        expect(res.body).not.toContain('1a2b3c4d');
      }
      expect(wrongGroup.json()).toEqual(unknown.json());
      expect(inactive.json()).toEqual(unknown.json());
    });

    it('checks a secret the confirmation carries', async () => {
      expect((await post({ ...fixture('confirmation'), secret: SECRET })).body).toBe('1a2b3c4d');
      expect((await post({ ...fixture('confirmation'), secret: 'wrong' })).statusCode).toBe(401);
    });
  });

  describe('secret', () => {
    it('accepts the right secret, refuses a forged or missing one with the unknown-key answer, writing nothing', async () => {
      const good = await post(messengerFixture('vk/message_new-text.json'));
      expect(good.statusCode).toBe(200);
      expect(good.body).toBe('ok');
      const forged = await post({ ...fixture('message_new-text'), secret: 'Kx9vQ2mZ7pLw4tRc' });
      const { secret: _, ...withoutSecret } = fixture('message_new-text');
      const missing = await post(withoutSecret);
      const unknownKey = await post(fixture('message_new-text'), '/v1/messengers/vk/nope');
      const otherAccountsSecret = await post({ ...fixture('message_new-text'), secret: 'another-secret-1' });
      for (const res of [forged, missing, unknownKey, otherAccountsSecret]) {
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual(unknownKey.json());
      }
      expect(t.bus.events).toHaveLength(1);
      expect(t.updates.filter((u) => u.outcome === 'unauthorized')).toHaveLength(4);
    });

    it("refuses the right secret for another community's events", async () => {
      const res = await post({ ...fixture('message_new-text'), group_id: 1 });
      expect(res.statusCode).toBe(401);
      expect(t.bus.events).toHaveLength(0);
    });

    it("is another vendor's key: a VK event at a Viber account's URL is refused", async () => {
      t.settings.accounts.push({
        vendor: 'viber',
        key: 'viber-bot',
        name: 'Viber',
        active: true,
        authToken: SECRET,
        senderName: 'Shop',
      });
      expect((await post(fixture('message_new-text'), '/v1/messengers/vk/viber-bot')).statusCode).toBe(401);
    });
  });

  describe('message_new', () => {
    it('becomes an inbound VK message: from_id identity, peer_id chat, peer_cmid vendor id', async () => {
      const body = messengerFixture('vk/message_new-text.json');
      const res = await post(body);
      expect(res.body).toBe('ok');
      const [e] = t.bus.events;
      expect(e).toMatchObject({
        channel: 'vk',
        kind: 'message',
        direction: 'inbound',
        source: { type: 'bot', key: 'vk-main', name: 'VK ads' },
        externalId: '612444319_2169',
        occurredAt: new Date(1683278670 * 1000).toISOString(),
        sender: { identities: [{ kind: 'vk', value: '612444319', valid: true }] },
        content: {
          text: 'Здравствуйте! Сколько стоит доставка в Казань?',
          message: { vendorMessageId: '612444319_2169', chatId: '612444319' },
        },
        meta: {
          vkRef: 'summer_sale',
          vkRefSource: 'ads_banner',
          accountRegionId: 3,
          accountSource: 'VK ads',
        },
        raw: { contentType: 'application/json', body },
      });
      expect(e!.id).toBe(contactId('vk', 'vk-main', '612444319_2169'));
      expect(e!.content.message!.attachments).toBeUndefined();
      expect(t.updates).toEqual([{ vendor: 'vk', kind: 'message_new', outcome: 'published' }]);
    });

    it('keeps every attachment as metadata with its VK media id and direct URL, the place, the quote and forwards', async () => {
      await post(messengerFixture('vk/message_new-media.json'));
      const m = t.bus.events[0]!.content.message!;
      expect(m.attachments).toEqual([
        {
          kind: 'image',
          fileId: 'photo612444319_457239017_8f9a3c2e1d4b5a6f70',
          url: 'https://sun9-1.userapi.com/impg/w.jpg?size=960x1280',
        },
        {
          kind: 'document',
          fileId: 'doc612444319_660812233_4c1e9f0b2a3d',
          url: 'https://vk.com/doc612444319_660812233?hash=a1b2c3&dl=d4e5f6&api=1&no_preview=1',
          name: 'dogovor_postavki.pdf',
          size: 48213,
        },
        {
          kind: 'voice',
          fileId: 'audio_message612444319_660812240_77e0e56a1b7c',
          url: 'https://psv4.userapi.com/c909228/u612444319/audiomsg/d4/5e2f0a.ogg',
          mimeType: 'audio/ogg',
        },
        { kind: 'sticker', fileId: 'sticker9008', url: 'https://vk.com/sticker/1-9008-512' },
        {
          kind: 'other',
          name: 'wall',
          fileId: 'wall-214167102_1523',
          url: 'https://vk.com/wall-214167102_1523',
          caption: 'Летняя распродажа: −30% на всё',
        },
        { kind: 'other', name: 'poll', fileId: 'poll612444319_870012' },
      ]);
      expect(m.location).toEqual({
        latitude: 55.796127,
        longitude: 49.106414,
        name: 'Казань, улица Баумана',
      });
      expect(m.replyToVendorMessageId).toBe('612444319_2170');
      expect(t.bus.events[0]!.meta?.forwarded).toEqual([{ fromId: 51203344, text: 'Пересылаю счёт' }]);
      expect(t.bus.events[0]!.content.text).toBe('Вот фото и договор');
    });

    it('a group-chat message: the author is the identity, the chat (2000000000 + N) is where replies go', async () => {
      await post(messengerFixture('vk/message_new-chat.json'));
      expect(t.bus.events[0]).toMatchObject({
        sender: { identities: [{ kind: 'vk', value: '612444319' }] },
        content: { message: { vendorMessageId: '2000000066_2169', chatId: '2000000066' } },
      });
    });

    it("VK's redelivery of the same message is the same event id, whatever its event_id", async () => {
      await post(fixture('message_new-text'));
      await post({ ...fixture('message_new-text'), event_id: 'ffffffffffffffffffffffffffffffffffffffff' });
      expect(t.bus.events).toHaveLength(2);
      expect(t.bus.events[1]!.id).toBe(t.bus.events[0]!.id);
    });

    it('answers 503 with Retry-After (no "ok", so VK retries) when the bus cannot take the event', async () => {
      t.bus.failWith = new AppError('BUS_UNAVAILABLE', 'bus is down (test)', { retryAfterSec: 5 });
      const res = await post(fixture('message_new-text'));
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).not.toBe('ok');
    });
  });

  describe('message_edit and message_reply', () => {
    it('an edit of the client message refers to it, is marked edited, and has an id of its own', async () => {
      await post(fixture('message_new-text'));
      await post(messengerFixture('vk/message_edit.json'));
      await post(fixture('message_edit'));
      const [original, edit, again] = t.bus.events;
      expect(edit).toMatchObject({
        direction: 'inbound',
        content: {
          text: 'Здравствуйте! Сколько стоит доставка в Казань и в Иннополис?',
          message: { vendorMessageId: '612444319_2169', edited: true },
        },
        occurredAt: new Date(1683278801 * 1000).toISOString(),
      });
      expect(edit!.id).not.toBe(original!.id);
      expect(again!.id).toBe(edit!.id);
      const later = await post({
        ...fixture('message_edit'),
        object: { ...fixture('message_edit').object, update_time: 1683278999 },
      });
      expect(later.statusCode).toBe(200);
      expect(t.bus.events[3]!.id).not.toBe(edit!.id);
    });

    it("message_reply (the community's answer from the VK UI) is an outbound message to the peer, not a lead", async () => {
      await post(messengerFixture('vk/message_reply.json'));
      expect(t.bus.events[0]).toMatchObject({
        direction: 'outbound',
        sender: { identities: [{ kind: 'vk', value: '612444319' }] },
        content: {
          text: 'Пришлите, пожалуйста, фото товара',
          message: { vendorMessageId: '612444319_2170', chatId: '612444319' },
        },
        meta: { vkAdminAuthorId: 7301255 },
      });
      expect(t.updates.at(-1)).toEqual({ vendor: 'vk', kind: 'message_reply', outcome: 'published' });
    });

    it('an edit of our own message is outbound too', async () => {
      const o = {
        ...fixture('message_reply').object,
        update_time: 1683279100,
        text: 'Пришлите фото, пожалуйста',
      };
      await post({ ...fixture('message_reply'), type: 'message_edit', object: o });
      expect(t.bus.events[0]).toMatchObject({
        direction: 'outbound',
        content: { message: { vendorMessageId: '612444319_2170', edited: true } },
      });
    });

    it("the community's own message in a group chat belongs to no client: acknowledged with ok, ignored", async () => {
      const o = { ...fixture('message_reply').object, peer_id: 2000000066 };
      const res = await post({ ...fixture('message_reply'), object: o });
      expect(res.body).toBe('ok');
      expect(t.bus.events).toHaveLength(0);
      expect(t.updates).toEqual([{ vendor: 'vk', kind: 'message_reply', outcome: 'ignored' }]);
    });
  });

  describe('other events', () => {
    it('message_read is a read status of our message, keyed by the reader', async () => {
      await post(messengerFixture('vk/message_read.json'));
      expect(t.bus.events).toHaveLength(0);
      expect(t.bus.statuses).toEqual([
        expect.objectContaining({
          schema: 'delivery-status',
          channel: 'vk',
          accountKey: 'vk-main',
          vendorMessageId: '612444319_2170',
          status: 'read',
          recipient: { kind: 'vk', value: '612444319', valid: true },
        }),
      ]);
      await post(fixture('message_read'));
      expect(t.bus.statuses[1]!.id).toBe(t.bus.statuses[0]!.id);
    });

    it('message_allow and message_deny are acknowledged with ok and record nothing', async () => {
      for (const name of ['message_allow', 'message_deny']) {
        const res = await post(messengerFixture(`vk/${name}.json`));
        expect(res.body).toBe('ok');
      }
      expect(t.bus.events).toHaveLength(0);
      expect(t.bus.statuses).toHaveLength(0);
      expect(t.updates.map((u) => u.outcome)).toEqual(['acknowledged', 'acknowledged']);
    });

    it('an event type we do not handle still gets ok (VK disables servers that fail) and is counted', async () => {
      const res = await post(messengerFixture('vk/group_join.json'));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('ok');
      expect(t.updates).toEqual([{ vendor: 'vk', kind: 'group_join', outcome: 'unhandled' }]);
      const typing = await post({ ...fixture('group_join'), type: 'message_typing_state', object: {} });
      expect(typing.body).toBe('ok');
      expect(t.updates.at(-1)!.outcome).toBe('ignored');
    });
  });

  describe('malformed bodies', () => {
    it('400 naming the field, nothing published, counted invalid', async () => {
      const notJson = await post('{"type":');
      expect(notJson.statusCode).toBe(400);
      expect(notJson.json().error.fields).toEqual(['body']);
      const noGroup = await post({ type: 'message_new', secret: SECRET });
      expect(noGroup.json().error.fields).toEqual(['group_id']);
      const o = structuredClone(fixture('message_new-text'));
      delete o.object.message.peer_id;
      const noPeer = await post(o);
      expect(noPeer.statusCode).toBe(400);
      expect(noPeer.json().error.fields).toEqual(['object.message.peer_id']);
      expect(t.bus.events).toHaveLength(0);
      expect(t.updates.map((u) => u.outcome)).toEqual(['invalid', 'invalid', 'invalid']);
    });

    it('an id beyond 2^53 is refused naming its field, never rounded into another client', async () => {
      const text = messengerFixture('vk/message_new-text.json').replace(
        '"from_id": 612444319',
        '"from_id": 9007199254740993',
      );
      const res = await post(text);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.fields).toEqual(['object.message.from_id']);
    });
  });
});

describe('VK attachments', () => {
  it('video, audio, link, image documents and unknown types keep what VK gives', () => {
    expect(
      vkAttachments([
        {
          type: 'video',
          video: {
            id: 456239017,
            owner_id: -214167102,
            title: 'Обзор',
            player: 'https://vk.com/video_ext.php?oid=-214167102&id=456239017',
          },
        },
        { type: 'audio', audio: { id: 456239100, owner_id: 2000, artist: 'Artist', title: 'Song', url: '' } },
        { type: 'link', link: { url: 'https://shop.example.com/item/1', title: 'Товар' } },
        {
          type: 'doc',
          doc: {
            id: 1,
            owner_id: 2,
            title: 'scan.png',
            ext: 'png',
            size: 10,
            type: 4,
            url: 'https://vk.com/doc2_1',
          },
        },
        { type: 'gift', gift: { id: 5 } },
        {
          type: 'photo',
          photo: { id: 1, owner_id: 2, sizes: [{ type: 'x', width: 10, height: 10, url: 'not a url' }] },
        },
      ]),
    ).toEqual([
      {
        kind: 'video',
        fileId: 'video-214167102_456239017',
        url: 'https://vk.com/video_ext.php?oid=-214167102&id=456239017',
        name: 'Обзор',
      },
      { kind: 'audio', fileId: 'audio2000_456239100', name: 'Artist — Song' },
      { kind: 'other', name: 'Товар', url: 'https://shop.example.com/item/1' },
      { kind: 'image', fileId: 'doc2_1', url: 'https://vk.com/doc2_1', name: 'scan.png', size: 10 },
      { kind: 'other', name: 'gift' },
      { kind: 'image', fileId: 'photo2_1' },
    ]);
  });
});
