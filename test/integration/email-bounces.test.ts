import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSeedResult, seedDemo } from '../../app/demo-seed.js';
import type { MailboxSettings } from '../../channels/settings.js';
import type { ActivityRow } from '../../crm-core/repositories/activity.repository.js';
import {
  claimMissingSentCopies,
  getOutboundEmailByActivity,
  markOutboundSent,
} from '../../crm-core/repositories/outbound-email.repository.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { createReply } from '../../outbound/email-reply.js';
import type { Router } from '../../router/router.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { emailEvent } from '../support/events.js';
import { bounceMail, connectorEvent, rawMail, storedMailbox } from '../support/mail-reply.js';
import { testRouter } from '../support/router.js';
import { pgAvailable } from '../support/services.js';

/**
 * Delivery-status notifications about our replies, on PostgreSQL: the bounce joins the thread of the message it
 * reports on, and that message is marked failed (outbox row and activity), not left `sent`. The notification is
 * a real Postfix DSN normalised by the email connector's own code.
 */
const available = await pgAvailable();

describe.skipIf(!available)('bounces of our outbound email (PostgreSQL)', () => {
  const run = randomBytes(3).toString('hex');
  let t: TestDatabase;
  let seed: DemoSeedResult;
  let router: Router;
  let box: MailboxSettings;
  let uid = 1;
  const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.query<R>(sql, params)).rows;
  const activity = async (where: string, param: unknown) =>
    (await q<ActivityRow>(`SELECT * FROM activities WHERE ${where} = $1`, [param]))[0]!;
  const event = async (raw: string) => connectorEvent(raw, box, 'INBOX', uid++);

  /** A client's question, routed, and an operator's reply to it recorded in the outbox (not sent). */
  async function replied(client: string) {
    const question = await event(
      await rawMail({
        from: client,
        to: box.address,
        subject: 'Quote',
        text: 'Hello',
        messageId: `<q.${client}>`,
      }),
    );
    await router.handle([question]);
    const original = await activity('event_id', question.id);
    const reply = await createReply(
      t.db,
      { activityId: original.id, operatorId: seed.operators[0]!.id, text: 'Here is the quote.' },
      { leaseMs: 60_000 },
    );
    return { original, email: reply.email };
  }
  const bounceOf = async (client: string, originalMessageId: string): Promise<InboundContact> =>
    event(
      bounceMail({
        mailbox: box.address,
        recipient: client,
        originalMessageId,
        messageId: `<dsn.${randomBytes(4).toString('hex')}@mx.example.test>`,
      }),
    );

  beforeAll(async () => {
    t = await createTestPg();
    seed = (await seedDemo(t.db))!;
    router = testRouter(t.db);
    box = await storedMailbox(t.db, `sales.${run}@example.test`);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('marks a sent reply failed, files the bounce in its thread, and flags the address', async () => {
    const client = `olga.${run}@client.test`;
    const { original, email } = await replied(client);
    expect(await markOutboundSent(t.db, email.id, '250 2.0.0 Ok: queued')).toBe(true);
    const leads = (await q('SELECT id FROM leads')).length;

    const bounce = await bounceOf(client, email.message_id);
    expect(bounce.meta?.robot).toBe('bounce');
    expect(await router.handle([bounce])).toEqual({ failed: [] });

    const row = (await getOutboundEmailByActivity(t.db, email.activity_id))!;
    expect(row).toMatchObject({
      status: 'failed',
      bounced_recipients: [client],
      last_error: `bounced: ${client}`,
      sent_copy_appended: false,
    });
    expect(row.bounced_at).not.toBeNull();
    expect(row.sent_at).not.toBeNull();
    const out = await activity('id', email.activity_id);
    const dsn = await activity('event_id', bounce.id);
    expect(out.state).toBe('completed');
    expect(out.details.outbound).toMatchObject({
      status: 'failed',
      bounced: [client],
      lastError: `bounced: ${client}`,
      bounceActivityId: Number(dsn.id),
    });
    // The notification joins the conversation of the message it reports on, on the same owner.
    expect(dsn).toMatchObject({
      owner_type: original.owner_type,
      owner_id: original.owner_id,
      thread_ref: out.thread_ref,
      direction: 'inbound',
    });
    expect(out.thread_ref).toBe(original.thread_ref);
    expect((await q('SELECT id FROM leads')).length).toBe(leads);
    const [identity] = await q<{ bouncing: boolean }>('SELECT bouncing FROM identities WHERE value = $1', [
      client,
    ]);
    expect(identity?.bouncing).toBe(true);
    // It went out, so its Sent copy is still filed; a repeated notification changes nothing more.
    expect((await claimMissingSentCopies(t.db, 100, 1_000, 5)).map((r) => r.id)).toContain(email.id);
    await router.handle([await bounceOf(client, email.message_id)]);
    expect((await getOutboundEmailByActivity(t.db, email.activity_id))!.bounced_recipients).toEqual([client]);
  });

  it('a bounce that arrives before the acceptance is recorded keeps the message failed', async () => {
    const client = `petr.${run}@client.test`;
    const { email } = await replied(client);
    expect(email.status).toBe('sending');
    await router.handle([await bounceOf(client, email.message_id)]);
    expect((await getOutboundEmailByActivity(t.db, email.activity_id))!.status).toBe('failed');
    // The sender records SMTP's acceptance late: the message did go out, and it did not arrive.
    expect(await markOutboundSent(t.db, email.id, '250 ok')).toBe(true);
    const row = (await getOutboundEmailByActivity(t.db, email.activity_id))!;
    expect(row).toMatchObject({ status: 'failed', last_error: `bounced: ${client}` });
    expect(row.sent_at).not.toBeNull();
    expect((await activity('id', email.activity_id)).details.outbound).toMatchObject({ status: 'failed' });
  });

  it('a notice that only reports a delay marks nothing failed', async () => {
    const client = `ivan.${run}@client.test`;
    const { email } = await replied(client);
    await markOutboundSent(t.db, email.id, '250 ok');
    const delayed = emailEvent({
      robot: 'bounce',
      messageId: `<delay.${run}@mx.example.test>`,
      bounce: { recipients: [], originalMessageId: email.message_id },
    });
    await router.handle([delayed]);
    expect((await getOutboundEmailByActivity(t.db, email.activity_id))!.status).toBe('sent');
    expect((await activity('event_id', delayed.id)).thread_ref).toBe(
      (await activity('id', email.activity_id)).thread_ref,
    );
  });

  it('a bounce of a message we do not know waits in the queue, threaded on the bounced Message-ID', async () => {
    const foreign = `<elsewhere.${run}@other.test>`;
    const bounce = await bounceOf(`nobody.${run}@client.test`, foreign);
    await router.handle([bounce]);
    expect(await activity('event_id', bounce.id)).toMatchObject({ owner_type: 'queue', thread_ref: foreign });
  });
});
