import { describe, expect, it } from 'vitest';
import { chatIdentity, withSharedPhone } from '../../../router/contact-share.js';
import { messageEvent } from '../../support/messages.js';

describe('a contact shared in a chat', () => {
  it("adds the sender's own phone, normalised, after the chat's identity (the Kafka key stays the chat's)", () => {
    const e = messageEvent({
      chat: '42',
      id: '1',
      sharedContact: { phone: '8 (495) 123-45-67', ownPhone: true },
    });
    expect(withSharedPhone(e, 'RU').sender.identities).toEqual([
      { kind: 'telegram', value: '42', valid: true },
      { kind: 'phone', value: '+74951234567', valid: true },
    ]);
  });
  it("ignores someone else's card, an unparseable number and a phone already there", () => {
    const other = messageEvent({
      chat: '42',
      id: '1',
      sharedContact: { phone: '+74951234567', ownPhone: false },
    });
    expect(withSharedPhone(other, 'RU')).toBe(other);
    const bad = messageEvent({ chat: '42', id: '1', sharedContact: { phone: 'call me', ownPhone: true } });
    expect(withSharedPhone(bad, 'RU')).toBe(bad);
    const once = withSharedPhone(
      messageEvent({ chat: '42', id: '1', sharedContact: { phone: '+74951234567', ownPhone: true } }),
      'RU',
    );
    expect(withSharedPhone(once, 'RU')).toBe(once);
  });
  it("finds the chat's own identity: the messenger id, or for WhatsApp the phone", () => {
    expect(chatIdentity(messageEvent({ chat: '42', id: '1' }))).toEqual({
      kind: 'telegram',
      value: '42',
      valid: true,
    });
    expect(chatIdentity(messageEvent({ channel: 'whatsapp', chat: '79161234567', id: '1' }))).toEqual({
      kind: 'phone',
      value: '+79161234567',
      valid: true,
    });
  });
});
