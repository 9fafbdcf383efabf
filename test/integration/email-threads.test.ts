import { randomBytes } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import type { MailboxSettings } from '../../channels/settings.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import type { Router } from '../../router/router.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { connectorEvent, rawMail, storedMailbox } from '../support/mail-reply.js';
import { testRouter } from '../support/router.js';
import { pgAvailable } from '../support/services.js';

/**
 * Email threading inside one batch, on PostgreSQL: a mailbox's first sync (or mail that queued while the service
 * was down) routes a message and its answers together. Events are the email connector's own normalisation of
 * real RFC 5322 messages (test/support/mail-reply.ts connectorEvent).
 */
const available = await pgAvailable();

describe.skipIf(!available)('email threads within one batch (PostgreSQL)', () => {
  const run = randomBytes(3).toString('hex');
  let t: TestDatabase;
  let router: Router;
  let box: MailboxSettings;
  let uid = 1;
  const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.query<R>(sql, params)).rows;
  const id = (name: string) => `<${name}.${run}@client.test>`;
  const address = (name: string) => `${name}.${run}@client.test`;
  /** A client's message in the mailbox, as the connector publishes it. */
  const mail = async (m: SendMailOptions): Promise<InboundContact> =>
    connectorEvent(
      await rawMail({ to: box.address, subject: 'Question', text: 'Hello', ...m }),
      box,
      'INBOX',
      uid++,
    );
  const activityOf = async (e: InboundContact) =>
    (
      await q<{ owner_type: string; owner_id: number; thread_ref: string }>(
        'SELECT owner_type, owner_id, thread_ref FROM activities WHERE event_id = $1',
        [e.id],
      )
    )[0];
  const ownersOf = async (addresses: string[]) =>
    q<{ value: string; owner_type: string; owner_id: number }>(
      'SELECT value, owner_type, owner_id FROM identities WHERE value = ANY($1::text[]) ORDER BY value',
      [addresses],
    );
  const leadCount = async () => (await q<{ n: number }>('SELECT count(*)::int AS n FROM leads'))[0]!.n;

  beforeAll(async () => {
    t = await createTestPg();
    await seedDemo(t.db);
    router = testRouter(t.db);
    box = await storedMailbox(t.db, `sales.${run}@example.test`);
  });
  afterAll(async () => {
    await t?.drop();
  });

  for (const order of ['message first', 'answer first'] as const) {
    it(`a message and its answer from another address, in one batch (${order}): one lead, one thread`, async () => {
      const tag = order === 'message first' ? 'mf' : 'af';
      const question = await mail({ from: address(`olga-${tag}`), messageId: id(`q-${tag}`) });
      const answer = await mail({
        from: address(`olga-home-${tag}`),
        messageId: id(`a-${tag}`),
        inReplyTo: id(`q-${tag}`),
        references: [id(`q-${tag}`)],
        subject: 'Re: Question',
      });
      const before = await leadCount();
      const batch = order === 'message first' ? [question, answer] : [answer, question];
      expect(await router.handle(batch)).toEqual({ failed: [] });

      expect(await leadCount()).toBe(before + 1);
      const [q1, a1] = [await activityOf(question), await activityOf(answer)];
      expect(q1?.owner_type).toBe('lead');
      expect(a1).toEqual({ ...q1, thread_ref: id(`q-${tag}`) });
      // The answer's address is learned as the same client's, as it is when the two come in separate batches.
      const owners = await ownersOf([address(`olga-${tag}`), address(`olga-home-${tag}`)]);
      expect(owners.map((o) => o.owner_id)).toEqual([q1!.owner_id, q1!.owner_id]);
    });
  }

  it('a reply chain routed newest first in one batch still makes one lead', async () => {
    const [m1, m2, m3] = [id('c1'), id('c2'), id('c3')];
    const events = [
      await mail({ from: address('chain-a'), messageId: m1 }),
      await mail({ from: address('chain-b'), messageId: m2, inReplyTo: m1, references: [m1] }),
      await mail({ from: address('chain-c'), messageId: m3, inReplyTo: m2, references: [m1, m2] }),
    ];
    const before = await leadCount();
    await router.handle(events.slice().reverse());
    expect(await leadCount()).toBe(before + 1);
    const owners = new Set(
      (await Promise.all(events.map(activityOf))).map((a) => `${a?.owner_type}:${a?.owner_id}`),
    );
    expect(owners.size).toBe(1);
  });

  it('an answer ahead of a known client’s message in the batch joins that client, not a new lead', async () => {
    const [contact] = await q<{ id: number }>(`INSERT INTO contacts (name) VALUES ('Known') RETURNING id`);
    await q(
      `INSERT INTO identities (kind, value, owner_type, owner_id) VALUES ('email', $1, 'contact', $2)`,
      [address('known'), contact!.id],
    );
    const question = await mail({ from: address('known'), messageId: id('k1') });
    const answer = await mail({
      from: address('known-private'),
      messageId: id('k2'),
      inReplyTo: id('k1'),
      references: [id('k1')],
    });
    const before = await leadCount();
    await router.handle([answer, question]);
    expect(await leadCount()).toBe(before);
    for (const e of [question, answer])
      expect(await activityOf(e)).toMatchObject({ owner_type: 'contact', owner_id: contact!.id });
    expect((await ownersOf([address('known-private')]))[0]).toMatchObject({
      owner_type: 'contact',
      owner_id: contact!.id,
    });
  });

  it('a message whose thread parent in the batch went to the queue falls back to its sender', async () => {
    const robot = await mail({
      from: `mailer-daemon.${run}@mx.test`,
      messageId: id('r1'),
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    const reply = await mail({ from: address('after-robot'), messageId: id('r2'), inReplyTo: id('r1') });
    expect(robot.meta?.robot).toBeDefined();
    await router.handle([reply, robot]);
    expect(await activityOf(robot)).toMatchObject({ owner_type: 'queue' });
    const r = await activityOf(reply);
    expect(r?.owner_type).toBe('lead');
    expect((await ownersOf([address('after-robot')]))[0]?.owner_id).toBe(r!.owner_id);
  });
});
