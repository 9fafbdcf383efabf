import type { Queryable } from '../crm-core/db/database.js';
import * as orderDeals from '../crm-core/repositories/order-deal.repository.js';
import type { OwnerRef } from './owner-resolution.js';
import type { Decision } from './plan.js';

/**
 * Online-store orders (events with content.order): after the buyer was deduplicated and assigned like any other
 * contact, each order's one deal is created on the buyer's entity, with the entity's operator (so the store's
 * region rules apply to a new buyer), or updated by a newer revision. Revisions are compared by the store's
 * modified time, so a late, older delivery never overwrites a newer one; a redelivered identical revision never
 * reaches this step (same event id, claimed once). Runs last in the batch: one statement per order, in event
 * order, so several revisions of one order in one batch end with the newest.
 */
export async function writeOrderDeals(
  tx: Queryable,
  decisions: Decision[],
  resolve: (t: Decision['target']) => OwnerRef | null,
  activityOf: (d: Decision) => number | null,
): Promise<void> {
  for (const d of decisions) {
    const order = d.event.content.order;
    if (!order) continue;
    const owner = resolve(d.target);
    const deal = await orderDeals.upsertOrderDeal(tx, {
      storeKey: d.event.source.key,
      orderNumber: order.number,
      title: `Order #${order.number} — ${d.event.source.name ?? d.event.source.key}`,
      owner,
      amount: order.total,
      currency: order.currency,
      items: order.items,
      deliveryAddress: order.deliveryAddress ?? null,
      status: order.status,
      modifiedAt: order.modifiedAt,
      eventId: d.event.id,
    });
    const activityId = activityOf(d);
    if (activityId != null) await orderDeals.linkOrderActivity(tx, activityId, deal);
  }
}
