import { afterEach, describe, expect, it } from 'vitest';
import {
  buildWebformApp,
  busDown,
  form,
  multipartBody,
  type WebformTestApp,
} from '../../support/webform-app.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };

let t: WebformTestApp;
afterEach(async () => {
  await t?.app.close();
});

describe('webform submissions', () => {
  it('urlencoded browser post: normalised identities, full event, 303 to the thank-you page', async () => {
    t = await buildWebformApp({
      forms: [form({ redirectUrl: 'https://shop.example/thanks', regionId: 77 })],
    });
    const body = new URLSearchParams({
      name: 'Ivan Petrov',
      phone: '8 (495) 123-45-67',
      email: 'Ivan@Example.COM',
      comment: 'Call me back',
      subject: 'Delivery',
      region: 'Moscow region',
      city: 'Moscow',
      utm_source: 'newsletter',
    }).toString();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact?utm_medium=email&utm_source=ignored',
      headers: { ...urlencoded, accept: BROWSER_ACCEPT, referer: 'https://shop.example/contacts' },
      payload: body,
      remoteAddress: '203.0.113.5',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('https://shop.example/thanks');
    expect(t.bus.events).toHaveLength(1);
    const e = t.bus.events[0]!;
    expect(e).toMatchObject({
      channel: 'webform',
      kind: 'form',
      direction: 'inbound',
      source: { type: 'form', key: 'contact', name: 'Contact us' },
      sender: {
        name: 'Ivan Petrov',
        identities: [
          { kind: 'phone', value: '+74951234567', valid: true },
          { kind: 'email', value: 'ivan@example.com', valid: true },
        ],
      },
      content: { subject: 'Delivery', text: 'Call me back' },
      regionHints: { formRegion: 'Moscow region', formCity: 'Moscow', clientIp: '203.0.113.5' },
      // Body fields win over the query string; missing ones come from the query string.
      utm: { source: 'newsletter', medium: 'email' },
      meta: { formRegionId: 77, pageUrl: 'https://shop.example/contacts' },
      raw: { contentType: 'application/x-www-form-urlencoded', body },
    });
  });

  it('JSON API call: 202 with the event id', async () => {
    t = await buildWebformApp({ forms: [form({ redirectUrl: 'https://shop.example/thanks' })] });
    const payload = { full_name: 'Anna', tel: '+7 916 000-00-01', telegram: 'anna_tg', text: 'Hi' };
    const res = await t.app.inject({ method: 'POST', url: '/v1/forms/contact', payload });
    expect(res.statusCode).toBe(202);
    const e = t.bus.events[0]!;
    expect(res.json()).toEqual({ id: e.id, status: 'accepted' });
    expect(e.sender).toEqual({
      name: 'Anna',
      identities: [
        { kind: 'phone', value: '+79160000001', valid: true },
        { kind: 'telegram', value: 'anna_tg', valid: true },
      ],
    });
    expect(e.content.text).toBe('Hi');
    expect(e.raw).toEqual({ contentType: 'application/json', body: JSON.stringify(payload) });
  });

  it('multipart: fields taken, files ignored; Accept: application/json gets 202', async () => {
    t = await buildWebformApp({ forms: [form({ redirectUrl: 'https://shop.example/thanks' })] });
    const mp = multipartBody({ fio: 'Oleg', 'e-mail': 'oleg@example.org', message: 'CV attached' }, [
      { field: 'cv', filename: 'cv.pdf', content: Buffer.alloc(50_000, 1) },
    ]);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      headers: { ...mp.headers, accept: 'application/json' },
      payload: mp.payload,
    });
    expect(res.statusCode).toBe(202);
    const e = t.bus.events[0]!;
    expect(e.sender).toEqual({
      name: 'Oleg',
      identities: [{ kind: 'email', value: 'oleg@example.org', valid: true }],
    });
    expect(e.content.text).toBe('CV attached');
    expect(e.raw.contentType).toMatch(/^multipart\/form-data/);
    expect(new URLSearchParams(e.raw.body).get('fio')).toBe('Oleg');
  });

  it('multipart without Accept and with a redirect is a browser post: 303', async () => {
    t = await buildWebformApp({ forms: [form({ redirectUrl: 'https://shop.example/thanks' })] });
    const mp = multipartBody({ phone: '+74951234567' });
    const res = await t.app.inject({ method: 'POST', url: '/v1/forms/contact', ...mp });
    expect(res.statusCode).toBe(303);
    expect(t.bus.events).toHaveLength(1);
  });

  it('applies the form field map', async () => {
    t = await buildWebformApp({
      forms: [form({ fieldMap: { name: 'your-name', phone: 'contact_phone', message: 'question' } })],
    });
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      payload: {
        'your-name': 'Maria',
        contact_phone: '8 495 123 45 67',
        phone: 'not mine',
        question: 'Price?',
      },
    });
    expect(res.statusCode).toBe(202);
    const e = t.bus.events[0]!;
    expect(e.sender.name).toBe('Maria');
    // A mapped field reads only its mapping: the form's own `phone` field is something else.
    expect(e.sender.identities).toEqual([{ kind: 'phone', value: '+74951234567', valid: true }]);
    expect(e.content.text).toBe('Price?');
  });

  it('keeps an email that does not parse, flagged invalid', async () => {
    t = await buildWebformApp();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      payload: { email: 'ivan at mail' },
    });
    expect(res.statusCode).toBe(202);
    expect(t.bus.events[0]!.sender.identities).toEqual([
      { kind: 'email', value: 'ivan at mail', valid: false },
    ]);
  });

  it('unknown or inactive form: 404 naming the key', async () => {
    t = await buildWebformApp({ forms: [form({ key: 'old', active: false })] });
    for (const key of ['nope', 'old']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/forms/${key}`,
        payload: { phone: '+74951234567' },
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
      expect(res.json().error.message).toContain(key);
    }
    expect(t.bus.events).toHaveLength(0);
  });

  it('no phone, email or telegram: 422 naming the fields', async () => {
    t = await buildWebformApp();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      payload: { name: 'Ivan', phone: '   ', message: 'hello' },
    });
    expect(res.statusCode).toBe(422);
    const { error } = res.json();
    expect(error.code).toBe('UNPROCESSABLE');
    for (const f of ['phone', 'email', 'telegram']) expect(error.message).toContain(f);
    expect(error.fields).toEqual(['phone', 'email', 'telegram']);
    expect(t.bus.events).toHaveLength(0);
  });

  it('too-long field: 400 naming it', async () => {
    t = await buildWebformApp();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      headers: urlencoded,
      payload: new URLSearchParams({ phone: '+74951234567', fio: 'x'.repeat(201) }).toString(),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION', fields: ['name'] });
    expect(res.json().error.message).toContain('name');
    expect(t.bus.events).toHaveLength(0);
  });

  it('bus down: 503 with Retry-After and BUS_UNAVAILABLE, nothing accepted', async () => {
    t = await buildWebformApp({ forms: [form({ redirectUrl: 'https://shop.example/thanks' })] });
    t.bus.failWith = busDown();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      headers: { ...urlencoded, accept: BROWSER_ACCEPT },
      payload: 'phone=%2B74951234567',
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json().error.code).toBe('BUS_UNAVAILABLE');
  });

  it('same Idempotency-Key twice: same event id', async () => {
    t = await buildWebformApp();
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/forms/contact',
        headers: { 'idempotency-key': 'client-retry-42' },
        payload: { phone: '+74951234567' },
      });
    const [a, b] = [await send(), await send()];
    expect(a.json().id).toBe(b.json().id);
    expect(t.bus.events.map((e) => e.id)).toEqual([a.json().id, a.json().id]);
    expect(t.bus.events[0]!.externalId).toBe('client-retry-42');
    // Without the header every submission is its own event.
    const c = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      payload: { phone: '+74951234567' },
    });
    expect(c.json().id).not.toBe(a.json().id);
  });
});
