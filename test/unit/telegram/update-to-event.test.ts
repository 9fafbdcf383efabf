import { describe, expect, it } from 'vitest';
import { payloadUtm, startPayload } from '../../../connectors/telegram/deep-link.js';
import { type MappedUpdate, updateToEvent } from '../../../connectors/telegram/update-to-event.js';
import { contactId, type InboundContact } from '../../../event/inbound-contact.js';
import { AppError } from '../../../lib/errors.js';
import { fixture, fixtureText, telegramAccount } from '../../support/telegram-app.js';

const account = telegramAccount();
const map = (name: string, acc = account) =>
  updateToEvent(
    fixture(name),
    acc,
    { contentType: 'application/json', body: fixtureText(name) },
    {
      defaultCountry: 'RU',
    },
  );
function event(name: string): InboundContact {
  const m: MappedUpdate = map(name);
  if (m.outcome !== 'published') throw new Error(`${name}: ${m.outcome} (${m.reason})`);
  return m.event;
}

describe('Telegram update -> InboundContact', () => {
  it('maps a text message from the documented example: identity, chat, source, stable id, raw copy', () => {
    const e = event('entities');
    expect(e).toMatchObject({
      channel: 'telegram',
      kind: 'message',
      direction: 'inbound',
      source: { type: 'bot', key: 'shop', name: 'Telegram shop bot' },
      externalId: '1111111:1365',
      occurredAt: new Date(1441645532 * 1000).toISOString(),
      sender: {
        name: 'Test Firstname Test Lastname',
        identities: [{ kind: 'telegram', value: '1111111', valid: true }],
      },
      content: { text: 'Bold and italics', message: { vendorMessageId: '1111111:1365', chatId: '1111111' } },
      meta: { vendor: 'telegram', updateId: 10000, accountRegionId: 3, username: 'Testusername' },
      raw: { contentType: 'application/json', body: fixtureText('entities') },
    });
    expect(e.id).toBe(contactId('telegram', 'shop', '1111111:1365'));
    expect(e.content.message?.edited).toBeUndefined();
    expect(e.utm).toEqual({});
  });

  it('gives the same id for a redelivery and another id for the same message id on another account', () => {
    expect(event('entities').id).toBe(event('entities').id);
    const other = map('entities', telegramAccount({ key: 'other' }));
    expect(other.outcome === 'published' && other.event.id).not.toBe(event('entities').id);
  });

  it('a message id is scoped to its chat (Telegram numbers messages per chat)', () => {
    const a = event('text');
    const b = fixture('text') as { message: { chat: { id: number } } };
    b.message.chat.id = 2222222;
    const m = updateToEvent(
      b,
      account,
      { contentType: 'application/json', body: '{}' },
      { defaultCountry: 'RU' },
    );
    expect(m.outcome === 'published' && m.event.content.message?.vendorMessageId).toBe('2222222:1365');
    expect(m.outcome === 'published' && m.event.id).not.toBe(a.id);
  });

  it('an edit carries edited: true and the same vendorMessageId, with its own event id per edit_date', () => {
    const e = event('edited');
    expect(e.content.text).toBe('Edited text');
    expect(e.content.message).toMatchObject({ vendorMessageId: '1111111:1365', edited: true });
    expect(e.occurredAt).toBe(new Date(1441646600 * 1000).toISOString());
    expect(e.id).not.toBe(event('text').id);
    const again = fixture('edited') as { edited_message: { edit_date: number } };
    again.edited_message.edit_date += 60;
    const m = updateToEvent(
      again,
      account,
      { contentType: 'application/json', body: '{}' },
      { defaultCountry: 'RU' },
    );
    expect(m.outcome === 'published' && m.event.id).not.toBe(e.id);
  });

  it('a reply names the message it answers', () => {
    expect(event('reply').content.message?.replyToVendorMessageId).toBe('1111112:1334');
  });

  it('a forwarded message is the forwarder’s message (the original author is not the client)', () => {
    const e = event('forwarded');
    expect(e.sender.identities).toEqual([{ kind: 'telegram', value: '1111111', valid: true }]);
  });

  it('photo: only the largest size, with its caption as the text', () => {
    const e = event('photo');
    expect(e.content.text).toBe('Broken part, see photo');
    expect(e.content.message?.attachments).toEqual([
      { kind: 'image', fileId: 'AgACAgIAAxkBAAIBPhotoLarge', size: 74811, caption: 'Broken part, see photo' },
    ]);
  });

  it.each([
    [
      'document',
      {
        kind: 'document',
        fileId: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX',
        name: 'Testfile.pdf',
        mimeType: 'application/pdf',
        size: 536392,
      },
    ],
    [
      'voice',
      { kind: 'voice', fileId: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX', mimeType: 'audio/ogg', size: 23000 },
    ],
    [
      'audio',
      {
        kind: 'audio',
        fileId: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX',
        mimeType: 'audio/mpeg',
        size: 3897500,
        name: 'Test music file',
      },
    ],
    [
      'video',
      {
        kind: 'video',
        fileId: 'BAACAgIAAxkBAAIBVideo',
        name: 'unboxing.mp4',
        mimeType: 'video/mp4',
        size: 4718592,
      },
    ],
    [
      'sticker',
      { kind: 'sticker', fileId: 'CAACAgIAAxkBAAIBSticker', mimeType: 'image/webp', size: 25602, name: '👍' },
    ],
  ])('%s: one attachment as metadata (file_id, name, type, size), no text', (name, attachment) => {
    const e = event(name);
    expect(e.content.text).toBeUndefined();
    expect(e.content.message?.attachments).toEqual([attachment]);
  });

  it('location', () => {
    expect(event('location').content.message?.location).toEqual({
      latitude: 55.751244,
      longitude: 37.618423,
    });
  });

  it('the sender’s own contact (user_id = from.id) adds their phone identity', () => {
    const e = event('contact-own');
    expect(e.content.message?.sharedContact).toEqual({
      phone: '79161234567',
      name: 'Test Firstname Test Lastname',
      ownPhone: true,
    });
    expect(e.sender.identities).toEqual([
      { kind: 'phone', value: '+79161234567', valid: true },
      { kind: 'telegram', value: '1111111', valid: true },
    ]);
  });

  it('someone else’s contact card is recorded but never becomes the sender’s phone', () => {
    const e = event('contact-other');
    expect(e.content.message?.sharedContact).toEqual({
      phone: '+74957654321',
      name: 'Anna',
      ownPhone: false,
    });
    expect(e.sender.identities).toEqual([{ kind: 'telegram', value: '1111111', valid: true }]);
  });

  it('a contact card without user_id is not the sender’s', () => {
    const u = fixture('contact-own') as { message: { contact: { user_id?: number } } };
    delete u.message.contact.user_id;
    const m = updateToEvent(
      u,
      account,
      { contentType: 'application/json', body: '{}' },
      { defaultCountry: 'RU' },
    );
    expect(m.outcome === 'published' && m.event.sender.identities.map((i) => i.kind)).toEqual(['telegram']);
  });

  it('/start <payload> deep link: the payload becomes the UTM tags', () => {
    const e = event('start-deep-link');
    expect(e.utm).toEqual({ source: 'vk', campaign: 'spring' });
    expect(e.meta?.startPayload).toBe('dXRtX3NvdXJjZT12ayZ1dG1fY2FtcGFpZ249c3ByaW5n');
    expect(e.content.text).toBe('/start dXRtX3NvdXJjZT12ayZ1dG1fY2FtcGFpZ249c3ByaW5n');
  });

  it('deep-link payloads: plain words are utm.source, bare /start has none, other text is not a payload', () => {
    expect(startPayload('/start vk_spring')).toBe('vk_spring');
    expect(startPayload('/start@shop_bot vk_spring')).toBe('vk_spring');
    expect(startPayload('/start')).toBeUndefined();
    expect(startPayload('/start two words')).toBeUndefined();
    expect(startPayload('please /start vk')).toBeUndefined();
    expect(payloadUtm('vk_spring')).toEqual({ source: 'vk_spring' });
    expect(payloadUtm('vkads')).toEqual({ source: 'vkads' });
    expect(event('text').utm).toEqual({});
  });

  it('messages from bots are ignored', () => {
    expect(map('from-bot')).toMatchObject({ kind: 'message', outcome: 'ignored' });
  });

  it.each([
    ['channel-post', 'channel_post'],
    ['inline-query', 'inline_query'],
    ['callback-query', 'callback_query'],
    ['new-member', 'message'],
  ])('%s is unhandled, not an error', (name, kind) => {
    expect(map(name)).toMatchObject({ kind, outcome: 'unhandled' });
  });

  it('a body that is not an Update is a VALIDATION error naming the field', () => {
    const bad = (input: unknown) => () =>
      updateToEvent(input, account, { contentType: 'application/json', body: '' }, { defaultCountry: 'RU' });
    expect(bad({ message: {} })).toThrowError(AppError);
    try {
      bad({ update_id: 'x', message: { message_id: 1, date: 1, chat: {} } })();
    } catch (e) {
      expect((e as AppError).code).toBe('VALIDATION');
      expect((e as AppError).fields).toEqual(expect.arrayContaining(['update_id', 'message.chat.id']));
    }
    expect.assertions(3);
  });
});
