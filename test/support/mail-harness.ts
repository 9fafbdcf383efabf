import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { loadConfig } from '../../app/config.js';
import type { CursorStore, MailboxSettings } from '../../channels/settings.js';
import type { ConnectorContext } from '../../connectors/contract.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { createLogger } from '../../lib/logger.js';
import {
  MemoryChannelSettings,
  RecordingPublisher as SharedRecordingPublisher,
} from './connector-doubles.js';
import { IMAP_PORT, requireService } from './services.js';

/**
 * The email connector's narrow seams, in memory, for integration tests against the real Dovecot and SMTP sink
 * started by scripts/dovecot.sh. Only what the connector is allowed to touch is faked here; IMAP and SMTP are real.
 */
export const SMTP_PORT = Number(process.env.TEST_SMTP_PORT ?? 10025);
export const DOVECOT_SCRIPT = fileURLToPath(new URL('../../scripts/dovecot.sh', import.meta.url));
/** Users of scripts/dovecot.sh, password "secret". */
export const MAIL_PASSWORD = 'secret';

export const smtpAvailable = () => requireService('SMTP sink', `127.0.0.1:${SMTP_PORT}`);

export class MemoryCursors implements CursorStore {
  readonly values = new Map<string, unknown>();
  async get<T>(connector: string, key: string) {
    return structuredClone(this.values.get(`${connector}/${key}`)) as T | undefined;
  }
  async set(connector: string, key: string, value: unknown) {
    this.values.set(`${connector}/${key}`, structuredClone(value));
  }
}

/** The shared recording publisher, plus `failNext`: the next calls reject like an unavailable bus. */
export class RecordingPublisher extends SharedRecordingPublisher {
  failNext = 0;
  override async publish(events: InboundContact[]) {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('bus down'), { retriable: true });
    }
    await super.publish(events);
  }
  bySubject(subject: string) {
    return this.events.filter((e) => e.content.subject === subject);
  }
}

/** A real pino logger whose JSON lines are kept, so tests can assert on what the connector logged. */
export function recordingLogger(level = 'info') {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger({ level }, sink), lines };
}

export function mailContext(publisher = new RecordingPublisher(), level = 'info') {
  const { logger, lines } = recordingLogger(level);
  const settings = new MemoryChannelSettings();
  const cursors = new MemoryCursors();
  const ctx: ConnectorContext = {
    config: loadConfig({ LOG_LEVEL: 'silent' }),
    logger,
    bus: publisher,
    settings,
    cursors,
  };
  return { ctx, settings, cursors, publisher, lines };
}

export function mailboxSettings(
  over: Partial<MailboxSettings> & Pick<MailboxSettings, 'id' | 'address'>,
): MailboxSettings {
  return {
    name: `Test mailbox ${over.id}`,
    imap: { host: '127.0.0.1', port: IMAP_PORT, secure: false, user: over.address, password: MAIL_PASSWORD },
    folders: ['INBOX'],
    processed: { action: 'none' },
    attachmentMaxBytes: 1024 * 1024,
    active: true,
    ...over,
  };
}

export async function imapClient(user: string, port = IMAP_PORT): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    auth: { user, pass: MAIL_PASSWORD },
    logger: false,
  });
  await client.connect();
  return client;
}

/** Test folders are deleted afterwards: a 20 MB message per run would otherwise pile up in .run/dovecot. */
export async function dropFolders(user: string, folders: string[], port = IMAP_PORT): Promise<void> {
  const client = await imapClient(user, port);
  try {
    for (const f of folders) await client.mailboxDelete(f).catch(() => undefined);
  } finally {
    await client.logout();
  }
}

export const smtp = () =>
  nodemailer.createTransport({ host: '127.0.0.1', port: SMTP_PORT, secure: false, ignoreTLS: true });

/**
 * scripts/dovecot.sh kick|restart|...: simulates dropped connections and server restarts. `instance` targets a
 * separate Dovecot (own port and maildir), for tests that restart their server without disturbing other suites.
 */
export function dovecot(args: string[], instance?: { name: string; port: number }): string {
  const env = instance
    ? { ...process.env, DOVECOT_INSTANCE: instance.name, IMAP_PORT: String(instance.port) }
    : process.env;
  return execFileSync('bash', [DOVECOT_SCRIPT, ...args], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}
