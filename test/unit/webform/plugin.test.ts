import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../lib/errors.js';
import { buildWebformApp, form, multipartBody, type WebformTestApp } from '../../support/webform-app.js';

let t: WebformTestApp;
afterEach(async () => {
  await t?.app.close();
});

describe('webform plugin boundaries', () => {
  it('its parsers, CORS headers and rate limit do not leak to sibling routes', async () => {
    t = await buildWebformApp({
      env: { FORM_RATE_LIMIT: '1' },
      siblings: (app) => app.post('/other', async (request) => ({ got: request.body })),
    });
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/other',
        headers: { origin: 'https://evil.example' },
        payload: { a: 1 },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ got: { a: 1 } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('malformed JSON is 400, an unsupported type 415, a huge body 413, all in the one format', async () => {
    t = await buildWebformApp();
    const send = (contentType: string, payload: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/forms/contact',
        headers: { 'content-type': contentType },
        payload,
      });
    for (const [ct, body, status, code, field] of [
      ['application/json', '{"phone":', 400, 'VALIDATION', 'body'],
      ['application/json', '["+74951234567"]', 400, 'VALIDATION', 'body'],
      ['text/plain', 'phone=1', 415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type'],
      ['multipart/form-data; boundary=x', 'phone=1', 400, 'VALIDATION', 'body'],
      ['multipart/form-data', '{"phone":"1"}', 400, 'VALIDATION', 'body'],
    ] as const) {
      const res = await send(ct, body);
      expect(res.statusCode, `${ct} ${body}`).toBe(status);
      expect(res.json().error, `${ct} ${body}`).toMatchObject({ code, fields: [field] });
    }
    const huge = await send('application/json', JSON.stringify({ phone: '1', message: 'x'.repeat(300_000) }));
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', fields: ['body'] });
    expect(t.bus.events).toHaveLength(0);
  });

  it('multipart: a large file is dropped without harm, an oversized field is 400 naming it', async () => {
    t = await buildWebformApp();
    const withFile = multipartBody({ phone: '+74951234567' }, [
      { field: 'doc', filename: 'big.bin', content: Buffer.alloc(3 * 1024 * 1024, 7) },
    ]);
    const ok = await t.app.inject({ method: 'POST', url: '/v1/forms/contact', ...withFile });
    expect(ok.statusCode).toBe(202);
    expect(t.bus.events[0]!.raw.body).toBe('phone=%2B74951234567');

    const long = multipartBody({ phone: '+74951234567', message: 'y'.repeat(70_000) });
    const res = await t.app.inject({ method: 'POST', url: '/v1/forms/contact', ...long });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toEqual(['message']);
  });

  it('a bus error without a hint still answers 503 with Retry-After; other failures are never 2xx', async () => {
    t = await buildWebformApp({ forms: [form()] });
    t.bus.failWith = new AppError('BUS_UNAVAILABLE', 'no ack');
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      payload: { phone: '+74951234567' },
    });
    expect(res.statusCode).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    t.bus.failWith = new Error('boom');
    const boom = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      payload: { phone: '+74951234567' },
    });
    expect(boom.statusCode).toBe(500);
  });
});
