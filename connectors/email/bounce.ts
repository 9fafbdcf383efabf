import { canonicalMessageId } from '../../channels/email/message-id.js';
import {
  type HeaderLines,
  headerValue,
  headerValues,
  parseFieldGroups,
  parseHeaderBlock,
} from './headers.js';

/**
 * What a bounce says: which recipients failed and which of our messages it is about. The router uses
 * originalMessageId to find the outbound activity (our ids come from ownMessageId) and flag the address.
 */
export interface BounceInfo {
  /** Recipients whose delivery failed (Action: failed, or X-Failed-Recipients), lowercased. */
  recipients: string[];
  /** Message-ID of the message that bounced, angle brackets included, when the report carries it. */
  originalMessageId?: string;
  /** Per-recipient DSN fields, failed and delayed alike: a 4.x.x status is a delay, not a hard bounce. */
  details: { recipient: string; action: string; status?: string }[];
}

export interface BouncePart {
  contentType: string;
  content: Buffer;
}

export function extractBounce(input: {
  headerLines: HeaderLines;
  parts: BouncePart[];
  text?: string;
}): BounceInfo {
  const details: BounceInfo['details'] = [];
  let originalMessageId: string | undefined;
  for (const part of input.parts) {
    const type = part.contentType.toLowerCase();
    if (type === 'message/delivery-status' || type === 'message/global-delivery-status') {
      for (const group of parseFieldGroups(part.content.toString('utf8'))) {
        const recipient = addressOf(
          headerValue(group, 'final-recipient') ?? headerValue(group, 'original-recipient'),
        );
        const action = headerValue(group, 'action')?.toLowerCase();
        if (recipient && action) details.push({ recipient, action, status: headerValue(group, 'status') });
        originalMessageId ??= canonicalMessageId(headerValue(group, 'original-message-id'));
      }
    } else if (type === 'message/rfc822' || type === 'text/rfc822-headers' || type === 'message/global') {
      const headers = parseHeaderBlock(part.content.toString('utf8'));
      originalMessageId ??= canonicalMessageId(headerValue(headers, 'message-id'));
    }
  }
  originalMessageId ??=
    canonicalMessageId(headerValue(input.headerLines, 'original-message-id')) ??
    canonicalMessageId(headerValue(input.headerLines, 'x-original-message-id')) ??
    // Some MTAs quote the original headers in the text part only.
    canonicalMessageId(input.text?.match(/^\s*Message-ID:\s*(<[^<>\s]+>)/im)?.[1]);

  const failed = details.filter((d) => d.action === 'failed').map((d) => d.recipient);
  const xFailed = headerValues(input.headerLines, 'x-failed-recipients').flatMap((v) =>
    v.split(',').map((a) => addressOf(a)),
  );
  const recipients = [...new Set([...failed, ...xFailed].filter((a): a is string => !!a))];
  return { recipients, originalMessageId, details };
}

/** `rfc822; User@Host` or `<user@host>` -> `user@host`. */
function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.includes(';') ? value.slice(value.indexOf(';') + 1) : value;
  const addr = v.trim().replace(/^<|>$/g, '').trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+$/.test(addr) ? addr : undefined;
}
