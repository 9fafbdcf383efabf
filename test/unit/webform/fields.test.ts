import { describe, expect, it } from 'vitest';
import { acceptQuality, wantsHtml } from '../../../connectors/webform/answer.js';
import { fromJson, fromUrlencoded } from '../../../connectors/webform/body.js';
import { originAllowed } from '../../../connectors/webform/cors.js';
import { extractSubmission, honeypotFilled } from '../../../connectors/webform/fields.js';
import { AppError } from '../../../lib/errors.js';
import { form } from '../../support/webform-app.js';

const values = (q: string) => fromUrlencoded(q).values;

describe('webform field extraction', () => {
  it('reads aliases case-insensitively and keeps several phones', () => {
    const sub = extractSubmission(
      values('FIO=Ivan&Phone_Number=111&tel=222&E-Mail=a%40b.c&Comment=hi&phone[]=333'),
      {},
      form(),
    );
    expect(sub).toMatchObject({
      name: 'Ivan',
      phones: ['333', '222', '111'],
      emails: ['a@b.c'],
      message: 'hi',
    });
  });

  it('takes UTM tags from the query string when the body has none', () => {
    const sub = extractSubmission(
      values('phone=1&utm_campaign=body'),
      { utm_campaign: 'q', utm_term: ['t1', 't2'] },
      form(),
    );
    expect(sub.utm).toEqual({ campaign: 'body', term: 't1' });
  });

  it('names the form field in a length error for a mapped field', () => {
    const f = form({ fieldMap: { message: 'question' } });
    const err = catchError(() => extractSubmission(values(`phone=1&question=${'x'.repeat(10_001)}`), {}, f));
    expect(err).toMatchObject({ code: 'VALIDATION', fields: ['message'] });
    expect(err.message).toContain('"question"');
  });

  it('rejects a flood of values for one field', () => {
    const q = Array.from({ length: 6 }, (_, i) => `email=${i}%40x.io`).join('&');
    expect(catchError(() => extractSubmission(values(q), {}, form()))).toMatchObject({ fields: ['email'] });
  });

  it('ignores prototype-ish names and nested JSON', () => {
    const body = fromJson(
      '{"__proto__":{"phone":"1"},"constructor":"x","phone":[" 123 ",{"a":1},null],"age":42}',
    );
    expect(body.values.get('constructor')).toEqual(['x']);
    expect(body.values.get('age')).toEqual(['42']);
    expect(extractSubmission(body.values, {}, form()).phones).toEqual(['123']);
  });

  it('honeypot only when configured and filled', () => {
    expect(honeypotFilled(values('website=x'), form())).toBe(false);
    expect(honeypotFilled(values('Website=x'), form({ honeypotField: 'website' }))).toBe(true);
    expect(honeypotFilled(values('website=+'), form({ honeypotField: 'website' }))).toBe(false);
  });
});

describe('webform answers and origins', () => {
  it('tells browser navigations from API calls', () => {
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    expect(wantsHtml(browser, 'application/json')).toBe(true);
    expect(wantsHtml(undefined, 'application/x-www-form-urlencoded')).toBe(true);
    expect(wantsHtml('*/*', 'multipart/form-data; boundary=x')).toBe(true);
    expect(wantsHtml('application/json', 'multipart/form-data; boundary=x')).toBe(false);
    expect(wantsHtml(undefined, 'application/json')).toBe(false);
    expect(acceptQuality('text/*;q=0.5, */*;q=0.1', 'text/html')).toBe(0.5);
  });

  it('matches origins exactly, `*`, and same-origin pages', () => {
    const f = form({ allowedOrigins: ['https://Shop.example/'] });
    expect(originAllowed('https://shop.example', f)).toBe(true);
    expect(originAllowed('https://shop.example.evil.io', f)).toBe(false);
    expect(originAllowed('http://shop.example', f)).toBe(false);
    expect(originAllowed('null', f)).toBe(false);
    expect(originAllowed('https://ingest.example:8443', f, 'ingest.example:8443')).toBe(true);
    expect(originAllowed('https://x.example', form({ allowedOrigins: ['*'] }))).toBe(true);
  });
});

function catchError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}
