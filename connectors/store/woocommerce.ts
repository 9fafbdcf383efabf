import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { safeEqual } from '../../lib/credentials.js';
import { invalid } from '../webhook-http.js';
import { amount, type OrderDraft } from './order.js';

/**
 * WooCommerce order webhooks (Settings → Advanced → Webhooks, topics order.created / order.updated). Each
 * delivery carries X-WC-Webhook-Topic, X-WC-Webhook-Resource and X-WC-Webhook-Signature: the base64 HMAC-SHA256
 * of the raw body keyed with the webhook's Secret. The body is the order as the REST API returns it.
 */
export const WC = {
  signature: 'x-wc-webhook-signature',
  topic: 'x-wc-webhook-topic',
  resource: 'x-wc-webhook-resource',
} as const;

export const WC_ORDER_TOPICS = new Set(['order.created', 'order.updated']);

export const wcSignature = (secret: string, body: string) =>
  createHmac('sha256', secret).update(body).digest('base64');

export const validWcSignature = (secret: string, body: string, header: string) =>
  safeEqual(header.trim(), wcSignature(secret, body));

/**
 * When a webhook is created or re-activated WooCommerce checks the URL with a form-encoded `webhook_id=<id>`
 * body and keeps the webhook only if it is answered 2xx.
 */
export const isWcPing = (contentType: string, body: string) =>
  contentType !== 'application/json' && /^webhook_id=\d+$/.test(body.trim());

const str = z.string().max(1_000).nullish();
const address = z.looseObject({
  first_name: str,
  last_name: str,
  company: str,
  address_1: str,
  address_2: str,
  city: str,
  state: str,
  postcode: str,
  country: str,
  email: str,
  phone: str,
});

/** The fields we use of WooCommerce's order resource; everything else is kept only in raw. */
export const WcOrder = z.looseObject({
  id: z.number().int(),
  number: z.union([z.string().min(1).max(100), z.number().int()]).optional(),
  status: z.string().min(1).max(100),
  currency: z
    .string()
    .toUpperCase()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'),
  total: amount,
  date_created_gmt: z.string().nullish(),
  date_modified_gmt: z.string().nullish(),
  billing: address.optional(),
  shipping: address.optional(),
  line_items: z
    .array(
      z.looseObject({
        name: z.string().max(1_000),
        sku: str,
        quantity: z.number().positive(),
        price: z.union([z.number(), z.string()]).optional(),
        total: z.union([z.number(), z.string()]).optional(),
      }),
    )
    .max(500),
});

/** WooCommerce writes GMT times without an offset ("2017-03-22T19:28:08"). */
function gmt(v: string | null | undefined): string | undefined {
  if (!v) return undefined;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

const joined = (parts: (string | null | undefined)[], sep: string) =>
  parts
    .map((p) => p?.trim())
    .filter(Boolean)
    .join(sep) || undefined;

/** WooCommerce's `price` is a float (total / quantity, e.g. 3.3333333333): cents are enough for a deal. */
function unitPrice(i: z.infer<typeof WcOrder>['line_items'][number]): string {
  const price = Number(i.price !== undefined && i.price !== '' ? i.price : Number(i.total ?? 0) / i.quantity);
  return Number.isFinite(price) ? price.toFixed(2) : '0.00';
}

export function parseWcOrder(data: unknown): OrderDraft {
  const r = WcOrder.safeParse(data);
  if (!r.success) throw invalid(r.error);
  const o = r.data;
  const b = o.billing ?? {};
  const s = o.shipping ?? {};
  const deliveryAddress =
    joined([s.address_1, s.address_2, s.city, s.state, s.postcode, s.country], ', ') ??
    joined([b.address_1, b.address_2, b.city, b.state, b.postcode, b.country], ', ');
  const country = (s.country || b.country || '').toUpperCase();
  return {
    order: {
      number: String(o.number ?? o.id),
      modifiedAt: gmt(o.date_modified_gmt) ?? gmt(o.date_created_gmt),
      status: o.status,
      total: o.total,
      currency: o.currency,
      items: o.line_items.map((i) => ({
        ...(i.sku ? { sku: i.sku } : {}),
        name: i.name,
        qty: i.quantity,
        price: unitPrice(i),
      })),
      ...(deliveryAddress && { deliveryAddress }),
      platform: 'woocommerce',
    },
    buyer: {
      name: joined([b.first_name, b.last_name], ' '),
      phone: b.phone?.trim() || undefined,
      email: b.email?.trim() || undefined,
    },
    ...(/^[A-Z]{2}$/.test(country) && { country }),
  };
}
