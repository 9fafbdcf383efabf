import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { type Service, startService } from '../../app/service.js';
import { upsertMessengerAccount } from '../../crm-core/repositories/messenger-account.repository.js';
import { contactId } from '../../event/inbound-contact.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { metaFixture, metaSignature, whatsappAccount } from '../support/meta-app.js';
import { dropKafkaTraces, kafkaPgEnv } from '../support/service-env.js';
import { KAFKA_BROKERS, kafkaAvailable, pgAvailable } from '../support/services.js';
import { until } from '../support/until.js';

/**
 * WhatsApp end to end, nothing faked: the real service on a fresh PostgreSQL schema and its own Kafka topics, a
 * WhatsApp account stored in messenger_accounts, a web form and then a signed Cloud API webhook (Meta's documented
 * text payload, from the number that filled the form) over real HTTP, delivered twice. The message must land on
 * the form's lead: wa_id is a phone identity in E.164.
 */
const available = (await pgAvailable()) && (await kafkaAvailable());
const logger = createLogger({ level: 'silent' }, { write: () => {} });

describe.skipIf(!available)('end to end: WhatsApp webhook -> Kafka -> router -> PostgreSQL', () => {
  const prefix = `t-wa-${randomUUID().slice(0, 8)}-`;
  const admin = new kafkajs.Kafka({
    clientId: 'wa-e2e',
    brokers: KAFKA_BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  const account = whatsappAccount({ regionId: undefined });
  let t: TestDatabase;
  let service: Service;

  const q = async <R>(sql: string, params: unknown[] = []) => (await t.db.query<R>(sql, params)).rows;
  const ownerOf = async (eventId: string) =>
    (
      await q<{ owner_type: string; owner_id: number; channel: string }>(
        `SELECT a.owner_type, a.owner_id, a.channel FROM processed_events p JOIN activities a ON a.id = p.activity_id
         WHERE p.event_id = $1`,
        [eventId],
      )
    )[0];

  beforeAll(async () => {
    t = await createTestPg();
    await admin.connect();
    await upsertMessengerAccount(t.db, account);
    service = await startService(
      loadConfig(kafkaPgEnv(t.url!, prefix, { ADMIN_TOKEN: 'wa-e2e-admin-token-0123456789' })),
      logger,
    );
  }, 60_000);

  afterAll(async () => {
    await service?.close().catch(() => {});
    await dropKafkaTraces(admin, prefix);
    await t?.drop();
  }, 60_000);

  it('a WhatsApp message from a number that filled a form lands on that lead, once', async () => {
    const form = await fetch(new URL('/v1/forms/demo', service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ name: 'Ivan Petrov', phone: '8 (916) 123-45-67', region: 'Moscow' }),
    });
    expect(form.status).toBe(202);
    const formId = ((await form.json()) as { id: string }).id;
    const lead = await until('the form to be routed', () => ownerOf(formId));
    expect(lead.owner_type).toBe('lead');

    const wamid = `wamid.E2E${randomUUID().replaceAll('-', '')}`;
    const body = metaFixture('wa-text.json')
      .replaceAll('16505551234', '79161234567')
      .replace(/wamid\.[A-Za-z0-9=]+/, wamid);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(new URL(`/v1/messengers/whatsapp/${account.key}`, service.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': metaSignature(account.appSecret, body),
        },
        body,
      });
      expect(res.status).toBe(200);
    }

    const message = await until('the message to be routed', () =>
      ownerOf(contactId('whatsapp', account.key, wamid)),
    );
    expect(message).toEqual({ owner_type: 'lead', owner_id: lead.owner_id, channel: 'whatsapp' });
    expect(await q('SELECT id FROM leads')).toHaveLength(1);
    const phones = await q<{ value: string; owner_id: number }>(
      `SELECT value, owner_id FROM identities WHERE kind = 'phone'`,
    );
    expect(phones).toEqual([{ value: '+79161234567', owner_id: lead.owner_id }]);
    const activities = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM activities WHERE channel = 'whatsapp' AND owner_type = 'lead' AND owner_id = $1`,
      [lead.owner_id],
    );
    expect(activities[0]!.n).toBe(1);
  }, 60_000);
});
