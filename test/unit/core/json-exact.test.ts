import { describe, expect, it } from 'vitest';
import { AppError } from '../../../lib/errors.js';
import { parseJsonExact } from '../../../lib/json.js';

describe('parseJsonExact', () => {
  it('keeps integers beyond 2^53 as their exact digits and everything else as JSON.parse does', () => {
    const text =
      '{"token":4912661846655238145,"safe":9007199254740991,"neg":-3,"f":50.76891,"s":"x","a":[1,{"b":null}]}';
    expect(parseJsonExact(text)).toEqual({
      token: '4912661846655238145',
      safe: 9007199254740991,
      neg: -3,
      f: 50.76891,
      s: 'x',
      a: [1, { b: null }],
    });
    expect(JSON.parse(text).token).toBe(4912661846655238000);
  });

  it('fractions with more digits than a double holds are numbers, not strings, on both paths', () => {
    expect(parseJsonExact('{"lat":55.796127000000000001,"t":4912661846655238145}')).toEqual({
      lat: 55.796127,
      t: '4912661846655238145',
    });
    const short = '{"lat":55.79612700000001,"id":612444319}';
    expect(parseJsonExact(short)).toEqual(JSON.parse(short));
  });

  it('a body that is not JSON is a validation error naming the field', () => {
    const e = (() => {
      try {
        parseJsonExact('{"event":', 'body');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'VALIDATION', fields: ['body'] });
  });
});
