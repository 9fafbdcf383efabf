import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { type Service, startService } from '../../app/service.js';
import { createLogger } from '../../lib/logger.js';
import { createNotifier, regionsChanged } from '../../realtime/notices.js';
import { createPgHub } from '../../realtime/pg-hub.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { dropKafkaTraces, kafkaPgEnv } from '../support/service-env.js';
import { KAFKA_BROKERS, kafkaAvailable, pgAvailable } from '../support/services.js';

/**
 * A router in a process of its own (ROLE=router, as docker-compose.yml runs it) caches the region rules for a few
 * seconds. A region change made through any API instance is announced through the realtime hub (PostgreSQL
 * NOTIFY), and the router drops its copy at once: the next contact already lands in the new region. Here the
 * test plays the API's part (writes the region, publishes the notice), and a ROLE=connectors process takes the
 * contacts.
 */
const available = (await pgAvailable()) && (await kafkaAvailable());
const logger = createLogger({ level: 'silent' }, { write: () => {} });

describe.skipIf(!available)('a ROLE=router process hears region changes through the hub', () => {
  const prefix = `t-rr-${randomUUID().slice(0, 8)}-`;
  const channel = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new kafkajs.Kafka({ clientId: 'rr-test', brokers: KAFKA_BROKERS, logLevel: 0 }).admin();
  let t: TestDatabase;
  let router: Service;
  let connectors: Service;

  const form = async (name: string, region: string) => {
    const r = await fetch(new URL('/v1/forms/demo', connectors.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ name, phone: `+7 900 ${String(Math.random()).slice(2, 9)}`, region }),
    });
    expect(r.status).toBe(202);
    return ((await r.json()) as { id: string }).id;
  };
  const regionOf = async (eventId: string) => {
    const end = Date.now() + 30_000;
    for (;;) {
      const { rows } = await t.db.query<{ region_id: number | null }>(
        `SELECT l.region_id FROM processed_events p JOIN activities a ON a.id = p.activity_id
           JOIN leads l ON a.owner_type = 'lead' AND l.id = a.owner_id WHERE p.event_id = $1`,
        [eventId],
      );
      if (rows[0]) return rows[0].region_id;
      if (Date.now() > end) throw new Error(`event ${eventId} not routed`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    t = await createTestPg();
    await admin.connect();
    const env = (role: string) =>
      loadConfig(
        kafkaPgEnv(t.url!, prefix, {
          ROLE: role,
          REALTIME_CHANNEL: channel,
          DEMO_SEED: role === 'router' ? 'true' : 'false',
        }),
      );
    router = await startService(env('router'), logger);
    connectors = await startService(env('connectors'), logger);
  }, 90_000);

  afterAll(async () => {
    await connectors?.close().catch(() => {});
    await router?.close().catch(() => {});
    await dropKafkaTraces(admin, prefix);
    await t?.drop();
  }, 60_000);

  it('routes the next contact by a region created a moment ago, well within the cache TTL', async () => {
    // The router reads the rules for this contact: its copy is fresh for the next 5 s.
    await regionOf(await form('Warm-up', 'Nowhere'));
    const code = `kzn${randomUUID().slice(0, 6)}`;
    const { rows } = await t.db.query<{ id: number }>(
      `WITH r AS (INSERT INTO regions (code, name, priority) VALUES ($1, 'Kazan', 1) RETURNING id),
            rule AS (INSERT INTO region_rules (region_id, kind, value) SELECT id, 'form_region', 'Kazan' FROM r)
       SELECT id FROM r`,
      [code],
    );
    const hub = await createPgHub({ connectionString: t.url!, channel, logger });
    try {
      await createNotifier(hub, logger).publish([regionsChanged()]);
      // NOTIFY is delivered after the publishing statement; give the router's LISTEN connection a moment.
      await new Promise((r) => setTimeout(r, 300));
      expect(await regionOf(await form('Rustam', 'Kazan'))).toBe(rows[0]!.id);
    } finally {
      await hub.close();
    }
  }, 60_000);
});
