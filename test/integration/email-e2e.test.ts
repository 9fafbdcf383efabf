import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { type Service, startService } from '../../app/service.js';
import { insertMailbox } from '../../crm-core/repositories/channel-settings.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { dropFolders, MAIL_PASSWORD, smtp, waitFor } from '../support/mail-harness.js';
import { createFolders, messagesIn } from '../support/mail-reply.js';
import { kafkaPgEnv } from '../support/service-env.js';
import { imapAvailable, kafkaAvailable, pgAvailable } from '../support/services.js';

const ready = (await pgAvailable()) && (await kafkaAvailable()) && (await imapAvailable());
const USER = 'inbox@example.test';
const ADMIN = 'email-e2e-admin-token-000001';

/**
 * The email channel through the real composition root: Dovecot → IMAP connector (crm-core's mailbox settings and
 * cursor store) → Kafka → router → PostgreSQL, then an operator's reply through the outbox and the SMTP sink.
 */
describe.skipIf(!ready)('email end to end: IMAP → Kafka → router → PostgreSQL → reply', () => {
  const run = randomUUID().slice(0, 8);
  const folder = `e2e-${run}`;
  const sent = `e2e-sent-${run}`;
  const prefix = `t-mail-${run}-`;
  let t: TestDatabase;
  let service: Service;
  let token: string;

  const start = async () => {
    service = await startService(
      loadConfig(kafkaPgEnv(t.url!, prefix, { ADMIN_TOKEN: ADMIN, KAFKA_TOPIC_PARTITIONS: '2' })),
      createLogger({ level: 'silent' }),
    );
    if (service.demo) token = service.demo.operators.find((o) => o.login === 'anna')!.token;
  };
  const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.query<R>(sql, params)).rows;
  const send = (from: string, subject: string, extra: Record<string, unknown> = {}) =>
    smtp().sendMail({
      from,
      to: `inbox+${folder}@example.test`,
      subject,
      text: `${subject} — body`,
      ...extra,
    });
  const emailActivities = () =>
    q<{
      id: number;
      owner_type: string;
      owner_id: number;
      message_id: string;
      direction: string;
      subject: string;
    }>(
      `SELECT id, owner_type, owner_id, message_id, direction, subject FROM activities WHERE type = 'email' ORDER BY id`,
    );

  beforeAll(async () => {
    t = await createTestPg();
    await createFolders(USER, [folder, sent]);
    // The mailbox exists before the service starts, so the connector picks it up at once (not at its 30 s refresh).
    await insertMailbox(t.db, {
      name: 'E2E',
      address: `inbox+${folder}@example.test`,
      imap: { host: '127.0.0.1', port: 10143, secure: false, user: USER, password: MAIL_PASSWORD },
      smtp: { host: '127.0.0.1', port: 10025, secure: false, sentFolder: sent },
      folders: [folder],
      syncSince: new Date(Date.now() - 86_400_000).toISOString(),
      processed: { action: 'none' },
      attachmentMaxBytes: 1_000_000,
      active: true,
    });
    await start();
  });
  afterAll(async () => {
    await service?.close();
    await dropFolders(USER, [folder, sent]).catch(() => {});
    await t?.drop();
  });

  it('turns a client email into a lead with an inbound email activity', async () => {
    await send(`Olga <olga.${run}@client.example>`, 'Price list please');
    await waitFor('the email activity', async () => (await emailActivities()).length === 1, 20_000);
    const [act] = await emailActivities();
    expect(act).toMatchObject({ owner_type: 'lead', direction: 'inbound', subject: 'Price list please' });
    const [id] = await q<{ owner_id: number }>(`SELECT owner_id FROM identities WHERE value = $1`, [
      `olga.${run}@client.example`,
    ]);
    expect(id?.owner_id).toBe(act!.owner_id);
  });

  it('sends an operator reply with threading headers, files a copy in Sent, and threads the answer to it', async () => {
    const [question] = await emailActivities();
    const r = await fetch(new URL(`/v1/activities/${question!.id}/reply`, service.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Here it is.' }),
    });
    expect(r.status).toBe(201);
    const reply = (await r.json()) as { messageId: string; activityId: number };
    // The copy is filed right after SMTP accepted, off the request path (a Sent failure is not a send failure).
    let copy: Awaited<ReturnType<typeof messagesIn>>[number] | undefined;
    await waitFor('the copy in Sent', async () => {
      copy = (await messagesIn(USER, sent)).find((m) => m.messageId === reply.messageId);
      return copy !== undefined;
    });
    expect(copy!.inReplyTo).toBe(question!.message_id);
    // The client answers from another address of theirs, quoting our reply: same lead, no new one.
    await send(`Olga <olga.home.${run}@mail.example>`, 'Re: Price list please', {
      inReplyTo: reply.messageId,
      references: [question!.message_id, reply.messageId],
    });
    await waitFor('the answer', async () => (await emailActivities()).length === 3, 20_000);
    const acts = await emailActivities();
    expect(new Set(acts.map((a) => `${a.owner_type}:${a.owner_id}`)).size).toBe(1);
    expect(acts.map((a) => a.direction)).toEqual(['inbound', 'outbound', 'inbound']);
    expect(await q('SELECT id FROM leads')).toHaveLength(1);
  });

  it('keeps its IMAP cursor in crm-core: mail that arrives while the service is down is taken once after restart', async () => {
    await service.close();
    await send(`Petr <petr.${run}@client.example>`, 'While you were away');
    await start();
    await waitFor(
      'the mail sent during the restart',
      async () => (await emailActivities()).length === 4,
      20_000,
    );
    await new Promise((r) => setTimeout(r, 1_500)); // anything read twice would show up by now
    const acts = await emailActivities();
    expect(acts).toHaveLength(4);
    expect(new Set(acts.map((a) => a.message_id)).size).toBe(4);
    const cursors = await q<{ key: string; value: { lastUid: number } }>(
      `SELECT key, value FROM connector_cursors WHERE connector = 'email'`,
    );
    expect(cursors).toHaveLength(1);
    expect(cursors[0]!.value.lastUid).toBeGreaterThanOrEqual(3);
  });
});
