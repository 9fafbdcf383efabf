import { describe, expect, it } from 'vitest';
import {
  normaliseEmail,
  normaliseMessengerId,
  normalisePhone,
  normaliseSender,
} from '../../../event/identity.js';

describe('phone normalisation (default country RU)', () => {
  it.each(['+7 (495) 123-45-67', '8 495 123 45 67', '84951234567', '74951234567', '+7 495 1234567'])(
    '%s → +74951234567',
    (raw) => {
      expect(normalisePhone(raw, 'RU')).toEqual({ kind: 'phone', value: '+74951234567', valid: true });
    },
  );
  it('uses the configured default country', () => {
    expect(normalisePhone('(202) 555-0143', 'US').value).toBe('+12025550143');
    expect(normalisePhone('030 123456', 'DE').value).toBe('+4930123456');
  });
  it('keeps an unparseable phone as given, flagged, never dropped', () => {
    expect(normalisePhone(' call me maybe ', 'RU')).toEqual({
      kind: 'phone',
      value: 'call me maybe',
      valid: false,
    });
    expect(normalisePhone('12', 'RU')).toMatchObject({ value: '12', valid: false });
  });
});

describe('email normalisation', () => {
  it('lowercases and trims', () => {
    expect(normaliseEmail('  Ivan.Petrov@Example.COM ')).toEqual({
      kind: 'email',
      value: 'ivan.petrov@example.com',
      valid: true,
    });
  });
  it('turns IDN domains into punycode', () => {
    expect(normaliseEmail('Info@Пример.РФ').value).toBe('info@xn--e1afmkfd.xn--p1ai');
  });
  it('flags what is not an address', () => {
    expect(normaliseEmail('not-an-email')).toMatchObject({ valid: false, value: 'not-an-email' });
  });
});

describe('messenger ids and senders', () => {
  it('strips an existing namespace and keeps the bare id', () => {
    expect(normaliseMessengerId('telegram', 'telegram:12345').value).toBe('12345');
    expect(normaliseMessengerId('whatsapp', '+7 (916) 000-00-00').value).toBe('79160000000');
  });
  it('deduplicates identities written in different formats, phones first', () => {
    const ids = normaliseSender(
      {
        emails: ['A@b.io'],
        phones: ['8 495 123 45 67', '+74951234567'],
        messengerIds: [{ kind: 'telegram', id: '42' }],
      },
      'RU',
    );
    expect(ids.map((i) => `${i.kind}:${i.value}`)).toEqual([
      'phone:+74951234567',
      'email:a@b.io',
      'telegram:42',
    ]);
  });
});
