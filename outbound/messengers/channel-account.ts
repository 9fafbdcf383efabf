import { LIVECHAT_CHANNEL, livechatAccount } from '../../channels/widgets.js';
import type { Queryable } from '../../crm-core/db/database.js';
import { SETTINGS_CACHE_MS } from '../../crm-core/repositories/channel-settings.repository.js';
import { getMessengerAccount } from '../../crm-core/repositories/messenger-account.repository.js';
import { getWidget } from '../../crm-core/repositories/widget.repository.js';
import type { SenderAccount } from './contract.js';

/** Reads with `db`: pass the caller's transaction inside one (PGlite has a single connection). */
export type AccountLookup = (
  db: Queryable,
  channel: string,
  key: string,
) => Promise<SenderAccount | undefined>;

/** The account a conversation's replies go out through: its widget for the live chat, else its messenger account. */
export async function channelAccount(
  db: Queryable,
  channel: string,
  key: string,
): Promise<SenderAccount | undefined> {
  if (channel !== LIVECHAT_CHANNEL) return getMessengerAccount(db, key);
  const w = await getWidget(db, key);
  return w && livechatAccount(w);
}

/**
 * channelAccount through a cache of SETTINGS_CACHE_MS (like the webhooks' lines and forms): a reply reads its
 * account twice (recorded, then sent), and the live chat sends many. A deactivated or deleted account still
 * sends for up to that long; a new one works at once (only found accounts are kept).
 *
 * A miss reads with the caller's own connection and is not shared with concurrent misses (unlike ttlCache): a
 * reply's transaction waiting for a read queued for the pool, while transactions hold every pooled connection,
 * would never finish.
 */
export function cachedChannelAccount(ttlMs = SETTINGS_CACHE_MS, now = Date.now): AccountLookup {
  const kept = new Map<string, { at: number; account: SenderAccount }>();
  return async (db, channel, key) => {
    const k = `${channel}\u0000${key}`;
    const hit = kept.get(k);
    if (hit && now() - hit.at < ttlMs) return hit.account;
    const at = now();
    const account = await channelAccount(db, channel, key);
    if (account) kept.set(k, { at, account });
    else kept.delete(k);
    return account;
  };
}
