import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { DEMO_LINE_SECRET } from '../../app/demo-seed.js';
import { type Service, startService } from '../../app/service.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { messageEvent, statusEvent } from '../support/messages.js';
import { dropKafkaTraces, kafkaPgEnv } from '../support/service-env.js';
import { KAFKA_BROKERS, kafkaAvailable, pgAvailable } from '../support/services.js';
import { until } from '../support/until.js';

/**
 * Messenger messages end to end, with no vendor: forms and calls come in over HTTP through their connectors,
 * messenger events are published on the service's own Kafka bus as the messenger connectors publish them, and
 * the router commits to PostgreSQL. Assertions read the database.
 */
const available = (await pgAvailable()) && (await kafkaAvailable());
const logger = createLogger({ level: 'silent' }, { write: () => {} });

describe.skipIf(!available)('messengers end to end: Kafka -> router -> PostgreSQL', () => {
  const prefix = `t-msg-${randomUUID().slice(0, 8)}-`;
  const kafka = new kafkajs.Kafka({
    clientId: 'msg-e2e',
    brokers: KAFKA_BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  let t: TestDatabase;
  let service: Service;
  const q = async <R>(sql: string, params: unknown[] = []) => (await t.db.query<R>(sql, params)).rows;
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(new URL(path, service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(202);
    return ((await r.json()) as { id: string }).id;
  };
  const routed = (...ids: string[]) =>
    until(`${ids.length} events routed`, async () => {
      const [r] = await q<{ n: number }>(
        'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[]) AND activity_id IS NOT NULL',
        [ids],
      );
      return r!.n === ids.length ? true : undefined;
    });
  const ownerOf = async (kind: string, value: string) =>
    (
      await q<{ owner_type: string; owner_id: number }>(
        'SELECT owner_type, owner_id FROM identities WHERE kind = $1 AND value = $2',
        [kind, value],
      )
    )[0];

  beforeAll(async () => {
    t = await createTestPg();
    await admin.connect();
    service = await startService(
      loadConfig(kafkaPgEnv(t.url!, prefix, { ADMIN_TOKEN: 'msg-e2e-admin-token-0123456789' })),
      logger,
    );
  }, 60_000);
  afterAll(async () => {
    await service?.close().catch(() => {});
    await dropKafkaTraces(admin, prefix);
    await t?.drop();
  }, 60_000);

  it('a WhatsApp message from a number that earlier filled a form lands on that lead; its statuses apply in any order', async () => {
    const digits = `7495${Math.floor(1e6 + Math.random() * 8e6)}`;
    const formId = await post('/v1/forms/demo', {
      name: 'Anna K',
      phone: `8${digits.slice(1)}`,
      region: 'Moscow',
    });
    await routed(formId);
    const lead = (await ownerOf('phone', `+${digits}`))!;
    const leads = (await q<{ n: number }>('SELECT count(*)::int AS n FROM leads'))[0]!.n;

    const wa = messageEvent({
      channel: 'whatsapp',
      chat: digits,
      id: `wamid.${randomUUID()}`,
      text: 'About my request',
    });
    // Our agent answered from the WhatsApp Business app; its "read" overtakes the echo of the message itself.
    const outId = `wamid.${randomUUID()}`;
    await service.bus.publish([wa, statusEvent({ channel: 'whatsapp', id: outId, status: 'read' })]);
    await routed(wa.id);
    const out = messageEvent({
      channel: 'whatsapp',
      chat: digits,
      id: outId,
      text: 'We are on it',
      direction: 'outbound',
    });
    await service.bus.publish([out, statusEvent({ channel: 'whatsapp', id: outId, status: 'delivered' })]);
    await routed(out.id);

    const [c] = await q<{ id: number; owner_type: string; owner_id: number }>(
      'SELECT id, owner_type, owner_id FROM conversations WHERE chat_id = $1',
      [digits],
    );
    expect(c).toMatchObject({ owner_type: lead.owner_type, owner_id: lead.owner_id });
    expect((await q<{ n: number }>('SELECT count(*)::int AS n FROM leads'))[0]!.n).toBe(leads);
    await until('the read status', async () => {
      const [m] = await q<{ status: string }>('SELECT status FROM messages WHERE vendor_message_id = $1', [
        outId,
      ]);
      return m?.status === 'read' ? true : undefined;
    });
  }, 90_000);

  it('a Telegram user who shares their contact joins their call history', async () => {
    const digits = `7495${Math.floor(1e6 + Math.random() * 8e6)}`;
    const callId = await post(
      '/v1/telephony/generic',
      {
        line: 'demo',
        direction: 'inbound',
        from: `+${digits}`,
        to: '+74950000000',
        startedAt: new Date(Date.now() - 3_600_000).toISOString(),
        duration: 0,
        status: 'missed',
        externalCallId: `msg-e2e-${randomUUID()}`,
      },
      { authorization: `Bearer ${DEMO_LINE_SECRET}` },
    );
    await routed(callId);
    const caller = (await ownerOf('phone', `+${digits}`))!;
    const chat = String(Math.floor(1e8 + Math.random() * 8e8));
    const start = messageEvent({ chat, id: `${chat}:1`, text: '/start', at: new Date(Date.now() - 60_000) });
    await service.bus.publish([start]);
    await routed(start.id);
    const chatLead = (await ownerOf('telegram', chat))!;
    expect(chatLead.owner_id).not.toBe(caller.owner_id);
    const share = messageEvent({
      chat,
      id: `${chat}:2`,
      sharedContact: { phone: digits, ownPhone: true, name: 'Me' },
    });
    await service.bus.publish([share]);
    await routed(share.id);

    expect(await ownerOf('telegram', chat)).toEqual(caller);
    expect(await q('SELECT status FROM leads WHERE id = $1', [chatLead.owner_id])).toEqual([
      { status: 'junk' },
    ]);
    const history = await q<{ type: string }>(
      'SELECT type FROM activities WHERE owner_type = $1 AND owner_id = $2 ORDER BY created_at, id',
      [caller.owner_type, caller.owner_id],
    );
    expect(history.map((a) => a.type)).toEqual(['call', 'callback', 'message']);
    const [c] = await q<{ id: number; owner_id: number }>(
      'SELECT id, owner_id FROM conversations WHERE chat_id = $1',
      [chat],
    );
    expect(c!.owner_id).toBe(caller.owner_id);
    expect(await q('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [c!.id])).toEqual([
      { n: 2 },
    ]);
  }, 90_000);
});
