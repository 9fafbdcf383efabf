import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The one place where secrets, tokens and signatures are compared and credentials are read from headers. The
 * API (admin and operator tokens, the PBX routing answer) and the connectors (line secrets, vendor signatures)
 * all use these, so a timing or parsing fix is made once.
 */

/**
 * Constant-time comparison that leaks neither where the strings differ nor the secret's length: both sides are
 * hashed first, so timingSafeEqual always compares 32 bytes whatever the caller sent.
 */
export function safeEqual(given: string, secret: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
}

/** User and password of an `Authorization: Basic <base64>` header, or undefined. */
export function basicCredentials(
  authorization: string | undefined,
): { user: string; password: string } | undefined {
  const b64 = authorization?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i)?.[1];
  if (!b64) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const at = text.indexOf(':');
  return at < 0 ? undefined : { user: text.slice(0, at), password: text.slice(at + 1) };
}

export const hmacSha256Hex = (secret: string, body: string | Buffer) =>
  createHmac('sha256', secret).update(body).digest('hex');

/** `sha256=<hex>` (prefix optional, hex case ignored) over the raw body, as GitHub, Meta and our own webhooks sign. */
export function validSha256Signature(secret: string, body: string | Buffer, header: string): boolean {
  const given = header
    .trim()
    .replace(/^sha256=/i, '')
    .toLowerCase();
  return safeEqual(given, hmacSha256Hex(secret, body));
}
