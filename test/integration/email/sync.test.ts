import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AttachmentMeta } from '../../../connectors/email/attachments.js';
import { createEmailConnector, type EmailConnector } from '../../../connectors/email/index.js';
import { cursorKey, type FolderCursor } from '../../../connectors/email/sync.js';
import { RAW_LIMIT } from '../../../event/inbound-contact.js';
import {
  dropFolders,
  imapClient,
  mailboxSettings,
  mailContext,
  smtp,
  smtpAvailable,
  waitFor,
} from '../../support/mail-harness.js';
import { imapAvailable } from '../../support/services.js';

/** First sync, UIDVALIDITY changes, processed marking, huge and unreadable mail. Owns sales@example.test. */
const USER = 'sales@example.test';
const run = randomBytes(3).toString('hex');
const ok = (await imapAvailable()) && (await smtpAvailable());
const OPTS = { pollIntervalMs: 60_000, socketTimeoutMs: 120_000, reconnectInitialMs: 200 };
const msg = (id: string, subject = id) =>
  `From: Client <c@client.test>\r\nSubject: ${subject}\r\nMessage-ID: <${id}.${run}@client.test>\r\n\r\nhello\r\n`;

describe.skipIf(!ok)('email connector on Dovecot: sync rules and message sizes', () => {
  let connector: EmailConnector | undefined;
  const created: string[] = [];
  afterEach(async () => {
    await connector?.stop();
    connector = undefined;
  });
  afterAll(() => dropFolders(USER, created));
  async function folderWith(name: string, messages: { raw: string; date?: Date }[] = []) {
    created.push(name);
    const c = await imapClient(USER);
    await c.mailboxCreate(name);
    for (const m of messages) await c.append(name, m.raw, [], m.date);
    await c.logout();
  }
  function start(h: ReturnType<typeof mailContext>, over: Parameters<typeof createEmailConnector>[1] = {}) {
    connector = createEmailConnector(h.ctx, { ...OPTS, ...over });
    return connector.start();
  }

  it('first sync takes messages since syncSince only; a UIDVALIDITY change resyncs without new ids', async () => {
    const folder = `sync-${run}`;
    const old = new Date('2020-01-05T10:00:00Z');
    await folderWith(folder, [
      { raw: msg('old-1'), date: old },
      { raw: msg('new-1'), date: new Date() },
      { raw: msg('old-2'), date: old },
      { raw: msg('new-2') },
    ]);
    const h = mailContext();
    const mailbox = mailboxSettings({
      id: 201,
      address: USER,
      folders: [folder],
      syncSince: '2024-01-01T00:00:00Z',
    });
    h.settings.mailboxes = [mailbox];
    const cursor = async () => (await h.cursors.get<FolderCursor>('email', cursorKey(201, folder)))!;
    await start(h);
    await waitFor(
      'the first sync to finish',
      async () => (await cursor())?.resync === undefined && !!(await cursor()),
    );
    expect(h.publisher.events.map((e) => e.content.subject)).toEqual(['new-1', 'new-2']);
    expect((await cursor()).lastUid).toBe(4);
    const firstIds = h.publisher.events.map((e) => e.id);
    const firstValidity = (await cursor()).uidValidity;
    await connector!.stop();

    // Rebuilding the folder gives it a new UIDVALIDITY: every UID the cursor knew is void.
    const c = await imapClient(USER);
    await c.mailboxDelete(folder);
    await c.mailboxCreate(folder);
    for (const id of ['new-1', 'new-2', 'new-3']) await c.append(folder, msg(id));
    await c.logout();
    await start(h);
    await waitFor('the resync', () => h.publisher.events.length >= 5);
    const again = h.publisher.events.slice(2);
    expect(again.map((e) => e.content.subject)).toEqual(['new-1', 'new-2', 'new-3']);
    // The re-read ones carry the same event ids, so downstream drops them as duplicates.
    expect(again.slice(0, 2).map((e) => e.id)).toEqual(firstIds);
    expect((await cursor()).uidValidity).not.toBe(firstValidity);
    expect(h.lines.some((l) => l.msg === 'email: UIDVALIDITY changed, resyncing folder')).toBe(true);
  });

  it.each([
    ['seen', { action: 'seen' } as const],
    ['move', { action: 'move', folder: `done-${run}` } as const],
  ])('processed action %s is applied after publish', async (name, processed) => {
    const folder = `proc-${name}-${run}`;
    await folderWith(folder);
    if (processed.action === 'move') created.push(processed.folder);
    const h = mailContext();
    h.settings.mailboxes = [
      mailboxSettings({ id: 210 + name.length, address: USER, folders: [folder], processed }),
    ];
    await start(h);
    await waitFor('first sync', () => h.cursors.values.size === 1);
    await smtp().sendMail({
      from: 'c@client.test',
      to: `sales+${folder}@example.test`,
      subject: `proc ${name}`,
    });
    await waitFor('publish', () => h.publisher.events.length === 1);
    const c = await imapClient(USER);
    const status = async (path: string) =>
      (await c.status(path, { messages: true, unseen: true })) || { messages: -1, unseen: -1 };
    try {
      if (processed.action === 'seen') {
        await waitFor('\\Seen', async () => (await status(folder)).unseen === 0);
      } else {
        await waitFor('the move', async () => (await status(processed.folder)).messages === 1);
        expect((await status(folder)).messages).toBe(0);
      }
    } finally {
      await c.logout();
    }
  });

  it('a 20 MB message: raw truncated, the big attachment as metadata only', async () => {
    const folder = `big-${run}`;
    await folderWith(folder);
    const h = mailContext();
    h.settings.mailboxes = [
      mailboxSettings({ id: 220, address: USER, folders: [folder], attachmentMaxBytes: 1 << 20 }),
    ];
    await start(h);
    await waitFor('first sync', () => h.cursors.values.size === 1);
    const big = randomBytes(14_800_000); // ~20 MB once base64-encoded
    const small = randomBytes(10_000);
    const rssBefore = process.memoryUsage().rss;
    const t0 = Date.now();
    await smtp().sendMail({
      from: 'Big Sender <big@client.test>',
      to: `sales+${folder}@example.test`,
      subject: 'twenty megabytes',
      text: 'see attached',
      attachments: [
        { filename: 'scan.bin', content: big },
        { filename: 'note.bin', content: small },
      ],
    });
    const sentMs = Date.now() - t0;
    await waitFor('the big message', () => h.publisher.events.length === 1, 90_000);
    const e = h.publisher.events[0]!;
    const size = e.meta?.size as number;
    console.info(
      `email 20 MB: ${(size / 1e6).toFixed(1)} MB message, SMTP+APPEND ${sentMs} ms, published ${Date.now() - t0} ms ` +
        `after send start, rss +${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(0)} MB`,
    );
    expect(size).toBeGreaterThan(20_000_000);
    expect(e.raw).toMatchObject({ contentType: 'message/rfc822', truncated: true });
    expect(e.raw.body.length).toBe(RAW_LIMIT);
    const [a, b] = e.meta!.attachments as AttachmentMeta[];
    expect(a).toMatchObject({ filename: 'scan.bin', size: big.length, omitted: 'too-large' });
    expect(a!.content).toBeUndefined();
    expect(a!.checksum).toBe(createHash('sha256').update(big).digest('hex'));
    expect(b).toMatchObject({ filename: 'note.bin', size: small.length, content: small.toString('base64') });
    expect(e.content.text).toBe('see attached');
  }, 120_000);

  it('a message the parser rejects is published with parseError and its raw source, and logged', async () => {
    const folder = `bad-${run}`;
    const parts = Array.from(
      { length: 1200 },
      (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`,
    );
    await folderWith(folder);
    const h = mailContext();
    h.settings.mailboxes = [mailboxSettings({ id: 230, address: USER, folders: [folder] })];
    await start(h);
    await waitFor('first sync', () => h.cursors.values.size === 1);
    const c = await imapClient(USER);
    const raw = `From: c@client.test\r\nSubject: too many parts\r\nMessage-ID: <bad.${run}@client.test>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts.join('')}--b--\r\n`;
    await c.append(folder, raw);
    await c.append(folder, msg('after-bad'));
    await c.logout();
    await waitFor('both', () => h.publisher.events.length === 2);
    const [bad, next] = h.publisher.events;
    expect(bad!.meta?.parseError).toMatch(/child nodes/);
    expect(bad!.externalId).toBe(`<bad.${run}@client.test>`);
    expect(bad!.raw.body).toContain('part 1199');
    expect(bad!.sender.identities).toEqual([]);
    expect(next!.content.subject).toBe('after-bad');
    expect(h.lines.some((l) => l.level === 50 && l.msg === 'email: unparseable message, published raw')).toBe(
      true,
    );
  });
});
