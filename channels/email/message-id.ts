import { randomBytes } from 'node:crypto';

/**
 * Message-IDs of the mail we send ourselves. The reply sender stamps every outbound message with an id from
 * ownMessageId() and the X-Contact-Ingest-Outbound header, so that when a copy comes back through IMAP (Bcc to
 * the mailbox, a server that files sent mail into INBOX, a forwarding loop) it is recognised and not published
 * as a new inbound contact. Replies to it still thread: clients put the id into In-Reply-To/References.
 */
export const OUTBOUND_HEADER = 'X-Contact-Ingest-Outbound';

/** `<ci.{base36 time}.{16 hex}@host>`: the time keeps ids sortable in logs, the random part unique. */
const OWN_ID = /^<?ci\.[0-9a-z]{6,12}\.[0-9a-f]{16}@[^>\s]+>?$/i;

export function ownMessageId(host: string): string {
  const h = host.trim().replace(/^.*@/, '');
  if (!h || /[\s<>@]/.test(h)) throw new TypeError(`ownMessageId: invalid host "${host}"`);
  return `<ci.${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${h}>`;
}

export function isOwnMessageId(id: string | undefined): boolean {
  return !!id && OWN_ID.test(id.trim());
}

/**
 * One Message-ID in its canonical form, angle brackets included (what In-Reply-To of a reply must carry).
 * Returns undefined for an empty or absurd value rather than inventing one.
 */
export function canonicalMessageId(raw: string | undefined): string | undefined {
  const m = raw?.match(/<([^<>\s]+)>/) ?? raw?.trim().match(/^([^<>\s]+@[^<>\s]+)$/);
  const id = m?.[1];
  if (!id || id.length > 995) return undefined;
  return `<${id}>`;
}

/** Every Message-ID in a References/In-Reply-To style value, in order, without duplicates. */
export function messageIdList(raw: string | string[] | undefined): string[] {
  const text = Array.isArray(raw) ? raw.join(' ') : (raw ?? '');
  const out: string[] = [];
  for (const m of text.matchAll(/<([^<>\s]+)>/g)) {
    const id = canonicalMessageId(m[0]);
    if (id && !out.includes(id)) out.push(id);
  }
  return out;
}
