import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { MailboxSettings } from '../channels/settings.js';
import type { Logger } from '../lib/logger.js';

/**
 * The email transport of the outbound channel: SMTP submission with nodemailer, and the Sent-folder copy over
 * IMAP with imapflow. No database here: outbound/outbox-worker.ts decides when to call what.
 */

/** A mailbox's `smtp` settings. `sentFolder` is optional; without it the folder flagged \Sent, else "Sent". */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  sentFolder?: string;
}
export type ImapSettings = MailboxSettings['imap'];

export interface SmtpResult {
  /** The server's final reply to DATA, e.g. "250 2.0.0 Ok: queued as 4F2C". */
  response: string;
  accepted: string[];
  rejected: string[];
}

export interface EmailSender {
  /** Submits the raw message. Resolves once the server accepted it for at least one recipient. */
  send(smtp: SmtpSettings, envelope: { from: string; to: string[] }, raw: string): Promise<SmtpResult>;
  /** Files the raw message in the Sent folder (\Seen), creating the folder if needed; returns the folder. */
  appendToSent(imap: ImapSettings, sentFolder: string | undefined, raw: string): Promise<string>;
  /** Is a message with this Message-ID in the Sent folder? (A missing folder holds nothing.) */
  isInSent(imap: ImapSettings, sentFolder: string | undefined, messageId: string): Promise<boolean>;
}

export interface EmailSenderOptions {
  /** TCP (+TLS) connect and the server's greeting, each. */
  connectionTimeoutMs?: number;
  /** Silence on an open connection after which it is given up. */
  socketTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Whether an SMTP failure is worth retrying. Permanent: a 5xx refusal of the message or its recipients (550 no
 * such user, 552/554 rejected content). Everything else is retried: connection problems, timeouts, 4xx, and
 * authentication or TLS-policy refusals (530/534/535/538), which an administrator can fix in the settings.
 */
export function classifySmtpError(err: unknown): { permanent: boolean; message: string } {
  const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
  const message = (e?.response || e?.message || String(err)).replace(/\s+/g, ' ').slice(0, 1000);
  const code = e?.responseCode;
  const authOrTls = e?.code === 'EAUTH' || e?.code === 'ETLS' || [530, 534, 535, 538].includes(code ?? 0);
  return { permanent: typeof code === 'number' && code >= 500 && code < 600 && !authOrTls, message };
}

export function createEmailSender(opts: EmailSenderOptions = {}): EmailSender {
  const connectionTimeout = opts.connectionTimeoutMs ?? 10_000;
  const socketTimeout = opts.socketTimeoutMs ?? 30_000;

  async function imap<T>(settings: ImapSettings, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
    const client = new ImapFlow({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: { user: settings.user, pass: settings.password },
      logger: false,
      connectionTimeout,
      greetingTimeout: connectionTimeout,
      socketTimeout,
      disableAutoIdle: true,
      clientInfo: { name: 'contact-ingest' },
    });
    // imapflow emits at most one 'error' per connection and closes it; without a listener it would crash us.
    client.on('error', (err: Error) => opts.logger?.debug({ err }, 'outbound: IMAP connection error'));
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  /** The configured folder, else the one the server flags \Sent (RFC 6154), else "Sent". */
  async function sentFolderOf(client: ImapFlow, configured: string | undefined) {
    const list = await client.list();
    const path =
      configured ??
      list.find((f) => f.specialUse === '\\Sent')?.path ??
      list.find((f) => f.path === 'Sent')?.path;
    const name = path ?? 'Sent';
    return { path: name, exists: list.some((f) => f.path === name) };
  }

  return {
    async send(smtp, envelope, raw) {
      const transport = nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
        connectionTimeout,
        greetingTimeout: connectionTimeout,
        socketTimeout,
        // One message, one connection: nothing is kept open between replies.
        pool: false,
      });
      try {
        const info = await transport.sendMail({ envelope, raw });
        return {
          response: String(info.response ?? ''),
          accepted: (info.accepted ?? []).map(String),
          rejected: (info.rejected ?? []).map(String),
        };
      } finally {
        transport.close();
      }
    },

    appendToSent: (settings, sentFolder, raw) =>
      imap(settings, async (client) => {
        const folder = await sentFolderOf(client, sentFolder);
        if (!folder.exists) await client.mailboxCreate(folder.path).catch(() => undefined); // created meanwhile
        const r = await client.append(folder.path, raw, ['\\Seen']);
        if (!r) throw new Error(`IMAP APPEND to ${folder.path} failed`);
        return folder.path;
      }),

    isInSent: (settings, sentFolder, messageId) =>
      imap(settings, async (client) => {
        const folder = await sentFolderOf(client, sentFolder);
        if (!folder.exists) return false;
        await client.mailboxOpen(folder.path, { readOnly: true });
        // SEARCH HEADER is a substring match: the id with its brackets matches nothing but itself.
        const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
        return Array.isArray(uids) && uids.length > 0;
      }),
  };
}
