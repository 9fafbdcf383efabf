import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ParsedMail } from 'mailparser';
import type { MailboxSettings } from '../../../channels/settings.js';
import type { RawSource } from '../../../connectors/email/normalise.js';
import { readMessage } from '../../../connectors/email/read-message.js';

export const fixturePath = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** Fixtures are stored with LF; on the wire mail has CRLF line ends, so that is what the parser is given. */
export function fixtureBytes(name: string): Buffer {
  return Buffer.from(readFileSync(fixturePath(name), 'latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

export async function readFixture(name: string): Promise<{ parsed: ParsedMail; raw: RawSource }> {
  const r = await readMessage(Readable.from([fixtureBytes(name)]));
  if (!('parsed' in r)) throw new Error(`fixture ${name} did not parse: ${String(r.parseError)}`);
  return r;
}

export const MAILBOX: MailboxSettings = {
  id: 7,
  name: 'Sales',
  address: 'sales@example.test',
  imap: { host: '127.0.0.1', port: 10143, secure: false, user: 'sales@example.test', password: 'secret' },
  folders: ['INBOX'],
  processed: { action: 'none' },
  attachmentMaxBytes: 1024,
  active: true,
};

export const LIMITS = { textMaxChars: 100_000, htmlMaxChars: 200_000, inlineTotalMaxBytes: 8 * 1024 * 1024 };
