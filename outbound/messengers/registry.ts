import type { SenderFactory, SenderRegistry } from './contract.js';
import { createInstagramSender } from './instagram.sender.js';
import { createLivechatSender } from './livechat.sender.js';
import { createTelegramSender } from './telegram.sender.js';
import { createViberSender } from './viber.sender.js';
import { createVkSender } from './vk.sender.js';
import { createWhatsAppSender } from './whatsapp.sender.js';

/**
 * The one place messengers' senders are registered: vendor -> SenderFactory (one line per vendor). The messenger
 * outbox (outbound/messengers/outbox.ts) and the attachment download (api/conversations.ts) make their senders from
 * it; tests pass a registry of their own. A vendor without an entry cannot be answered: its replies fail with
 * `unsupported`.
 */
export const SENDER_FACTORIES: SenderRegistry = {
  whatsapp: createWhatsAppSender,
  instagram: createInstagramSender,
  vk: createVkSender as SenderFactory,
  viber: createViberSender as SenderFactory,
  telegram: createTelegramSender,
  livechat: createLivechatSender as SenderFactory,
};
