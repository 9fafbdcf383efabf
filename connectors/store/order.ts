import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { StoreSettings } from '../../channels/settings.js';
import { buildInboundContact } from '../../event/build.js';
import type { InboundContact, OrderInfo } from '../../event/inbound-contact.js';
import { fieldError, invalid } from '../webhook-http.js';

/** What both wire shapes (ours, WooCommerce's) become before the event is built. */
export interface OrderDraft {
  order: Omit<OrderInfo, 'modifiedAt'> & { modifiedAt?: string };
  buyer: { name?: string; phone?: string; email?: string };
  /** ISO 3166 alpha-2 of the buyer's address, when the store gave one. */
  country?: string;
}

const text = (max: number) => z.string().trim().min(1).max(max);
/** Amounts arrive as JSON numbers or strings; the bus carries them as decimal strings. */
export const amount = z
  .union([z.number().finite(), z.string().trim()])
  .transform((v) => String(v))
  .pipe(z.string().regex(/^-?\d{1,12}(\.\d{1,4})?$/, 'must be a decimal amount like 1499.90'));

/**
 * Our own documented order shape (README "Online-store orders"). Strict: an unknown or mistyped field is a 400
 * naming it rather than a silently lost value.
 */
export const GenericOrder = z.strictObject({
  number: z.union([text(100), z.number().int().nonnegative()]).transform(String),
  status: text(100).default('new'),
  /** When the store last changed the order; without it, revisions are ordered by arrival. */
  modifiedAt: z.iso.datetime({ offset: true }).optional(),
  buyer: z.strictObject({
    name: text(300).optional(),
    phone: text(50).optional(),
    email: text(320).optional(),
  }),
  items: z
    .array(
      z.strictObject({
        sku: text(200).optional(),
        name: text(1_000),
        qty: z.number().positive().max(1_000_000),
        price: amount,
      }),
    )
    .min(1)
    .max(500),
  total: amount,
  currency: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD'),
  deliveryAddress: text(2_000).optional(),
  country: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code')
    .optional(),
});

export function parseGenericOrder(data: unknown): OrderDraft {
  const r = GenericOrder.safeParse(data);
  if (!r.success) throw invalid(r.error);
  const o = r.data;
  if (!o.buyer.phone && !o.buyer.email) {
    throw fieldError('buyer.phone', 'a phone or an email is required');
  }
  const { buyer, country, ...order } = o;
  return { order: { ...order, platform: 'generic' }, buyer, country };
}

/**
 * The event of one revision of an order. Its externalId is order number + revision: the store's modified time
 * plus a hash of what the order says, so a redelivered identical order is the same event (the router drops it)
 * and any change is a new one, even within the same second.
 */
export function orderEvent(
  store: StoreSettings,
  draft: OrderDraft,
  raw: { contentType: string; body: string },
  opts: { defaultCountry: string; now?: Date },
): InboundContact {
  const now = opts.now ?? new Date();
  const order: OrderInfo = { ...draft.order, modifiedAt: draft.order.modifiedAt ?? now.toISOString() };
  const digest = createHash('sha256')
    .update(JSON.stringify([draft.order, draft.buyer]))
    .digest('base64url')
    .slice(0, 16);
  const revision = `${draft.order.modifiedAt ?? 'unstamped'}:${digest}`;
  return buildInboundContact(
    {
      channel: 'store',
      kind: 'form',
      source: { type: 'store', key: store.key, name: store.source ?? store.name },
      externalId: `order:${order.number}:${revision}`,
      occurredAt: order.modifiedAt,
      sender: {
        name: draft.buyer.name,
        phones: draft.buyer.phone ? [draft.buyer.phone] : [],
        emails: draft.buyer.email ? [draft.buyer.email] : [],
      },
      content: {
        subject: `Order #${order.number} (${order.status}): ${order.total} ${order.currency}`,
        text: order.items
          .map((i) => `${i.qty} × ${i.name}${i.sku ? ` [${i.sku}]` : ''} at ${i.price}`)
          .join('\n'),
        order,
      },
      regionHints: draft.country ? { country: draft.country } : {},
      raw,
      meta: {
        platform: order.platform,
        ...(store.regionId !== undefined && { storeRegionId: store.regionId }),
      },
    },
    // A national number in the buyer's address is of that country ("(555) 555-5555" in a US order).
    { ...opts, defaultCountry: draft.country ?? opts.defaultCountry },
  );
}
