import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../app/config.js';
import { DEMO_LINE_SECRET } from '../../../app/demo-seed.js';
import { type Service, startService } from '../../../app/service.js';
import { upsertMessengerAccount } from '../../../crm-core/repositories/messenger-account.repository.js';
import { createLogger } from '../../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { dropKafkaTraces, kafkaPgEnv } from '../../support/service-env.js';
import { KAFKA_BROKERS, kafkaAvailable, pgAvailable } from '../../support/services.js';
import { fixture, telegramAccount, WEBHOOK_SECRET } from '../../support/telegram-app.js';
import { until as waitUntil } from '../../support/until.js';
import { TelegramApiServer } from '../../support/vendors/telegram-api.js';

/**
 * Telegram end to end, nothing faked but Telegram itself: the real service on PostgreSQL and Kafka, one bot in
 * webhook mode (updates POSTed over HTTP) and one in polling mode (the service long-polls the local Bot API
 * server). A client who called first and then shares their own contact with the bot joins their call history.
 */
const available = (await pgAvailable()) && (await kafkaAvailable());
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const POLL_TOKEN = '654321:poll-bot-token_abcdef';

describe.skipIf(!available)(
  'Telegram end to end: webhook and polling -> Kafka -> router -> PostgreSQL',
  () => {
    const prefix = `t-tg-${randomUUID().slice(0, 8)}-`;
    const kafka = new kafkajs.Kafka({
      clientId: 'telegram-e2e',
      brokers: KAFKA_BROKERS,
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const kafkaAdmin = kafka.admin();
    let t: TestDatabase;
    let service: Service;
    let api: TelegramApiServer;

    const q = async <R>(sql: string, params: unknown[] = []) => (await t.db.query<R>(sql, params)).rows;
    const until = <T>(what: string, probe: () => Promise<T | undefined>) => waitUntil(what, probe, 45_000);
    /** The owner of an identity once the router committed it. */
    const ownerOf = (kind: string, value: string) =>
      until(`${kind}:${value} to be stored`, async () => {
        const rows = await q<{ owner_type: string; owner_id: number }>(
          'SELECT owner_type, owner_id FROM identities WHERE kind = $1 AND value = $2',
          [kind, value],
        );
        return rows[0];
      });

    beforeAll(async () => {
      t = await createTestPg();
      await kafkaAdmin.connect();
      api = await TelegramApiServer.start();
      api.addBot(POLL_TOKEN, 'poll_bot');
      await upsertMessengerAccount(t.db, telegramAccount({ key: 'tg-hook', regionId: undefined }));
      await upsertMessengerAccount(
        t.db,
        telegramAccount({
          key: 'tg-poll',
          mode: 'polling',
          botToken: POLL_TOKEN,
          webhookSecret: undefined,
          regionId: undefined,
        }),
      );
      const env = kafkaPgEnv(t.url!, prefix, {
        ADMIN_TOKEN: 'telegram-e2e-admin-token-01',
        TELEGRAM_API_URL: api.url,
      });
      service = await startService(loadConfig(env), logger);
    }, 90_000);

    afterAll(async () => {
      await service?.close().catch(() => {});
      await api?.close();
      await dropKafkaTraces(kafkaAdmin, prefix);
      await t?.drop();
    }, 60_000);

    it('a caller who shares their own contact with the bot joins their call history; their next message follows', async () => {
      const call = await fetch(new URL('/v1/telephony/generic', service.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_LINE_SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          line: 'demo',
          direction: 'inbound',
          from: '8 916 123-45-67',
          to: '+74950000000',
          startedAt: '2026-11-23T10:00:00Z',
          duration: 0,
          status: 'missed',
          externalCallId: `tg-e2e-${randomUUID()}`,
        }),
      });
      expect(call.status).toBeLessThan(300);
      const lead = await ownerOf('phone', '+79161234567');
      expect(lead.owner_type).toBe('lead');

      // Webhook bot: the "share my phone number" card (contact.user_id = from.id, phone without "+").
      const hook = await fetch(new URL('/v1/messengers/telegram/tg-hook', service.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
        body: JSON.stringify(fixture('contact-own')),
      });
      expect(hook.status).toBe(200);
      expect(await ownerOf('telegram', '1111111')).toEqual(lead);

      // Polling bot: a text from the same Telegram user lands on the same lead, and no second lead exists.
      const { update_id: _, ...text } = fixture('entities');
      api.pushUpdate(POLL_TOKEN, text);
      await until('the polled message to be routed', async () => {
        const rows = await q<{ owner_type: string; owner_id: number }>(
          `SELECT a.owner_type, a.owner_id FROM activities a JOIN processed_events p ON p.activity_id = a.id
          WHERE a.source_key = 'tg-poll'`,
        );
        return rows[0];
      }).then((owner) => expect(owner).toEqual(lead));
      await until('the polled update to be confirmed', async () =>
        api.pending(POLL_TOKEN).length ? undefined : true,
      );
      const leads = await q<{ n: number }>(
        `SELECT count(*)::int AS n FROM leads l JOIN identities i ON i.owner_type = 'lead' AND i.owner_id = l.id
        WHERE i.kind IN ('phone', 'telegram') AND i.value IN ('+79161234567', '1111111')`,
      );
      expect(leads[0]!.n).toBe(2);
      const distinct = await q<{ n: number }>(
        `SELECT count(DISTINCT owner_id)::int AS n FROM identities WHERE value IN ('+79161234567', '1111111')`,
      );
      expect(distinct[0]!.n).toBe(1);
    }, 120_000);
  },
);
