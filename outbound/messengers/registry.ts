import type { MessengerVendor } from '../../channels/messengers.js';
import type { SenderFactory } from './contract.js';
import { createInstagramSender } from './instagram.sender.js';
import { createTelegramSender } from './telegram.sender.js';
import { createViberSender } from './viber.sender.js';
import { createVkSender } from './vk.sender.js';
import { createWhatsAppSender } from './whatsapp.sender.js';

/** Every messenger's outbound side, by vendor: the one place a sender is registered (one line per vendor). */
export const SENDER_FACTORIES: Partial<Record<MessengerVendor, SenderFactory>> = {
  whatsapp: createWhatsAppSender,
  instagram: createInstagramSender,
  vk: createVkSender as SenderFactory,
  viber: createViberSender as SenderFactory,
  telegram: createTelegramSender,
};
