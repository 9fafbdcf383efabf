import { afterEach, describe, expect, it } from 'vitest';
import { buildWebformApp, form, type WebformTestApp } from '../../support/webform-app.js';

let t: WebformTestApp;
afterEach(async () => {
  await t?.app.close();
});

const post = (origin?: string, payload: Record<string, string> = { phone: '+74951234567' }) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/forms/contact',
    headers: origin ? { origin } : {},
    payload,
  });

describe('webform CORS', () => {
  it('allowed origin gets Access-Control-Allow-Origin, also on an error answer', async () => {
    t = await buildWebformApp();
    const ok = await post('https://shop.example');
    expect(ok.statusCode).toBe(202);
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(ok.headers.vary).toContain('Origin');
    const bad = await post('https://shop.example', { name: 'no contact' });
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['access-control-allow-origin']).toBe('https://shop.example');
  });

  it('disallowed origin: 403, nothing published; no Origin: allowed', async () => {
    t = await buildWebformApp();
    const res = await post('https://evil.example');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(t.bus.events).toHaveLength(0);
    expect((await post()).statusCode).toBe(202);
    expect(t.bus.events).toHaveLength(1);
  });

  it('`*` allows any origin', async () => {
    t = await buildWebformApp({ forms: [form({ allowedOrigins: ['*'] })] });
    const res = await post('https://anywhere.example');
    expect(res.statusCode).toBe(202);
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('preflight is answered per form', async () => {
    t = await buildWebformApp({
      forms: [form(), form({ key: 'other', allowedOrigins: ['https://other.example'] })],
    });
    const preflight = (key: string, origin: string) =>
      t.app.inject({
        method: 'OPTIONS',
        url: `/v1/forms/${key}`,
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,idempotency-key',
        },
      });
    const ok = await preflight('contact', 'https://shop.example');
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(ok.headers['access-control-allow-methods']).toContain('POST');
    expect(String(ok.headers['access-control-allow-headers']).toLowerCase()).toContain('idempotency-key');
    // The same origin is not allowed on the other form.
    const denied = await preflight('other', 'https://shop.example');
    expect(denied.statusCode).toBe(403);
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight('missing', 'https://shop.example')).statusCode).toBe(404);
  });
});

describe('webform honeypot', () => {
  it('filled honeypot: the same answer as a real submission, nothing published', async () => {
    t = await buildWebformApp({
      forms: [form({ honeypotField: 'website', redirectUrl: 'https://shop.example/thanks' })],
    });
    const html = { 'content-type': 'application/x-www-form-urlencoded' };
    const bot = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      headers: html,
      payload: 'phone=%2B74951234567&website=http%3A%2F%2Fspam.example',
    });
    expect(bot.statusCode).toBe(303);
    expect(bot.headers.location).toBe('https://shop.example/thanks');
    const botApi = await post(undefined, { website: 'spam', name: 'no contact either' });
    expect(botApi.statusCode).toBe(202);
    expect(botApi.json()).toMatchObject({ status: 'accepted', id: expect.any(String) });
    expect(t.bus.events).toHaveLength(0);
    // An empty honeypot is a human.
    expect((await post(undefined, { website: '', phone: '+74951234567' })).statusCode).toBe(202);
    expect(t.bus.events).toHaveLength(1);
  });
});

describe('webform rate limit', () => {
  it('FORM_RATE_LIMIT=3: the 4th request from one IP is 429 with Retry-After; another IP is fine', async () => {
    t = await buildWebformApp({ env: { FORM_RATE_LIMIT: '3' } });
    const from = (ip: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/forms/contact',
        payload: { phone: '+74951234567' },
        remoteAddress: ip,
      });
    for (let i = 0; i < 3; i++) expect((await from('198.51.100.1')).statusCode).toBe(202);
    const limited = await from('198.51.100.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await from('198.51.100.2')).statusCode).toBe(202);
    expect(t.bus.events).toHaveLength(4);
  });

  it('behind a trusted proxy the client IP comes from X-Forwarded-For', async () => {
    t = await buildWebformApp({ env: { FORM_RATE_LIMIT: '1', TRUST_PROXY: 'true' } });
    const via = (client: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/forms/contact',
        headers: { 'x-forwarded-for': client },
        payload: { phone: '+74951234567' },
        remoteAddress: '10.0.0.1',
      });
    expect((await via('203.0.113.7')).statusCode).toBe(202);
    expect((await via('203.0.113.8')).statusCode).toBe(202);
    expect((await via('203.0.113.7')).statusCode).toBe(429);
    expect(t.bus.events.map((e) => e.regionHints.clientIp)).toEqual(['203.0.113.7', '203.0.113.8']);
  });

  it('only the form route is limited: preflights are not counted', async () => {
    t = await buildWebformApp({ env: { FORM_RATE_LIMIT: '1' } });
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url: '/v1/forms/contact',
        headers: { origin: 'https://shop.example' },
      });
      expect(res.statusCode).toBe(204);
    }
    expect((await post()).statusCode).toBe(202);
  });
});
