import { readFileSync } from 'node:fs';

/**
 * Maps an SMTP recipient to a Dovecot user and folder, the way a real delivery agent with sub-addressing does:
 * `support+it-42@example.test` lands in user support@example.test, folder `it-42`. Tests use the detail part to
 * get a folder of their own without a separate IMAP user.
 */
export interface Delivery {
  user: string;
  password: string;
  folder: string;
}

/** passwd-file lines: `user:{PLAIN}password::::::` (Dovecot's format). */
export function readUsers(passwdFile: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of readFileSync(passwdFile, 'utf8').split('\n')) {
    const [user, pass] = line.split(':');
    if (!user || !pass || line.startsWith('#')) continue;
    users.set(user.toLowerCase(), pass.replace(/^\{[A-Z0-9-]+\}/, ''));
  }
  return users;
}

export function resolveRecipient(address: string, users: Map<string, string>, defaultUser: string): Delivery {
  const addr = address.trim().toLowerCase();
  const at = addr.lastIndexOf('@');
  const local = at > 0 ? addr.slice(0, at) : addr;
  const domain = at > 0 ? addr.slice(at + 1) : '';
  const plus = local.indexOf('+');
  const base = `${plus > 0 ? local.slice(0, plus) : local}@${domain}`;
  const detail = plus > 0 ? local.slice(plus + 1) : '';
  const known = users.get(base);
  if (known !== undefined) return { user: base, password: known, folder: safeFolder(detail) };
  const fallback = users.get(defaultUser.toLowerCase());
  if (fallback === undefined) throw new Error(`default user ${defaultUser} is not in the passwd-file`);
  return { user: defaultUser.toLowerCase(), password: fallback, folder: 'INBOX' };
}

/** Only plain folder names from the detail: no hierarchy separators or wildcards from the outside. */
function safeFolder(detail: string): string {
  return /^[a-z0-9][a-z0-9._-]{0,62}$/.test(detail) ? detail : 'INBOX';
}

/**
 * The final delivery agent records the envelope sender as Return-Path (RFC 5321 §4.4) and replaces any the
 * message already carried. Bounces arrive with a null sender, which is how robots.ts recognises `<>`.
 */
export function withDeliveryHeaders(raw: Buffer, mailFrom: string, rcpt: string, now = new Date()): Buffer {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const rest = end < 0 ? '' : text.slice(end);
  const kept = head.split(/\r?\n(?![ \t])/).filter((h) => !/^return-path:/i.test(h));
  const added = [
    `Return-Path: <${mailFrom}>`,
    `Received: from localhost by smtp-sink for <${rcpt}>; ${now.toUTCString().replace('GMT', '+0000')}`,
  ];
  return Buffer.from([...added, ...kept].join('\r\n') + rest, 'latin1');
}
