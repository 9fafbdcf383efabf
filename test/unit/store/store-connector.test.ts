import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_DENIED } from '../../../connectors/store/index.js';
import { wcSignature } from '../../../connectors/store/woocommerce.js';
import { AppError } from '../../../lib/errors.js';
import { buildStoreApp, STORE_SECRET, store } from '../../support/store-app.js';

/** The order of WooCommerce's REST API documentation ("Create an order", JSON response example): the body of an
 * order.created / order.updated webhook. */
const WC_ORDER = readFileSync(new URL('./woocommerce-order.json', import.meta.url), 'utf8');

const generic = {
  number: 'A-1001',
  status: 'new',
  modifiedAt: '2026-12-07T10:00:00Z',
  buyer: { name: 'Olga Petrova', phone: '8 (916) 123-45-67', email: 'Olga@Example.com' },
  items: [{ sku: 'TEA-1', name: 'Green tea', qty: 2, price: 350 }],
  total: '700.00',
  currency: 'rub',
  deliveryAddress: 'Moscow, Tverskaya 1',
};

describe('store connector', () => {
  let s: Awaited<ReturnType<typeof buildStoreApp>>;
  beforeAll(async () => {
    s = await buildStoreApp([
      store(),
      store({ key: 'own', platform: 'generic' }),
      store({ key: 'off', active: false }),
    ]);
  });
  afterAll(async () => s.app.close());

  const post = (url: string, payload: string, headers: Record<string, string>) =>
    s.app.inject({ method: 'POST', url, payload, headers });
  const wc = (body: string, headers: Record<string, string> = {}, key = 'shop') =>
    post(`/v1/orders/${key}`, body, {
      'content-type': 'application/json',
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-signature': wcSignature(STORE_SECRET, body),
      ...headers,
    });
  const own = (body: object | string, headers: Record<string, string> = {}, key = 'own') =>
    post(`/v1/orders/${key}`, typeof body === 'string' ? body : JSON.stringify(body), {
      'content-type': 'application/json',
      authorization: `Bearer ${STORE_SECRET}`,
      ...headers,
    });

  it('computes the signature as WooCommerce does: base64 HMAC-SHA256 of the raw body with the secret', () => {
    // Vectors computed independently of the connector's helper (node:crypto, and openssl dgst -sha256 -hmac whsec -binary | base64).
    const expected = createHmac('sha256', 'whsec').update('{"id":1}').digest('base64');
    expect(wcSignature('whsec', '{"id":1}')).toBe(expected);
    expect(wcSignature('whsec', '{"id":1}')).toBe('zC8fc2J1qFdixyP4o8Kfvsu3wUJ60d2+FFia1JA2pik=');
  });

  it('accepts the documented WooCommerce order with a valid signature and publishes one order event', async () => {
    const before = s.bus.events.length;
    const r = await wc(WC_ORDER);
    expect(r.statusCode).toBe(202);
    const e = s.bus.events[before]!;
    expect(r.json()).toEqual({ accepted: true, eventId: e.id });
    expect(e).toMatchObject({
      channel: 'store',
      kind: 'form',
      source: { type: 'store', key: 'shop' },
      occurredAt: '2017-03-22T19:28:08.000Z',
      sender: {
        name: 'John Doe',
        identities: [
          // The documentation's number is fictional (555): kept as written, marked invalid, never matched on.
          { kind: 'phone', value: '(555) 555-5555', valid: false },
          { kind: 'email', value: 'john.doe@example.com', valid: true },
        ],
      },
      content: {
        order: {
          number: '727',
          status: 'processing',
          total: '29.35',
          currency: 'USD',
          modifiedAt: '2017-03-22T19:28:08.000Z',
          platform: 'woocommerce',
          deliveryAddress: '969 Market, San Francisco, CA, 94103, US',
          items: [
            { name: 'Woo Single #1', qty: 2, price: '3.00' },
            {
              sku: 'Bar3',
              name: 'Ship Your Idea &ndash; Color: Black, Size: M Test',
              qty: 1,
              price: '12.00',
            },
          ],
        },
      },
      regionHints: { country: 'US' },
      raw: { contentType: 'application/json', body: WC_ORDER },
    });
    expect(e.externalId).toMatch(/^order:727:2017-03-22T19:28:08.000Z:/);
  });

  it('gives a redelivered identical order the same event id and an updated one a new id', async () => {
    const before = s.bus.events.length;
    await wc(WC_ORDER);
    await wc(WC_ORDER, { 'x-wc-webhook-topic': 'order.updated' });
    const changed = JSON.stringify({ ...JSON.parse(WC_ORDER), status: 'completed' });
    await wc(changed, { 'x-wc-webhook-topic': 'order.updated' });
    const [a, b, c] = s.bus.events.slice(before);
    expect(a!.id).toBe(b!.id);
    expect(c!.id).not.toBe(a!.id);
    expect(c!.content.order?.status).toBe('completed');
  });

  it('refuses a tampered body, a wrong secret, an unknown or inactive store and a generic store alike (401)', async () => {
    const before = s.bus.events.length;
    const signed = wcSignature(STORE_SECRET, WC_ORDER);
    const tampered = WC_ORDER.replace('"29.35"', '"0.01"');
    const answers = [
      await wc(tampered, { 'x-wc-webhook-signature': signed }),
      await wc(WC_ORDER, { 'x-wc-webhook-signature': wcSignature('another-secret-123456', WC_ORDER) }),
      await wc(WC_ORDER, {}, 'nope'),
      await wc(WC_ORDER, {}, 'off'),
      await wc(WC_ORDER, {}, 'own'),
      await own(generic, { authorization: 'Bearer wrong-secret-0123456789' }),
      await own(generic, { authorization: '' }),
      await own(generic, {}, 'nope'),
    ];
    for (const r of answers) {
      expect(r.statusCode).toBe(401);
      expect(r.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: STORE_DENIED } });
    }
    expect(s.bus.events.length).toBe(before);
  });

  it('answers the ping WooCommerce sends when a webhook is saved (200, nothing published)', async () => {
    const before = s.bus.events.length;
    for (const key of ['shop', 'nope']) {
      const r = await post(`/v1/orders/${key}`, 'webhook_id=15', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(r.statusCode).toBe(200);
    }
    expect(s.bus.events.length).toBe(before);
    expect(s.counted).toContainEqual(['store', 'ping', 'acknowledged']);
  });

  it('acknowledges signed topics other than order.created / order.updated without publishing', async () => {
    const before = s.bus.events.length;
    const r = await wc('{"id":727}', { 'x-wc-webhook-topic': 'order.deleted' });
    expect(r.statusCode).toBe(200);
    expect(s.bus.events.length).toBe(before);
  });

  it('accepts our own shape with Bearer or X-Store-Secret, normalising the buyer', async () => {
    const before = s.bus.events.length;
    expect((await own(generic)).statusCode).toBe(202);
    const r = await own(generic, { authorization: '', 'x-store-secret': STORE_SECRET });
    expect(r.statusCode).toBe(202);
    const [a, b] = s.bus.events.slice(before);
    expect(a!.id).toBe(b!.id);
    expect(a).toMatchObject({
      channel: 'store',
      source: { type: 'store', key: 'own' },
      sender: {
        name: 'Olga Petrova',
        identities: [
          { kind: 'phone', value: '+79161234567' },
          { kind: 'email', value: 'olga@example.com' },
        ],
      },
      content: {
        subject: 'Order #A-1001 (new): 700.00 RUB',
        order: {
          number: 'A-1001',
          currency: 'RUB',
          total: '700.00',
          items: [{ sku: 'TEA-1', name: 'Green tea', qty: 2, price: '350' }],
          platform: 'generic',
        },
      },
    });
  });

  it.each([
    [{ ...generic, number: '' }, 'number'],
    [{ ...generic, items: [{ name: 'Tea', qty: 0, price: 1 }] }, 'items.0.qty'],
    [{ ...generic, total: 'lots' }, 'total'],
    [{ ...generic, currency: 'rubles' }, 'currency'],
    [{ ...generic, buyer: { name: 'Nobody' } }, 'buyer.phone'],
    [{ ...generic, colour: 'red' }, 'body'],
    ['{"number":', 'body'],
  ])('answers 400 naming the field (%#)', async (body, field) => {
    const before = s.bus.events.length;
    const r = await own(body as object);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'VALIDATION' });
    expect(r.json().error.fields).toContain(field);
    expect(s.bus.events.length).toBe(before);
  });

  it('answers 400 naming the field of a signed WooCommerce order it cannot use', async () => {
    const bad = JSON.stringify({ ...JSON.parse(WC_ORDER), currency: 'dollars' });
    const r = await wc(bad);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.fields).toEqual(['currency']);
  });

  it('answers 503 with Retry-After when the bus cannot take the order', async () => {
    s.bus.failWith = new AppError('BUS_UNAVAILABLE', 'down');
    try {
      const r = await own(generic);
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
    } finally {
      s.bus.failWith = undefined;
    }
  });
});
