import type { Queryable } from '../db/database.js';

/* Deals made from online-store orders: one row per store + order number (migration 014). */

export interface OrderDealWrite {
  storeKey: string;
  orderNumber: string;
  title: string;
  /** The buyer's entity; null when the order named nobody we can recognise (it waits unowned). */
  owner: { type: 'lead' | 'contact' | 'company'; id: number } | null;
  amount: string;
  currency: string;
  items: unknown[];
  deliveryAddress: string | null;
  status: string;
  modifiedAt: string;
  eventId: string;
}

export interface OrderDealResult {
  dealId: number;
  /** created: a new deal; updated: this revision replaced the stored one; stale: an older revision, ignored. */
  outcome: 'created' | 'updated' | 'stale';
}

const RESPONSIBLE_OF = {
  lead: 'SELECT responsible_id FROM leads WHERE id = $4',
  contact: 'SELECT responsible_id FROM contacts WHERE id = $4',
  company: 'SELECT responsible_id FROM companies WHERE id = $4',
} as const;

/**
 * Creates the order's deal on the buyer's entity (responsible: the entity's operator), or updates its order
 * fields when this revision is not older than the stored one. Entity, responsible and stage of an existing deal
 * are the operators' to change and are left alone. Concurrent routers meet on the unique (store_key,
 * order_number) index, so an order never gets two deals.
 */
export async function upsertOrderDeal(db: Queryable, d: OrderDealWrite): Promise<OrderDealResult> {
  const responsible = d.owner ? `(${RESPONSIBLE_OF[d.owner.type]})` : 'NULL';
  const r = await db.query<{ id: number; inserted: boolean }>(
    `INSERT INTO deals (store_key, order_number, title, lead_id, contact_id, company_id, responsible_id, amount,
                        currency, items, delivery_address, order_status, order_modified_at, order_event_id)
     VALUES ($1, $2, $3,
             CASE WHEN $5 = 'lead' THEN $4::integer END,
             CASE WHEN $5 = 'contact' THEN $4::integer END,
             CASE WHEN $5 = 'company' THEN $4::integer END,
             ${responsible}, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (store_key, order_number) WHERE store_key IS NOT NULL DO UPDATE
       SET amount = EXCLUDED.amount, currency = EXCLUDED.currency, items = EXCLUDED.items,
           delivery_address = EXCLUDED.delivery_address, order_status = EXCLUDED.order_status,
           order_modified_at = EXCLUDED.order_modified_at, order_event_id = EXCLUDED.order_event_id,
           updated_at = now()
       WHERE deals.order_modified_at IS NULL OR deals.order_modified_at <= EXCLUDED.order_modified_at
     RETURNING id, (xmax = 0) AS inserted`,
    [
      d.storeKey,
      d.orderNumber,
      d.title,
      d.owner?.id ?? null,
      d.owner?.type ?? null,
      d.amount,
      d.currency,
      JSON.stringify(d.items),
      d.deliveryAddress,
      d.status,
      d.modifiedAt,
      d.eventId,
    ],
  );
  const row = r.rows[0];
  if (row) return { dealId: row.id, outcome: row.inserted ? 'created' : 'updated' };
  const stored = await db.query<{ id: number }>(
    'SELECT id FROM deals WHERE store_key = $1 AND order_number = $2',
    [d.storeKey, d.orderNumber],
  );
  return { dealId: stored.rows[0]!.id, outcome: 'stale' };
}

/** Shows the deal on the order's activity (the buyer's timeline): details.dealId and what became of the revision. */
export async function linkOrderActivity(
  db: Queryable,
  activityId: number,
  deal: OrderDealResult,
): Promise<void> {
  await db.query(
    `UPDATE activities SET details = details || jsonb_build_object('dealId', $2::integer, 'dealOutcome', $3::text)
     WHERE id = $1`,
    [activityId, deal.dealId, deal.outcome],
  );
}
