/**
 * Messenger channel accounts (a Telegram bot, a WhatsApp number, a VK community, a Viber bot, an Instagram
 * business account), as every layer sees them: the admin API writes them (secrets write-only), crm-core stores
 * them, connectors authenticate webhooks and poll with them, outbound sends replies with them. Each account may
 * carry its own region and source, so a region or an ad campaign can have its own bot or number.
 */
export const MESSENGER_VENDORS = ['telegram', 'whatsapp', 'vk', 'viber', 'instagram'] as const;
export type MessengerVendor = (typeof MESSENGER_VENDORS)[number];

interface AccountBase {
  /** Our key for the account; part of its webhook URL: /v1/messengers/<vendor>/<key>. */
  key: string;
  name: string;
  /** Lead source label for clients who first write here (e.g. an ad campaign's bot). */
  source?: string;
  regionId?: number;
  active: boolean;
}

export interface TelegramAccount extends AccountBase {
  vendor: 'telegram';
  /** Secret: the token BotFather gave. */
  botToken: string;
  /** Secret: echoed by Telegram in X-Telegram-Bot-Api-Secret-Token (set with setWebhook). Webhook mode only. */
  webhookSecret?: string;
  /** webhook: Telegram posts updates to us; polling: we call getUpdates (installations without a public URL). */
  mode: 'webhook' | 'polling';
}

export interface WhatsAppAccount extends AccountBase {
  vendor: 'whatsapp';
  /** The WhatsApp Business phone number id messages are sent from (metadata.phone_number_id in webhooks). */
  phoneNumberId: string;
  /** Secret: a system-user access token with whatsapp_business_messaging. */
  accessToken: string;
  /** Secret: the Meta app secret; X-Hub-Signature-256 is its HMAC-SHA256 of the raw body. */
  appSecret: string;
  /** Secret: the verify token typed into the app's webhook settings (GET hub.verify_token handshake). */
  verifyToken: string;
}

export interface InstagramAccount extends AccountBase {
  vendor: 'instagram';
  /** The Instagram professional account id (entry[].id, the recipient of clients' messages). */
  igUserId: string;
  /** Secret: access token allowed to send messages for the account. */
  accessToken: string;
  /** Secret: the Meta app secret (X-Hub-Signature-256). */
  appSecret: string;
  /** Secret: the webhook verify token (GET hub.verify_token handshake). */
  verifyToken: string;
}

export interface VkAccount extends AccountBase {
  vendor: 'vk';
  /** The community (group) id; Callback API events carry it as group_id. */
  groupId: number;
  /** Secret: a community access token with the messages permission. */
  accessToken: string;
  /** Secret: the "secret key" set in the Callback API settings, sent in every event's `secret` field. */
  secret: string;
  /** The string VK expects in answer to the `confirmation` event (shown in the Callback API settings). */
  confirmationCode: string;
}

export interface ViberAccount extends AccountBase {
  vendor: 'viber';
  /** Secret: the bot's auth token; X-Viber-Content-Signature is its HMAC-SHA256 of the raw body. */
  authToken: string;
  /** Sender name shown to clients on messages we send (Viber requires one). */
  senderName: string;
}

export type MessengerAccountSettings =
  | TelegramAccount
  | WhatsAppAccount
  | InstagramAccount
  | VkAccount
  | ViberAccount;

/** The fields of each vendor's account that are secrets: stored, used, never returned by the API or logged. */
export const MESSENGER_SECRETS: Record<MessengerVendor, readonly string[]> = {
  telegram: ['botToken', 'webhookSecret'],
  whatsapp: ['accessToken', 'appSecret', 'verifyToken'],
  instagram: ['accessToken', 'appSecret', 'verifyToken'],
  vk: ['accessToken', 'secret', 'confirmationCode'],
  viber: ['authToken'],
};

/**
 * Vendors' API base URLs. Production uses the vendors' public ones; tests point them at local servers that speak
 * the vendor's documented API. The code that calls a vendor is the same either way.
 */
export interface VendorApiUrls {
  /** Bot API root, without /bot<token> (default https://api.telegram.org). */
  telegram: string;
  /** Graph API root with version, for WhatsApp Cloud API and Instagram messaging (default https://graph.facebook.com/v24.0). */
  meta: string;
  /** VK API root (default https://api.vk.com/method). */
  vk: string;
  /** Viber REST API root (default https://chatapi.viber.com/pa). */
  viber: string;
}

export const DEFAULT_VENDOR_API_URLS: Readonly<VendorApiUrls> = Object.freeze({
  telegram: 'https://api.telegram.org',
  meta: 'https://graph.facebook.com/v24.0',
  vk: 'https://api.vk.com/method',
  viber: 'https://chatapi.viber.com/pa',
});
