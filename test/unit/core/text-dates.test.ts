import { describe, expect, it } from 'vitest';
import { plausibleIsoDateTime } from '../../../lib/dates.js';
import { cleanText, findUnsafeText } from '../../../lib/text.js';

describe('lib/text: what is refused (API) and removed (events)', () => {
  it('finds the first unsafe string or key by its path', () => {
    expect(findUnsafeText({ a: 'ok\t\n\r', b: [{ c: 'x\u0000' }] })).toMatchObject({ field: 'b.0.c' });
    expect(findUnsafeText({ opts: { 'k\u0001': 1 } })).toMatchObject({ field: 'opts.k' });
    expect(findUnsafeText({ s: 'a\ud800b' })?.reason).toMatch(/surrogate/);
    expect(findUnsafeText({ s: '😀 ok' })).toBeUndefined();
    expect(findUnsafeText('\u001f')).toMatchObject({ field: 'body' });
  });

  it('cleans strings and keys deeply, keeping pairs, tabs, line breaks and non-plain objects', () => {
    const when = new Date(0);
    expect(cleanText({ a: ['x\u0000y', '😀\ud800'], 'k\u0007': 'v', when })).toEqual({
      a: ['xy', '😀\ufffd'],
      k: 'v',
      when,
    });
    expect(cleanText('a\tb\r\n')).toBe('a\tb\r\n');
  });

  it('cleans lone surrogates and control characters wherever they are, and leaves clean text alone', () => {
    expect(cleanText('\udc00a\ud83d')).toBe('\ufffda\ufffd'); // low first, high last
    expect(cleanText('😀\u0001😀')).toBe('😀😀'); // only a control character: pairs kept
    expect(cleanText('\u0000\ud800')).toBe('\ufffd');
    expect(cleanText('Привет, 😀')).toBe('Привет, 😀');
  });
});

describe('lib/dates: instants the service takes', () => {
  it('takes real instants between 1900 and 9999 with offsets up to ±14:00', () => {
    for (const s of ['2026-11-23T10:00:00Z', '2026-11-23T10:00:00.123+03:00', '2026-02-28T00:00:00-14:00'])
      expect(plausibleIsoDateTime(s), s).toBe(true);
    for (const s of [
      '0000-01-01T00:00:00Z',
      '2026-01-01T00:00:00-23:59',
      '2026-02-31T00:00:00Z',
      '1899-12-31T23:59:59Z',
      '9999-12-31T23:59:59-01:00',
      '2026-01-01',
      'Infinity',
    ])
      expect(plausibleIsoDateTime(s), s).toBe(false);
  });
});
