import type { FastifyRequest } from 'fastify';
import { isChannelKey, type TelephonyLineSettings } from '../../channels/settings.js';
import { basicCredentials, safeEqual } from '../../lib/credentials.js';
import { AppError } from '../../lib/errors.js';
import type { ConnectorContext } from '../contract.js';

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
  // A key that cannot exist is refused like an unknown one, before any look-up (and never logged as given).
  if (!isChannelKey(key)) return deny(ctx, vendor, undefined, 'malformed line key');
  const line = await ctx.settings.getTelephonyLine(key);
  if (line?.active) return line;
  return deny(ctx, vendor, key, line ? 'inactive line' : 'unknown line');
}

/** Both halves are always compared, so the timing does not tell a wrong user from a wrong password. */
export function validBasic(req: FastifyRequest, user: string, password: string): boolean {
  const given = basicCredentials(req.headers.authorization);
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
