import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../lib/errors.js';
import type { ConnectorContext, TelephonyLineSettings } from '../contract.js';

/**
 * One answer for an unknown line, an inactive line and a wrong secret: 401 with the same message, so a caller
 * without the secret cannot probe which line keys exist. The log (not the client) says which one it was.
 */
export const UNAUTHORIZED_MESSAGE = 'unknown telephony line or invalid credentials';

export type Vendor = 'generic' | 'twilio' | 'freeswitch' | 'cti' | 'bitrix24';

export function deny(ctx: ConnectorContext, vendor: Vendor, line: string | undefined, reason: string): never {
  ctx.logger.warn({ connector: 'telephony', vendor, line, reason }, 'telephony request refused');
  throw new AppError('UNAUTHORIZED', UNAUTHORIZED_MESSAGE);
}

export async function findLine(
  ctx: ConnectorContext,
  vendor: Vendor,
  key: string | undefined,
): Promise<TelephonyLineSettings> {
  const line = key ? await ctx.settings.getTelephonyLine(key) : undefined;
  if (line?.active) return line;
  return deny(ctx, vendor, key, line ? 'inactive line' : 'unknown line');
}

/** Constant-time string comparison. Hashing first gives equal lengths, so the secret's length is not leaked. */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export function bearerToken(req: FastifyRequest): string | undefined {
  return req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
}

export const hmacSha256Hex = (secret: string, body: string) =>
  createHmac('sha256', secret).update(body, 'utf8').digest('hex');

/** `X-Signature: sha256=<hex>` over the raw body; the prefix is optional and hex case does not matter. */
export function validSha256Signature(secret: string, body: string, header: string): boolean {
  const given = header
    .trim()
    .replace(/^sha256=/i, '')
    .toLowerCase();
  return safeEqual(given, hmacSha256Hex(secret, body));
}

export function basicCredentials(req: FastifyRequest): { user: string; password: string } | undefined {
  const b64 = req.headers.authorization?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i)?.[1];
  if (!b64) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const at = text.indexOf(':');
  return at < 0 ? undefined : { user: text.slice(0, at), password: text.slice(at + 1) };
}

/** Both halves are always compared, so the timing does not tell a wrong user from a wrong password. */
export function validBasic(req: FastifyRequest, user: string, password: string): boolean {
  const given = basicCredentials(req);
  if (!given) return false;
  const userOk = safeEqual(given.user, user);
  const passwordOk = safeEqual(given.password, password);
  return userOk && passwordOk;
}

/** A non-empty string from the line's vendor options (administrators edit them as free-form JSON). */
export function stringOption(line: TelephonyLineSettings, name: string): string | undefined {
  const v = line.options[name];
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}
