import type { MessengerAccountSettings, MessengerVendor } from '../channels/messengers.js';
import { isChannelKey } from '../channels/settings.js';
import { AppError } from '../lib/errors.js';
import type { ConnectorContext } from './contract.js';

/**
 * Finding a messenger account from its webhook URL, for every messenger connector. An unknown key, an inactive
 * account, another vendor's account and a wrong secret or signature all get the same answer, so a caller
 * without the secret cannot probe which keys exist; only the log says which it was.
 */
export const DENIED_MESSAGE = 'unknown messenger account or invalid credentials';

export type AccountOf<V extends MessengerVendor> = Extract<MessengerAccountSettings, { vendor: V }>;

/** The active account of `vendor` with this key, or undefined (the caller then denies, as for a bad secret). */
export async function findMessengerAccount<V extends MessengerVendor>(
  ctx: ConnectorContext,
  vendor: V,
  key: string | undefined,
): Promise<AccountOf<V> | undefined> {
  // A key that cannot be one (NUL, slashes, 65 characters) is unknown without a look-up: PostgreSQL cannot even
  // compare a NUL, and the answer must be the one an unknown key gets.
  const account = isChannelKey(key) ? await ctx.settings.getMessengerAccount(key) : undefined;
  return account?.vendor === vendor && account.active ? (account as AccountOf<V>) : undefined;
}

/**
 * Refuses a webhook request: logged with the reason, counted as unauthorized, answered 401 (wrong signature or
 * secret) or 403 (a refused handshake, as Meta's documentation asks) with one message whatever the reason.
 */
export function denyMessenger(
  ctx: ConnectorContext,
  vendor: MessengerVendor,
  key: string | undefined,
  reason: string,
  code: 'UNAUTHORIZED' | 'FORBIDDEN' = 'UNAUTHORIZED',
): never {
  ctx.logger.warn({ connector: vendor, account: key, reason }, 'messenger webhook refused');
  ctx.onUpdate?.(vendor, 'request', 'unauthorized');
  throw new AppError(code, DENIED_MESSAGE);
}

/**
 * What every message event of an account carries: the account as the event's source (source type `bot`, its key
 * as the source key, its lead-source label as the name) and its region and source for the router.
 */
export function accountOrigin(account: MessengerAccountSettings) {
  return {
    source: { type: 'bot' as const, key: account.key, name: account.source ?? account.name },
    meta: {
      vendor: account.vendor,
      ...(account.source !== undefined && { accountSource: account.source }),
      ...(account.regionId !== undefined && { accountRegionId: account.regionId }),
    },
  };
}
