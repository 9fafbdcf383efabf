import { createHash } from 'node:crypto';
import type { AddressObject, ParsedMail } from 'mailparser';
import { canonicalMessageId, messageIdList } from '../../channels/email/message-id.js';
import type { MailboxSettings } from '../../channels/settings.js';
import type { ContactDraft } from '../../event/build.js';
import { RAW_LIMIT } from '../../event/inbound-contact.js';
import { attachmentMeta } from './attachments.js';
import { type BodyLimits, extractBody } from './body.js';
import { extractBounce } from './bounce.js';
import { headerValue } from './headers.js';
import { classifyRobot } from './robots.js';

/**
 * A parsed message -> the draft of an InboundContact event. Pure: everything it needs comes in as arguments,
 * so every rule here is covered by unit tests on fixture messages. The meta fields are the contract with
 * crm-core (threading, replies, bounces); connectors/email/README.md documents them.
 */
export interface RawSource {
  /** The first bytes of the message, enough for the event's raw copy (the bus caps it at 256 KiB). */
  head: Buffer;
  /** Size of the whole message in bytes. */
  size: number;
  /** SHA-256 of the whole message, hex: the external id when there is no Message-ID. */
  sha256: string;
}

export interface MessageLocation {
  mailbox: MailboxSettings;
  folder: string;
  uid: number;
  /** IMAP INTERNALDATE: when the server received it. Stands in for a missing or malformed Date header. */
  internalDate?: Date;
}

export interface NormaliseLimits extends BodyLimits {
  /** Inline attachment bytes per message, all attachments together. */
  inlineTotalMaxBytes: number;
}

export interface Address {
  address: string;
  name?: string;
}

const clip = (s: string | undefined, n: number) => (s ? s.slice(0, n) : undefined);
/** Bytes read from the source for the raw copy: enough for RAW_LIMIT characters in any encoding. */
export const RAW_HEAD_BYTES = RAW_LIMIT * 4 + 1;

export function normaliseMessage(
  parsed: ParsedMail,
  raw: RawSource,
  loc: MessageLocation,
  limits: NormaliseLimits,
  now: Date,
): ContactDraft {
  const from = addresses(parsed.from)[0];
  const robot = classifyRobot({ headerLines: parsed.headerLines, fromAddress: from?.address });
  // Mail from the mailbox's own address (a colleague's Bcc-to-self, a copy filed into INBOX by a mail client)
  // must not make our own address a client either.
  const fromMailbox = !!from && from.address.toLowerCase() === loc.mailbox.address.toLowerCase();
  const messageId = canonicalMessageId(parsed.messageId);
  const references = messageIdList(parsed.references);
  const inReplyTo = messageIdList(parsed.inReplyTo)[0];
  const body = extractBody(parsed, limits);
  const date = messageDate(headerValue(parsed.headerLines, 'date'), now);
  const rawCopy = rawText(raw.head);

  const meta: Record<string, unknown> = {
    mailboxId: loc.mailbox.id,
    folder: loc.folder,
    uid: loc.uid,
    from,
    to: addresses(parsed.to).slice(0, 100),
    cc: addresses(parsed.cc).slice(0, 100),
    replyTo: addresses(parsed.replyTo).slice(0, 10),
    html: body.html,
    htmlTruncated: body.htmlTruncated,
    textTruncated: body.textTruncated,
    attachments: attachmentMeta(parsed.attachments, {
      maxBytes: loc.mailbox.attachmentMaxBytes,
      totalMaxBytes: limits.inlineTotalMaxBytes,
    }),
    size: raw.size,
    sha256: raw.sha256,
    rawEncoding: rawCopy.encoding,
    dateInvalid: date.valid ? undefined : true,
    fromMailbox: fromMailbox || undefined,
  };
  if (robot) {
    meta.robot = robot.kind;
    meta.robotReason = robot.reason;
    if (robot.kind === 'bounce') {
      meta.bounce = extractBounce({
        headerLines: parsed.headerLines,
        parts: parsed.attachments,
        text: parsed.text,
      });
    }
  }
  return {
    channel: 'email',
    kind: 'message',
    direction: 'inbound',
    source: { type: 'mailbox', key: loc.mailbox.address, name: clip(loc.mailbox.name, 1000) },
    externalId: externalIdOf(messageId, raw.sha256),
    occurredAt: date.valid ? date.value : (loc.internalDate ?? now),
    // A robot is never a client: its address goes to meta.from only, so no lead or identity comes from it.
    sender: { name: clip(from?.name, 1000), emails: from && !robot && !fromMailbox ? [from.address] : [] },
    content: { subject: clip(parsed.subject?.trim(), 1000) || undefined, text: body.text },
    thread: {
      messageId,
      inReplyTo,
      references: references.length > 200 ? [references[0]!, ...references.slice(-199)] : references,
      // The root of the conversation: what the router threads on. In-Reply-To alone still names a parent.
      ref: references[0] ?? inReplyTo ?? messageId,
    },
    raw: { contentType: 'message/rfc822', body: rawCopy.body },
    meta: dropUndefined(meta),
  };
}

/** A message mailparser could not read is still an inbound contact: published with the error and the raw copy. */
export function unparseableMessage(
  raw: RawSource,
  loc: MessageLocation,
  error: unknown,
  now: Date,
): ContactDraft {
  const rawCopy = rawText(raw.head);
  const idLine = rawCopy.body.slice(0, 65_536).match(/^Message-ID:[ \t]*(<[^<>\s]+>)/im)?.[1];
  return {
    channel: 'email',
    kind: 'message',
    direction: 'inbound',
    source: { type: 'mailbox', key: loc.mailbox.address, name: clip(loc.mailbox.name, 1000) },
    externalId: externalIdOf(canonicalMessageId(idLine), raw.sha256),
    occurredAt: loc.internalDate ?? now,
    sender: {},
    raw: { contentType: 'message/rfc822', body: rawCopy.body },
    meta: {
      mailboxId: loc.mailbox.id,
      folder: loc.folder,
      uid: loc.uid,
      parseError: String((error as Error)?.message ?? error).slice(0, 1000),
      size: raw.size,
      sha256: raw.sha256,
      rawEncoding: rawCopy.encoding,
    },
  };
}

/** The event id is derived from this: the same message seen twice (two folders, a resync) is one event. */
export function externalIdOf(messageId: string | undefined, sha256: string): string {
  return messageId && messageId.length <= 500 ? messageId : `sha256:${sha256}`;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The raw copy as text. Mail is bytes in any charset; valid UTF-8 (and so ASCII) is kept as such, anything
 * else as latin1, which maps each byte to one character so `Buffer.from(body, 'latin1')` restores the bytes.
 */
export function rawText(head: Buffer): { body: string; encoding: 'utf-8' | 'latin1' } {
  try {
    // stream: true tolerates a multi-byte character cut at the end of the head.
    return {
      body: new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true }),
      encoding: 'utf-8',
    };
  } catch {
    return { body: head.toString('latin1'), encoding: 'latin1' };
  }
}

/**
 * mailparser substitutes "now" for a Date it cannot parse, which would pass for a real date: decide validity
 * from the header text itself (the same parse mailparser uses), and reject dates more than a day ahead.
 */
export function messageDate(
  header: string | undefined,
  now: Date,
): { valid: true; value: Date } | { valid: false } {
  const value = header ? new Date(header.replace(/\([^)]*\)/g, '').trim()) : undefined;
  const ok = !!value && !Number.isNaN(value.getTime()) && value.getTime() < now.getTime() + 86_400_000;
  return ok ? { valid: true, value } : { valid: false };
}

export function addresses(obj: AddressObject | AddressObject[] | undefined): Address[] {
  const out: Address[] = [];
  const walk = (list: { address?: string; name?: string; group?: unknown[] }[]) => {
    for (const a of list) {
      if (a.group) walk(a.group as typeof list);
      else if (a.address) out.push({ address: a.address.trim(), name: a.name?.trim() || undefined });
    }
  };
  for (const o of Array.isArray(obj) ? obj : obj ? [obj] : []) walk(o.value);
  return out;
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
