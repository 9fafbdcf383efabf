import type { InboundContact } from '../../event/inbound-contact.js';

/**
 * Deep links: https://t.me/<bot>?start=<payload> opens the chat and, when the client presses Start, the bot
 * receives the text `/start <payload>` (payload: up to 64 characters of A-Z, a-z, 0-9, _ and -). The payload
 * tells which ad or page sent the client, so it becomes the event's UTM tags, which a new lead keeps:
 *  - base64url of a query string with utm_* keys (`utm_source=vk&utm_campaign=spring` ->
 *    `dXRtX3NvdXJjZT12ayZ1dG1fY2FtcGFpZ249c3ByaW5n`): those tags;
 *  - anything else (`vk_spring`): utm.source = the payload as written.
 */
const START = /^\/start(?:@[A-Za-z0-9_]+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$/;
const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

/** The payload of a `/start <payload>` message, or undefined (plain `/start` or any other text). */
export function startPayload(text: string | undefined): string | undefined {
  return text ? START.exec(text.trim())?.[1] : undefined;
}

export function payloadUtm(payload: string): InboundContact['utm'] {
  const decoded = Buffer.from(payload, 'base64url').toString('utf8');
  // Only a payload that really is base64url (it round-trips) of printable text naming utm_ keys is decoded;
  // a plain word such as `vkads` also decodes, to bytes that fail these checks.
  const isEncoded =
    /^[\x20-\x7e]+$/.test(decoded) &&
    decoded.includes('utm_') &&
    Buffer.from(decoded, 'utf8').toString('base64url') === payload.replace(/=+$/, '');
  if (!isEncoded) return { source: payload };
  const params = new URLSearchParams(decoded);
  const utm: InboundContact['utm'] = {};
  for (const key of UTM_KEYS) {
    const v = params.get(`utm_${key}`)?.trim();
    if (v) utm[key] = v.slice(0, 1_000);
  }
  return Object.keys(utm).length ? utm : { source: payload };
}
