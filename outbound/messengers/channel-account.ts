import { LIVECHAT_CHANNEL, livechatAccount } from '../../channels/widgets.js';
import type { Queryable } from '../../crm-core/db/database.js';
import { getMessengerAccount } from '../../crm-core/repositories/messenger-account.repository.js';
import { getWidget } from '../../crm-core/repositories/widget.repository.js';
import type { SenderAccount } from './contract.js';

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
