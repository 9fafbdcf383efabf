/**
 * What administrators configure for each channel, as every layer sees it: the admin API writes it, crm-core
 * stores it, connectors read it (through ChannelSettings) and outbound sends with it. It lives below all of them
 * so that none has to import another's folder for these types.
 */
import type { MessengerAccountSettings } from './messengers.js';

/**
 * What a form or line key may look like (the admin API refuses others). Webhook URLs carry keys from anyone, so a
 * connector checks the shape first: a key that cannot exist is answered as unknown without a database look-up.
 */
export const CHANNEL_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const CHANNEL_KEY = new RegExp(CHANNEL_KEY_PATTERN);
export const isChannelKey = (key: unknown): key is string => typeof key === 'string' && CHANNEL_KEY.test(key);

export interface ClientDirectory {
  findByPhone(
    phone: string,
  ): Promise<
    { entityType: 'lead' | 'contact' | 'company'; entityId: number; responsibleId: number | null } | undefined
  >;
}

/** Read-only view of what administrators configured for the channels (crm-core implements it). */
export interface ChannelSettings {
  getForm(key: string): Promise<FormSettings | undefined>;
  getTelephonyLine(key: string): Promise<TelephonyLineSettings | undefined>;
  listMailboxes(): Promise<MailboxSettings[]>;
  /** Cached for a few seconds like forms and lines: webhooks ask on every update. */
  getMessengerAccount(key: string): Promise<MessengerAccountSettings | undefined>;
  /** Every account, active or not (pollers start and stop as accounts change). */
  listMessengerAccounts(): Promise<MessengerAccountSettings[]>;
  /** An online store posting orders; cached for a few seconds like forms and lines. */
  getStore(key: string): Promise<StoreSettings | undefined>;
}

export const STORE_PLATFORMS = ['generic', 'woocommerce'] as const;
export type StorePlatform = (typeof STORE_PLATFORMS)[number];

/** An online store that posts its orders to POST /v1/orders/:key (connectors/store). */
export interface StoreSettings {
  key: string;
  name: string;
  /** Bearer / X-Store-Secret for our own order shape; the HMAC key of WooCommerce's webhook signature. */
  secret: string;
  /** generic: our documented order JSON only; woocommerce: WooCommerce's order webhooks as well. */
  platform: StorePlatform;
  /** Lead source label for buyers this store brings in. */
  source?: string;
  /** Region whose operators get new buyers and their deals. */
  regionId?: number;
  active: boolean;
}

export interface FormSettings {
  key: string;
  name: string;
  /** Our field -> the form's field name. Defaults apply to unmapped ones (name, phone, email, message...). */
  fieldMap: Partial<Record<FormField, string>>;
  allowedOrigins: string[];
  honeypotField?: string;
  redirectUrl?: string;
  regionId?: number;
  active: boolean;
}
export const FORM_FIELDS = [
  'name',
  'phone',
  'email',
  'telegram',
  'message',
  'subject',
  'region',
  'city',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];

export interface TelephonyLineSettings {
  key: string;
  name: string;
  /** The called number (E.164) for call tracking. */
  number?: string;
  /** Shared secret for Bearer auth and the HMAC-SHA256 signature. */
  secret: string;
  /** Lead source label for calls to this line (e.g. an ad campaign). */
  source?: string;
  regionId?: number;
  /** Create a lead for an outbound call to an unknown number. */
  createLeadOnOutbound: boolean;
  /** Vendor-specific settings (e.g. Twilio auth token, FreeSWITCH basic-auth user). */
  options: Record<string, unknown>;
  active: boolean;
}

export interface MailboxSettings {
  id: number;
  name: string;
  address: string;
  imap: { host: string; port: number; secure: boolean; user: string; password: string };
  /** For replies (outbound/); sentFolder: where the copy goes (default: the folder flagged \\Sent, else "Sent"). */
  smtp?: {
    host: string;
    port: number;
    secure: boolean;
    user?: string;
    password?: string;
    sentFolder?: string;
  };
  folders: string[];
  /** Only messages on or after this date are taken on first sync. */
  syncSince?: string;
  /** What to do with a message after it was published: leave it, set \Seen, or move it to a folder. */
  processed: { action: 'none' } | { action: 'seen' } | { action: 'move'; folder: string };
  attachmentMaxBytes: number;
  active: boolean;
}

/** Opaque per-connector cursors (IMAP UIDVALIDITY + last UID, Telegram update offset...), stored by crm-core. */
export interface CursorStore {
  get<T = unknown>(connector: string, key: string): Promise<T | undefined>;
  set(connector: string, key: string, value: unknown): Promise<void>;
}
