import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import type { StoreSettings } from '../../channels/settings.js';
import { type OrderDraft, orderEvent, parseGenericOrder } from '../../connectors/store/order.js';
import { parseWcOrder } from '../../connectors/store/woocommerce.js';
import { createTestPg, createTestPglite, type TestDatabase } from '../support/db.js';
import { formEvent } from '../support/events.js';
import { testRouter } from '../support/router.js';
import { pgAvailable } from '../support/services.js';

const WC_ORDER = readFileSync(new URL('../unit/store/woocommerce-order.json', import.meta.url), 'utf8');

interface DealRow {
  id: number;
  lead_id: number | null;
  contact_id: number | null;
  responsible_id: number | null;
  amount: string;
  currency: string;
  order_status: string;
  order_modified_at: Date;
  items: { name: string; qty: number; price: string }[];
  delivery_address: string | null;
  stage: string;
  updated_at: Date;
}

const backends = [
  { name: 'PostgreSQL', make: () => createTestPg(), available: await pgAvailable() },
  { name: 'PGlite', make: createTestPglite, available: true },
];

/** Online-store orders through the real router on real PostgreSQL (and PGlite, the embedded default), events built by the connector's own code. */
for (const backend of backends)
  describe.skipIf(!backend.available)(`store orders through the router on ${backend.name}`, () => {
    let t: TestDatabase;
    let router: ReturnType<typeof testRouter>;
    let spb: number;
    let ops: Record<string, number>;
    const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await t.db.query<R>(sql, params)).rows;
    const shop = (): StoreSettings => ({
      key: 'teashop',
      name: 'Tea shop',
      secret: 'x'.repeat(20),
      platform: 'generic',
      source: 'Online store',
      regionId: spb,
      active: true,
    });
    const order = (over: Partial<Record<string, unknown>> = {}): OrderDraft =>
      parseGenericOrder({
        number: '5001',
        status: 'new',
        modifiedAt: '2026-12-07T10:00:00Z',
        buyer: { name: 'Olga', phone: '+7 916 555-01-01' },
        items: [{ sku: 'TEA-1', name: 'Green tea', qty: 2, price: '350.00' }],
        total: '700.00',
        currency: 'RUB',
        deliveryAddress: 'Moscow, Tverskaya 1',
        ...over,
      });
    const event = (d: OrderDraft) =>
      orderEvent(
        shop(),
        d,
        { contentType: 'application/json', body: JSON.stringify(d) },
        { defaultCountry: 'RU' },
      );
    const route = async (...events: ReturnType<typeof event>[]) =>
      expect(await router.handle(events)).toEqual({ failed: [] });
    const dealsOf = (number: string, store = 'teashop') =>
      q<DealRow>('SELECT * FROM deals WHERE store_key = $1 AND order_number = $2', [store, number]);

    beforeAll(async () => {
      t = await backend.make();
      const seeded = await seedDemo(t.db);
      ops = Object.fromEntries(seeded!.operators.map((o) => [o.login, o.id]));
      spb = (await q<{ id: number }>(`SELECT id FROM regions WHERE code = 'spb'`))[0]!.id;
      router = testRouter(t.db);
    });
    afterAll(async () => t?.drop());

    it("lands an order from a phone that filled a form on that lead, with the lead's operator, on its timeline", async () => {
      await route(formEvent({ phone: '8 916 555 01 01', name: 'Olga', region: 'Moscow' }));
      const [lead] = await q<{ id: number; responsible_id: number }>(
        `SELECT l.id, l.responsible_id FROM leads l JOIN identities i ON i.owner_type = 'lead' AND i.owner_id = l.id
       WHERE i.value = '+79165550101'`,
      );
      expect([ops.anna, ops.boris]).toContain(lead!.responsible_id);
      const e = event(order());
      await route(e);

      expect(await q('SELECT id FROM leads')).toHaveLength(1);
      const [deal] = await dealsOf('5001');
      expect(deal).toMatchObject({
        lead_id: lead!.id,
        contact_id: null,
        responsible_id: lead!.responsible_id,
        amount: '700.00',
        currency: 'RUB',
        order_status: 'new',
        delivery_address: 'Moscow, Tverskaya 1',
        items: [{ sku: 'TEA-1', name: 'Green tea', qty: 2, price: '350.00' }],
        stage: 'new',
      });
      const acts = await q<{
        type: string;
        subject: string;
        details: { dealId: number; dealOutcome: string };
      }>(
        `SELECT type, subject, details FROM activities WHERE owner_type = 'lead' AND owner_id = $1 AND event_id = $2`,
        [lead!.id, e.id],
      );
      expect(acts).toHaveLength(1);
      expect(acts[0]).toMatchObject({
        type: 'form',
        subject: 'Order #5001 (new): 700.00 RUB',
        details: { dealId: deal!.id, dealOutcome: 'created' },
      });
    });

    it('changes nothing when the same order is delivered again', async () => {
      const [before] = await dealsOf('5001');
      const acts = (await q<{ n: number }>('SELECT count(*)::int AS n FROM activities'))[0]!.n;
      await route(event(order()));
      await route(event(order()), event(order()));
      expect(await dealsOf('5001')).toEqual([before]);
      expect((await q<{ n: number }>('SELECT count(*)::int AS n FROM activities'))[0]!.n).toBe(acts);
    });

    it('updates the same deal when the order changes, never making a second one', async () => {
      await route(event(order({ status: 'paid', modifiedAt: '2026-12-07T11:00:00Z', total: '750.00' })));
      const deals = await dealsOf('5001');
      expect(deals).toHaveLength(1);
      expect(deals[0]).toMatchObject({ order_status: 'paid', amount: '750.00' });
      expect(deals[0]!.order_modified_at.toISOString()).toBe('2026-12-07T11:00:00.000Z');
    });

    it('never lets an older revision delivered late overwrite a newer one, and says so on its activity', async () => {
      const late = event(order({ status: 'pending', modifiedAt: '2026-12-07T10:30:00Z' }));
      await route(late);
      const deals = await dealsOf('5001');
      expect(deals).toHaveLength(1);
      expect(deals[0]).toMatchObject({ order_status: 'paid', amount: '750.00' });
      const [act] = await q<{ details: { dealId: number; dealOutcome: string } }>(
        'SELECT details FROM activities WHERE event_id = $1',
        [late.id],
      );
      expect(act!.details).toMatchObject({ dealId: deals[0]!.id, dealOutcome: 'stale' });
    });

    it('keeps the newest of several revisions of one order routed in one batch, whatever their order', async () => {
      const rev = (status: string, at: string) => event(order({ number: '5002', status, modifiedAt: at }));
      await route(
        rev('shipped', '2026-12-08T12:00:00Z'),
        rev('new', '2026-12-08T09:00:00Z'),
        rev('paid', '2026-12-08T10:00:00Z'),
      );
      const deals = await dealsOf('5002');
      expect(deals).toHaveLength(1);
      expect(deals[0]!.order_status).toBe('shipped');
    });

    it("makes a new buyer a lead in the store's region, with that region's operator on lead and deal", async () => {
      const d = parseWcOrder(JSON.parse(WC_ORDER));
      d.buyer.phone = '+7 921 555-02-02';
      await route(event(d));
      const [deal] = await dealsOf('727');
      const [lead] = await q<{ id: number; region_id: number; responsible_id: number; source_name: string }>(
        'SELECT * FROM leads WHERE id = $1',
        [deal!.lead_id],
      );
      expect(lead).toMatchObject({ region_id: spb, responsible_id: ops.vera });
      expect(deal).toMatchObject({
        responsible_id: ops.vera,
        amount: '29.35',
        currency: 'USD',
        order_status: 'processing',
      });
    });
  });
