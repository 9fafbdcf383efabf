import { describe, expect, it } from 'vitest';
import {
  normaliseEmail,
  normaliseMessengerId,
  normalisePhone,
  normaliseSender,
  PHONE_CACHE_SIZE,
  parsePhone,
  phoneCacheSize,
} from '../../../event/identity.js';
import { Lru } from '../../../lib/lru.js';

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

describe('phone cache', () => {
  const samples = [
    ['+7 (495) 123-45-67', 'RU'],
    ['8 495 123 45 67', 'RU'],
    ['(202) 555-0143', 'US'],
    ['(202) 555-0143', 'RU'], // same text, other country: another answer, never the cached one
    ['030 123456', 'DE'],
    ['79161234567', 'DE'],
    [' call me maybe ', 'RU'],
    ['12', 'RU'],
    [`+7 495 ${'1'.repeat(80)}`, 'RU'], // too long to be kept
  ] as const;

  it('answers exactly what the uncached parser answers, first time and from the cache', () => {
    for (const [raw, country] of samples) {
      const expected = parsePhone(raw.trim(), country);
      expect(normalisePhone(raw, country)).toEqual(expected);
      expect(normalisePhone(raw, country)).toEqual(expected);
    }
    expect(normalisePhone('(202) 555-0143', 'RU')).not.toEqual(normalisePhone('(202) 555-0143', 'US'));
  });

  it('hands out copies: changing an answer does not change the next one', () => {
    const first = normalisePhone('+7 (495) 765-43-21', 'RU');
    first.value = 'changed';
    first.valid = false;
    expect(normalisePhone('+7 (495) 765-43-21', 'RU')).toEqual({
      kind: 'phone',
      value: '+74957654321',
      valid: true,
    });
  });

  it('stays bounded however many distinct numbers arrive', () => {
    for (let i = 0; i < PHONE_CACHE_SIZE + 500; i++)
      normalisePhone(`+1 202 555 ${String(i).padStart(4, '0')}`, 'US');
    expect(phoneCacheSize()).toBeLessThanOrEqual(PHONE_CACHE_SIZE);
    expect(phoneCacheSize()).toBeGreaterThanOrEqual(PHONE_CACHE_SIZE / 2);
    // Evicted or not, the answer is the same.
    expect(normalisePhone('+1 202 555 0000', 'US')).toEqual(parsePhone('+1 202 555 0000', 'US'));
  });
});

describe('Lru (two generations)', () => {
  it('keeps at most max entries, and what was used within the last max/2 insertions', () => {
    const c = new Lru<number, number>(4);
    for (let i = 0; i < 100; i++) {
      c.set(i, i * 10);
      expect(c.size).toBeLessThanOrEqual(4);
      c.get(0); // used all the time: never dropped
      expect(c.get(0)).toBe(0);
      expect(c.get(i)).toBe(i * 10); // the latest is always there
    }
    expect(c.has(50)).toBe(false); // long unused: gone
    c.set(0, 1); // overwrite does not grow it
    expect(c.get(0)).toBe(1);
    expect(c.size).toBeLessThanOrEqual(4);
    expect(() => new Lru(1)).toThrow(RangeError);
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
