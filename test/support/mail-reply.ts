import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { MailboxSettings } from '../../channels/settings.js';
import { normaliseMessage } from '../../connectors/email/normalise.js';
import { DEFAULT_OPTIONS } from '../../connectors/email/options.js';
import { readMessage } from '../../connectors/email/read-message.js';
import type { Queryable } from '../../crm-core/db/database.js';
import { getMailbox, insertMailbox } from '../../crm-core/repositories/channel-settings.repository.js';
import { buildInboundContact } from '../../event/build.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { imapClient } from './mail-harness.js';

/** Helpers for the reply tests: what arrived in a folder, real mail turned into events, a port nobody listens on. */

export interface FolderMessage {
  uid: number;
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  subject?: string;
  from?: string;
  to: string[];
  text?: string;
  outboundHeader?: string;
  raw: string;
}

/** Every message of a folder, parsed; a folder that does not exist (yet) is empty. */
export async function messagesIn(user: string, folder: string): Promise<FolderMessage[]> {
  const client = await imapClient(user);
  try {
    const list = await client.list();
    if (!list.some((f) => f.path === folder)) return [];
    await client.mailboxOpen(folder, { readOnly: true });
    const out: FolderMessage[] = [];
    for await (const m of client.fetch('1:*', { uid: true, source: true })) {
      if (!m.source) continue;
      const p = await simpleParser(m.source);
      const refs = p.references;
      out.push({
        uid: m.uid,
        messageId: p.messageId,
        inReplyTo: p.inReplyTo,
        references: Array.isArray(refs) ? refs : refs ? refs.split(/\s+/) : [],
        subject: p.subject,
        from: p.from?.value[0]?.address,
        to: (Array.isArray(p.to) ? p.to : p.to ? [p.to] : []).flatMap((a) =>
          a.value.map((v) => v.address ?? ''),
        ),
        text: p.text,
        outboundHeader: p.headers.get('x-contact-ingest-outbound') as string | undefined,
        raw: m.source.toString('utf8'),
      });
    }
    return out;
  } finally {
    await client.logout();
  }
}

export async function createFolders(user: string, folders: string[]): Promise<void> {
  const client = await imapClient(user);
  try {
    for (const f of folders) await client.mailboxCreate(f).catch(() => undefined);
  } finally {
    await client.logout();
  }
}

/**
 * A mailbox in crm-core that nothing watches (its mail is given to the router as connectorEvent builds it), with
 * the SMTP sink's settings so replies can be written for it.
 */
export async function storedMailbox(db: Queryable, address: string): Promise<MailboxSettings> {
  const id = await insertMailbox(db, {
    name: 'Sales',
    address,
    imap: { host: '127.0.0.1', port: 10143, secure: false, user: 'sales@example.test', password: 'secret' },
    smtp: { host: '127.0.0.1', port: 10025, secure: false },
    folders: ['INBOX'],
    processed: { action: 'none' },
    attachmentMaxBytes: 1 << 20,
    active: false,
  });
  return (await getMailbox(db, id))!;
}

/** A loopback port with nothing listening: SMTP "down". */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A raw RFC 5322 message, composed by nodemailer the way a client's mail program would send it. */
export async function rawMail(mail: SendMailOptions): Promise<string> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'crlf' });
  const info = await t.sendMail(mail);
  return (info.message as Buffer).toString('utf8');
}

/**
 * A Postfix delivery-status notification (the unit fixture dsn-postfix.eml: one recipient failed, one delayed)
 * reporting that `originalMessageId`, sent by `mailbox`, could not be delivered to `recipient`. CRLF line ends.
 */
export function bounceMail(o: {
  mailbox: string;
  recipient: string;
  originalMessageId: string;
  messageId: string;
}): string {
  return readFileSync(new URL('../unit/email/fixtures/dsn-postfix.eml', import.meta.url), 'utf8')
    .replaceAll('<ci.lt8x2k1.0a1b2c3d4e5f6a7b@crm.example.test>', o.originalMessageId)
    .replaceAll('<20240317080005.4Xk2Lq0FzNz9vG@mx.example.test>', o.messageId)
    .replaceAll('no-such-user@client.test', o.recipient)
    .replaceAll('sales@example.test', o.mailbox)
    .replace(/^Date: .*$/m, `Date: ${new Date().toUTCString()}`) // the report's own date: now
    .replace(/\r?\n/g, '\r\n');
}

/**
 * The event the email connector publishes for this message in this mailbox folder: the connector's own parsing
 * and normalisation (read-message.ts, normalise.ts), without the IMAP download around them.
 */
export async function connectorEvent(
  raw: string,
  mailbox: MailboxSettings,
  folder: string,
  uid: number,
): Promise<InboundContact> {
  const read = await readMessage(Readable.from([Buffer.from(raw, 'utf8')]));
  if (!('parsed' in read)) throw new Error('unparseable test message');
  const now = new Date();
  const draft = normaliseMessage(read.parsed, read.raw, { mailbox, folder, uid }, DEFAULT_OPTIONS, now);
  return buildInboundContact(draft, { defaultCountry: 'RU', now });
}
