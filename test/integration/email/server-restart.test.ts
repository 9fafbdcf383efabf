import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailConnector, type EmailConnector } from '../../../connectors/email/index.js';
import {
  dovecot,
  dropFolders,
  imapClient,
  mailboxSettings,
  mailContext,
  waitFor,
} from '../../support/mail-harness.js';
import { imapAvailable } from '../../support/services.js';

/**
 * Server restarts and outages, on a Dovecot instance of this file's own (port 10144), so that stopping the
 * server does not pull it from under the other suites that share the main one.
 */
const INSTANCE = { name: 'restart-test', port: Number(process.env.TEST_IMAP_RESTART_PORT ?? 10144) };
const USER = 'inbox@example.test';
const run = randomBytes(3).toString('hex');
const ok = await imapAvailable(); // the main instance up means Dovecot is installed and configured
const msg = (id: string) =>
  `From: c@client.test\r\nSubject: ${id}\r\nMessage-ID: <${id}.${run}@client.test>\r\n\r\nx\r\n`;

describe.skipIf(!ok)('email connector survives Dovecot restarts and outages', () => {
  const folder = `restart-${run}`;
  const h = mailContext();
  let connector: EmailConnector;
  const append = async (id: string) => {
    const c = await imapClient(USER, INSTANCE.port);
    await c.append(folder, msg(id));
    await c.logout();
  };
  const opened = () => h.lines.filter((l) => l.msg === 'email: folder open').length;

  beforeAll(async () => {
    dovecot(['start-imap'], INSTANCE);
    const c = await imapClient(USER, INSTANCE.port);
    await c.mailboxCreate(folder);
    await c.logout();
    h.settings.mailboxes = [
      mailboxSettings({
        id: 301,
        address: USER,
        folders: [folder],
        imap: { host: '127.0.0.1', port: INSTANCE.port, secure: false, user: USER, password: 'secret' },
      }),
    ];
    connector = createEmailConnector(h.ctx, {
      pollIntervalMs: 60_000,
      socketTimeoutMs: 120_000,
      reconnectInitialMs: 200,
      reconnectMaxMs: 2_000,
    });
    await connector.start();
    await waitFor('first sync', () => h.cursors.values.size === 1);
  });
  afterAll(async () => {
    await connector?.stop();
    await dropFolders(USER, [folder], INSTANCE.port).catch(() => undefined);
    dovecot(['stop'], INSTANCE);
  });

  it('a restart: the connector reconnects and carries on from its cursor', async () => {
    await append('before-restart');
    await waitFor('first message', () => h.publisher.events.length === 1);
    const sessions = opened();
    dovecot(['restart'], INSTANCE);
    await waitFor('a new session', () => opened() > sessions, 30_000);
    await append('after-restart');
    await waitFor('second message', () => h.publisher.events.length === 2);
    expect(h.publisher.events.map((e) => e.content.subject)).toEqual(['before-restart', 'after-restart']);
  }, 60_000); // Dovecot lets a running IMAP process finish up to ~10 s after its master restarted

  it('an outage of a few seconds: retries back off, mail sent meanwhile is not lost', async () => {
    const sessions = opened();
    dovecot(['stop'], INSTANCE);
    await waitFor(
      'failed reconnects',
      () => h.lines.filter((l) => l.msg === 'email: reconnecting').length >= 4,
      30_000,
    );
    dovecot(['start-imap'], INSTANCE);
    await append('after-outage'); // before the connector is back: found by its first sync
    await waitFor('a new session', () => opened() > sessions, 30_000);
    await waitFor('the message', () => h.publisher.events.length === 3);
    const attempts = h.lines.filter((l) => l.msg === 'email: reconnecting').map((l) => l.attempt as number);
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(3);
    const ids = h.publisher.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(3);
  }, 60_000);
});
