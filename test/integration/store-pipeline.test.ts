import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandler } from '../../api/error-handler.js';
import { loadConfig } from '../../app/config.js';
import { createMemoryBus } from '../../bus/memory-bus.js';
import { createStoreConnector } from '../../connectors/store/index.js';
import { wcSignature } from '../../connectors/store/woocommerce.js';
import { channelSettings, cursorStore } from '../../crm-core/repositories/channel-settings.repository.js';
import { upsertStore } from '../../crm-core/repositories/store.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPglite, type TestDatabase } from '../support/db.js';
import { testRouter } from '../support/router.js';

const WC_ORDER = readFileSync(new URL('../unit/store/woocommerce-order.json', import.meta.url), 'utf8');
const SECRET = 'wc-webhook-secret-0123456789';

/**
 * WooCommerce order webhooks through the embedded pipeline: the store stored in crm-core, the real connector, the
 * in-process bus (202 only after the router's commit) and the router on PGlite.
 */
describe('WooCommerce orders reach the CRM as one deal per order', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  const bus = createMemoryBus({ logger: createLogger({ level: 'silent' }) });

  beforeAll(async () => {
    t = await createTestPglite();
    await upsertStore(t.db, {
      key: 'wp',
      name: 'WP shop',
      secret: SECRET,
      platform: 'woocommerce',
      active: true,
    });
    await bus.subscribe(testRouter(t.db).handle);
    app = Fastify();
    registerErrorHandler(app);
    const c = createStoreConnector({
      config: loadConfig({ LOG_LEVEL: 'silent', DEFAULT_COUNTRY: 'RU' }),
      logger: createLogger({ level: 'silent' }),
      bus,
      settings: channelSettings(t.db, 0),
      cursors: cursorStore(t.db),
    });
    await app.register(c.http!.plugin, { prefix: c.http!.prefix });
  });
  afterAll(async () => {
    await app?.close();
    await bus.close();
    await t?.drop();
  });

  const deliver = (body: string, topic: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/orders/wp',
      payload: body,
      headers: {
        'content-type': 'application/json',
        'x-wc-webhook-topic': topic,
        'x-wc-webhook-resource': 'order',
        'x-wc-webhook-signature': wcSignature(SECRET, body),
      },
    });
  const deals = async () =>
    (
      await t.db.query<{ id: number; lead_id: number; order_status: string; amount: string }>(
        `SELECT id, lead_id, order_status, amount FROM deals WHERE store_key = 'wp' AND order_number = '727'`,
      )
    ).rows;

  it('created, redelivered, then updated: one lead, one deal, holding the update', async () => {
    expect((await deliver(WC_ORDER, 'order.created')).statusCode).toBe(202);
    expect((await deliver(WC_ORDER, 'order.created')).statusCode).toBe(202);
    const [first] = await deals();
    expect(first).toMatchObject({ order_status: 'processing', amount: '29.35' });

    const updated = JSON.stringify({
      ...JSON.parse(WC_ORDER),
      status: 'completed',
      date_modified_gmt: '2017-03-23T09:00:00',
    });
    expect((await deliver(updated, 'order.updated')).statusCode).toBe(202);
    expect(await deals()).toEqual([{ ...first, order_status: 'completed' }]);
    const leads = await t.db.query('SELECT id FROM leads');
    expect(leads.rows).toEqual([{ id: first!.lead_id }]);
    const acts = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM activities WHERE owner_type = 'lead' AND owner_id = $1`,
      [first!.lead_id],
    );
    expect(acts.rows[0]!.n).toBe(2);
  });
});
