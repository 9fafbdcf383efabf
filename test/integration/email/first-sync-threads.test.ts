import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../app/config.js';
import { type DemoSeedResult, seedDemo } from '../../../app/demo-seed.js';
import type { Subscription } from '../../../bus/bus.js';
import { createMemoryBus } from '../../../bus/memory-bus.js';
import { createEmailConnector, type EmailConnector } from '../../../connectors/email/index.js';
import type { ActivityRow } from '../../../crm-core/repositories/activity.repository.js';
import {
  channelSettings,
  cursorStore,
  insertMailbox,
} from '../../../crm-core/repositories/channel-settings.repository.js';
import {
  getOutboundEmailByActivity,
  markOutboundSent,
} from '../../../crm-core/repositories/outbound-email.repository.js';
import { createLogger } from '../../../lib/logger.js';
import { createReply } from '../../../outbound/email-reply.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { dropFolders, imapClient, MAIL_PASSWORD, SMTP_PORT, waitFor } from '../../support/mail-harness.js';
import { bounceMail, rawMail } from '../../support/mail-reply.js';
import { testRouter } from '../../support/router.js';
import { IMAP_PORT, imapAvailable, pgAvailable } from '../../support/services.js';

/**
 * A mailbox's first sync through the real IMAP connector (Dovecot) into the router on PostgreSQL, over the
 * in-process bus: the connector publishes the folder's backlog in one batch, so messages and their answers are
 * routed together. Each thread must stay one client; later, a bounce of our reply marks that reply failed.
 * Uses the IMAP user inbox@example.test and a folder of its own per run.
 */
const USER = 'inbox@example.test';
const ready = (await imapAvailable()) && (await pgAvailable());

describe.skipIf(!ready)('email first sync on Dovecot: threads within one batch, then a bounce', () => {
  const run = randomBytes(3).toString('hex');
  const folder = `fst-${run}`;
  const address = `inbox+${folder}@example.test`;
  const logger = createLogger({ level: 'silent' });
  const batches: number[] = [];
  let t: TestDatabase;
  let seed: DemoSeedResult;
  let subscription: Subscription;
  let connector: EmailConnector;
  let closeBus: () => Promise<void>;
  const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.query<R>(sql, params)).rows;
  const byMessageId = async (id: string) =>
    (await q<ActivityRow>('SELECT * FROM activities WHERE message_id = $1', [id]))[0];
  const mid = (name: string) => `<${name}.${run}@client.test>`;
  const client = (name: string) => `${name}.${run}@client.test`;

  beforeAll(async () => {
    t = await createTestPg();
    seed = (await seedDemo(t.db))!;
    // The backlog is in the folder before the mailbox is added: the connector's first sync takes it all.
    const hour = 3_600_000;
    const mails = [
      // Thread A in the usual order; thread B with the answer filed first (moved in later by a mail rule).
      { from: client('olga'), messageId: mid('a1'), date: new Date(Date.now() - 3 * hour) },
      { from: client('olga.home'), messageId: mid('a2'), inReplyTo: mid('a1'), references: [mid('a1')] },
      { from: client('petr.mobile'), messageId: mid('b2'), inReplyTo: mid('b1'), references: [mid('b1')] },
      { from: client('petr'), messageId: mid('b1'), date: new Date(Date.now() - 2 * hour) },
    ];
    const imap = await imapClient(USER);
    try {
      await imap.mailboxCreate(folder);
      for (const m of mails)
        await imap.append(folder, await rawMail({ to: address, subject: 'Order', text: 'Hello', ...m }));
    } finally {
      await imap.logout();
    }
    await insertMailbox(t.db, {
      name: 'First sync',
      address,
      imap: { host: '127.0.0.1', port: IMAP_PORT, secure: false, user: USER, password: MAIL_PASSWORD },
      smtp: { host: '127.0.0.1', port: SMTP_PORT, secure: false },
      folders: [folder],
      syncSince: new Date(Date.now() - 86_400_000).toISOString(),
      processed: { action: 'none' },
      attachmentMaxBytes: 1 << 20,
      active: true,
    });
    const router = testRouter(t.db, logger);
    const bus = createMemoryBus({ logger });
    closeBus = () => bus.close();
    subscription = await bus.subscribe(async (events) => {
      batches.push(events.length);
      return router.handle(events);
    });
    connector = createEmailConnector(
      {
        config: loadConfig({ LOG_LEVEL: 'silent' }),
        logger,
        bus,
        settings: channelSettings(t.db),
        cursors: cursorStore(t.db),
      },
      { pollIntervalMs: 60_000, socketTimeoutMs: 120_000, refreshIntervalMs: 300, reconnectInitialMs: 200 },
    );
    await connector.start();
  }, 60_000);

  afterAll(async () => {
    await connector?.stop();
    await subscription?.stop();
    await closeBus?.();
    await t?.drop();
    await dropFolders(USER, [folder]);
  }, 60_000);

  it('routes the backlog in one batch and keeps each thread one client, whatever the order in the folder', async () => {
    await waitFor(
      'the backlog routed',
      async () => (await q("SELECT id FROM activities WHERE type = 'email'")).length === 4,
      20_000,
    );
    expect(batches).toEqual([4]);
    const acts = Object.fromEntries(
      await Promise.all(
        ['a1', 'a2', 'b1', 'b2'].map(async (n) => [n, (await byMessageId(mid(n)))!] as const),
      ),
    );
    const owner = (a: ActivityRow) => `${a.owner_type}:${a.owner_id}`;
    expect(acts.a1!.owner_type).toBe('lead');
    expect(owner(acts.a2!)).toBe(owner(acts.a1!));
    expect(owner(acts.b2!)).toBe(owner(acts.b1!));
    expect(owner(acts.b1!)).not.toBe(owner(acts.a1!));
    expect(await q('SELECT id FROM leads')).toHaveLength(2);
    const ids = await q<{ value: string; owner_id: number }>(
      `SELECT value, owner_id FROM identities WHERE kind = 'email'`,
    );
    expect(new Map(ids.map((i) => [i.value, i.owner_id]))).toEqual(
      new Map([
        [client('olga.home'), acts.a1!.owner_id],
        [client('olga'), acts.a1!.owner_id],
        [client('petr.mobile'), acts.b1!.owner_id],
        [client('petr'), acts.b1!.owner_id],
      ]),
    );
  });

  it('a bounce of our reply, arriving through IMAP, marks the reply failed and joins its thread', async () => {
    const question = (await byMessageId(mid('a1')))!;
    const { email } = await createReply(
      t.db,
      { activityId: question.id, operatorId: seed.operators[0]!.id, text: 'Your order ships today.' },
      { leaseMs: 60_000 },
    );
    await markOutboundSent(t.db, email.id, '250 2.0.0 Ok: queued');
    const dsnId = `<dsn.${run}@mx.example.test>`;
    const imap = await imapClient(USER);
    try {
      await imap.append(
        folder,
        bounceMail({
          mailbox: address,
          recipient: client('olga'),
          originalMessageId: email.message_id,
          messageId: dsnId,
        }),
      );
    } finally {
      await imap.logout();
    }
    await waitFor('the bounce routed', async () => !!(await byMessageId(dsnId)), 20_000);
    const row = (await getOutboundEmailByActivity(t.db, email.activity_id))!;
    expect(row).toMatchObject({ status: 'failed', bounced_recipients: [client('olga')] });
    const dsn = (await byMessageId(dsnId))!;
    expect(dsn).toMatchObject({
      owner_type: question.owner_type,
      owner_id: question.owner_id,
      thread_ref: question.thread_ref,
    });
    expect(await q('SELECT id FROM leads')).toHaveLength(2);
  });
});
