import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailConnector, type EmailConnector } from '../../../connectors/email/index.js';
import { cursorKey, type FolderCursor } from '../../../connectors/email/sync.js';
import {
  dovecot,
  dropFolders,
  imapClient,
  mailboxSettings,
  mailContext,
  smtp,
  smtpAvailable,
  waitFor,
} from '../../support/mail-harness.js';
import { imapAvailable } from '../../support/services.js';

/**
 * Real mail end to end: nodemailer -> SMTP sink -> Dovecot -> IMAP IDLE -> connector -> publisher.
 * This file owns the IMAP user support@example.test (it kicks it); each run uses folders of its own.
 */
const USER = 'support@example.test';
const run = randomBytes(3).toString('hex');
const ok = (await imapAvailable()) && (await smtpAvailable());
// A poll interval far above every wait below: mail that arrives in time came through IDLE.
const OPTS = {
  pollIntervalMs: 60_000,
  socketTimeoutMs: 120_000,
  refreshIntervalMs: 300,
  reconnectInitialMs: 200,
};

describe.skipIf(!ok)('email connector on Dovecot: delivery, restarts, reconnects', () => {
  const folder = `it-${run}`;
  const h = mailContext();
  const mailbox = mailboxSettings({ id: 101, address: USER, folders: [folder] });
  const key = `email/${cursorKey(mailbox.id, folder)}`;
  let connector: EmailConnector;
  const send = (subject: string, extra: Record<string, unknown> = {}) =>
    smtp().sendMail({
      from: 'Клиент Тестовый <client@client.test>',
      to: `support+${folder}@example.test`,
      subject,
      text: `body of ${subject}`,
      ...extra,
    });

  beforeAll(async () => {
    const c = await imapClient(USER);
    await c.mailboxCreate(folder);
    // Mail already in the folder before the first sync: without syncSince it must be left alone.
    await c.append(
      folder,
      'From: old@client.test\r\nSubject: before-start\r\nMessage-ID: <old@x>\r\n\r\nold\r\n',
    );
    await c.logout();
    h.settings.mailboxes = [mailbox];
    connector = createEmailConnector(h.ctx, OPTS);
    await connector.start();
    await waitFor('first sync', () => h.cursors.values.has(key));
  });
  afterAll(async () => {
    await connector?.stop();
    await dropFolders(USER, [folder, `${folder}-added`]);
  });

  it('mail sent over SMTP is published through IDLE, within seconds', async () => {
    const started = Date.now();
    for (const n of [1, 2, 3]) await send(`hello ${n}`);
    await waitFor('3 events', () => h.publisher.events.length >= 3);
    const latencyMs = Date.now() - started;
    console.info(`email IDLE delivery: 3 messages published ${latencyMs} ms after the first SMTP send`);
    expect(h.publisher.events.map((e) => e.content.subject)).toEqual(['hello 1', 'hello 2', 'hello 3']);
    const e = h.publisher.events[0]!;
    expect(e.sender).toEqual({
      name: 'Клиент Тестовый',
      identities: [{ kind: 'email', value: 'client@client.test', valid: true }],
    });
    expect(e.source).toEqual({ type: 'mailbox', key: USER, name: mailbox.name });
    expect(e.meta).toMatchObject({ mailboxId: 101, folder, uid: 2 });
    expect(e.thread?.messageId).toMatch(/^<.+@client\.test>$/);
    expect(e.raw.body).toContain('Return-Path: <client@client.test>');
    expect(h.publisher.bySubject('before-start')).toEqual([]);
  });

  it('our own outbound copy is skipped, and the cursor moves past it', async () => {
    await send('own copy', { headers: { 'X-Contact-Ingest-Outbound': '1' } });
    await send('after own copy');
    await waitFor('the next message', () => h.publisher.bySubject('after own copy').length === 1);
    expect(h.publisher.bySubject('own copy')).toEqual([]);
    expect(
      ((await h.cursors.get<FolderCursor>('email', cursorKey(101, folder))) as FolderCursor).lastUid,
    ).toBe(6);
  });

  it('restart mid-stream: nothing lost, nothing repeated', async () => {
    const before = h.publisher.events.length;
    await connector.stop();
    // 30 messages while stopped, read back in batches of 5; stop again after some of them.
    const c = await imapClient(USER);
    for (let i = 0; i < 30; i++) {
      await c.append(
        folder,
        `From: a${i}@client.test\r\nSubject: batch ${i}\r\nMessage-ID: <b${i}.${run}@x>\r\n\r\nx\r\n`,
      );
    }
    await c.logout();
    connector = createEmailConnector(h.ctx, { ...OPTS, batchSize: 5 });
    await connector.start();
    await waitFor('some of the batch', () => h.publisher.events.length >= before + 8);
    await connector.stop();
    const midway = h.publisher.events.length - before;
    await send('while stopped');
    connector = createEmailConnector(h.ctx, OPTS);
    await connector.start();
    await waitFor('all 31', () => h.publisher.events.length >= before + 31);
    await new Promise((r) => setTimeout(r, 500)); // a repeat, if any, would show up by now
    const ids = h.publisher.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(before + 31);
    expect(midway).toBeGreaterThanOrEqual(8);
    expect(midway).toBeLessThan(31);
  });

  it('a dropped connection (doveadm kick) is re-established and mail keeps coming', async () => {
    const opened = () => h.lines.filter((l) => l.msg === 'email: folder open').length;
    const sessions = opened();
    dovecot(['kick', USER]);
    await waitFor('a new session', () => opened() > sessions);
    await send('after kick');
    await waitFor('mail after the kick', () => h.publisher.bySubject('after kick').length === 1);
    expect(h.lines.some((l) => l.msg === 'email: reconnecting')).toBe(true);
  });

  it('a publish failure is retried before the cursor moves', async () => {
    h.publisher.failNext = 2;
    await send('bus hiccup');
    await waitFor('the retried publish', () => h.publisher.bySubject('bus hiccup').length === 1);
    expect(h.lines.filter((l) => l.msg === 'email: publish failed, retrying')).toHaveLength(2);
  });

  it('a mailbox added to the settings starts without a restart, and stops when deactivated', async () => {
    const folder2 = `${folder}-added`;
    const c = await imapClient(USER);
    await c.mailboxCreate(folder2);
    await c.logout();
    const added = mailboxSettings({ id: 102, address: USER, folders: [folder2] });
    h.settings.mailboxes = [mailbox, added];
    await waitFor('the new folder synced', () => h.cursors.values.has(`email/${cursorKey(102, folder2)}`));
    await smtp().sendMail({
      from: 'x@client.test',
      to: `support+${folder2}@example.test`,
      subject: 'to added',
    });
    await waitFor('mail in the added mailbox', () => h.publisher.bySubject('to added').length === 1);
    expect(h.publisher.bySubject('to added')[0]!.meta?.mailboxId).toBe(102);

    h.settings.mailboxes = [mailbox, { ...added, active: false }];
    const closes = () => h.lines.filter((l) => l.mailboxId === 102 && l.msg === 'email: folder open').length;
    await new Promise((r) => setTimeout(r, 1_000)); // a refresh or two
    await smtp().sendMail({
      from: 'x@client.test',
      to: `support+${folder2}@example.test`,
      subject: 'to inactive',
    });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.publisher.bySubject('to inactive')).toEqual([]);
    expect(closes()).toBe(1);
  });
});
