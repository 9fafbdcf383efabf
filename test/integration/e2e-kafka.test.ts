import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { DEMO_LINE_SECRET } from '../../app/demo-seed.js';
import { type Service, startService } from '../../app/service.js';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../../bus/bus.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { kafkaPgEnv } from '../support/service-env.js';
import { KAFKA_BROKERS, kafkaAvailable, pgAvailable } from '../support/services.js';
import { until } from '../support/until.js';

/**
 * The whole path with nothing faked: real HTTP into the composition root, the web-form and telephony
 * connectors, a real Kafka topic, the consumer group, the router and PostgreSQL. Assertions read the database.
 */
const available = (await pgAvailable()) && (await kafkaAvailable());
// Discarded unless TEST_LOG_LEVEL is set: some components set their own level on child loggers.
const logger = process.env.TEST_LOG_LEVEL
  ? createLogger({ level: process.env.TEST_LOG_LEVEL })
  : createLogger({ level: 'silent' }, { write: () => {} });

describe.skipIf(!available)('end to end: HTTP -> Kafka -> router -> PostgreSQL', () => {
  const prefix = `t-e2e-${randomUUID().slice(0, 8)}-`;
  const topics = [prefix + TOPIC_INBOUND, prefix + TOPIC_DEAD_LETTER];
  const kafka = new kafkajs.Kafka({
    clientId: 'e2e-test',
    brokers: KAFKA_BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  let t: TestDatabase;
  let service: Service;

  const q = async <R>(sql: string, params: unknown[] = []) => (await t.db.query<R>(sql, params)).rows;
  const count = async (table: string) =>
    (await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
  const published = async () =>
    (await admin.fetchTopicOffsets(topics[0]!)).reduce((n, p) => n + Number(p.high), 0);
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(new URL(path, service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    t = await createTestPg();
    await admin.connect();
    const config = loadConfig(kafkaPgEnv(t.url!, prefix, { ADMIN_TOKEN: 'e2e-admin-token-0123456789' }));
    service = await startService(config, logger);
  }, 60_000);

  afterAll(async () => {
    await service?.close().catch(() => {});
    await admin.deleteGroups([prefix + 'router']).catch(() => {});
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect().catch(() => {});
    await t?.drop();
  }, 60_000);

  it('a web form and then a missed call from the same number make one lead with both contacts and a callback', async () => {
    expect(service.demo?.operators.map((o) => o.login)).toEqual(['anna', 'boris', 'vera']);

    const form = await post('/v1/forms/demo', {
      name: 'Ivan Petrov',
      phone: '+7 (495) 123-45-67',
      email: 'ivan.petrov@example.com',
      message: 'Please call me about the offer',
      region: 'Moscow',
      city: 'Moscow',
    });
    expect(form.status).toBe(202);
    const formId = ((await form.json()) as { id: string }).id;
    expect(formId).toMatch(/^[0-9a-f-]{36}$/);

    const startedAt = new Date(Date.now() - 60_000).toISOString();
    const call = await post(
      '/v1/telephony/generic',
      {
        line: 'demo',
        direction: 'inbound',
        from: '8 495 123 45 67',
        to: '+74950000000',
        startedAt,
        duration: 25,
        status: 'missed',
        externalCallId: `e2e-${randomUUID()}`,
      },
      { authorization: `Bearer ${DEMO_LINE_SECRET}` },
    );
    expect(call.status).toBe(202);
    const callId = ((await call.json()) as { id: string }).id;

    // Committed by the router (it may take a consumer-group join): both events processed.
    await until('both events to be routed', async () => {
      const n = (
        await q<{ n: number }>(
          'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[]) AND activity_id IS NOT NULL',
          [[formId, callId]],
        )
      )[0]!.n;
      return n === 2 ? true : undefined;
    });

    const leads = await q<{
      id: number;
      name: string;
      responsible_id: number;
      region_id: number;
      channel: string;
      status: string;
    }>('SELECT id, name, responsible_id, region_id, channel, status FROM leads');
    expect(leads).toHaveLength(1);
    const lead = leads[0]!;
    expect(lead).toMatchObject({ name: 'Ivan Petrov', channel: 'webform', status: 'new' });

    // Responsible: an operator of the Moscow region (anna or boris), and the lead is in that region.
    const [moscow] = await q<{ id: number }>(`SELECT id FROM regions WHERE name = 'Moscow'`);
    expect(lead.region_id).toBe(moscow!.id);
    const moscowOps = (
      await q<{ operator_id: number }>('SELECT operator_id FROM operator_regions WHERE region_id = $1', [
        moscow!.id,
      ])
    ).map((r) => r.operator_id);
    expect(moscowOps).toContain(lead.responsible_id);

    const identities = await q<{ kind: string; value: string; owner_type: string; owner_id: number }>(
      'SELECT kind, value, owner_type, owner_id FROM identities ORDER BY kind',
    );
    expect(identities).toEqual([
      { kind: 'email', value: 'ivan.petrov@example.com', owner_type: 'lead', owner_id: lead.id },
      { kind: 'phone', value: '+74951234567', owner_type: 'lead', owner_id: lead.id },
    ]);

    const acts = await q<{
      type: string;
      state: string;
      owner_type: string;
      owner_id: number;
      event_id: string;
      responsible_id: number;
      deadline: Date | null;
    }>(
      'SELECT type, state, owner_type, owner_id, event_id, responsible_id, deadline FROM activities ORDER BY id',
    );
    expect(acts.every((a) => a.owner_type === 'lead' && a.owner_id === lead.id)).toBe(true);
    const done = acts.filter((a) => a.state === 'completed');
    expect(done.map((a) => [a.type, a.event_id]).sort()).toEqual([
      ['call', callId],
      ['form', formId],
    ]);
    const planned = acts.filter((a) => a.state === 'planned');
    expect(planned).toHaveLength(1);
    expect(planned[0]).toMatchObject({ type: 'callback', responsible_id: lead.responsible_id });
    expect(planned[0]!.deadline).not.toBeNull();
    expect(acts).toHaveLength(3);
  });

  it('when the bus cannot take events, HTTP answers 503 with Retry-After and nothing is written', async () => {
    const before = {
      published: await published(),
      processed: await count('processed_events'),
      leads: await count('leads'),
    };
    // Stop the Kafka path of this instance (producer and consumer): publish() must now refuse.
    await service.bus.close();

    const form = await post('/v1/forms/demo', {
      name: 'Olga',
      phone: '+7 (495) 765-43-21',
      region: 'Moscow',
    });
    expect(form.status).toBe(503);
    expect(Number(form.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await form.json()) as { error: { code: string } }).error.code).toBe('BUS_UNAVAILABLE');

    const call = await post(
      '/v1/telephony/generic',
      {
        line: 'demo',
        direction: 'inbound',
        from: '+74957654321',
        to: '+74950000000',
        startedAt: new Date().toISOString(),
        status: 'missed',
        externalCallId: `e2e-${randomUUID()}`,
      },
      { authorization: `Bearer ${DEMO_LINE_SECRET}` },
    );
    expect(call.status).toBe(503);
    expect(Number(call.headers.get('retry-after'))).toBeGreaterThan(0);

    await new Promise((r) => setTimeout(r, 500));
    expect({
      published: await published(),
      processed: await count('processed_events'),
      leads: await count('leads'),
    }).toEqual(before);
  });
});
