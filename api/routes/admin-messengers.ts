import type { FastifyInstance } from 'fastify';
import {
  MESSENGER_SECRETS,
  MESSENGER_VENDORS,
  type MessengerAccountSettings,
  type MessengerVendor,
} from '../../channels/messengers.js';
import * as repo from '../../crm-core/repositories/messenger-account.repository.js';
import { AppError } from '../../lib/errors.js';
import type { RouteContext } from './context.js';
import { registerKeyedResource } from './keyed-resource.js';
import { MASK } from './present.js';
import * as s from './schemas.js';

const text = (max = 500) => ({ type: 'string', minLength: 1, maxLength: max });
const secret = {
  ...text(1_000),
  description: 'Write-only: answered as ********; omit it (or send the mask back) to keep the stored one',
};

/** Every field an account may have; which ones a vendor takes (and requires) is VENDOR_FIELDS. */
const fields = {
  vendor: { type: 'string', enum: [...MESSENGER_VENDORS] },
  name: text(200),
  source: { ...text(200), nullable: true, description: 'Lead source label for clients who first write here' },
  regionId: { ...s.id, nullable: true, description: 'Region of clients who first write here' },
  active: { type: 'boolean', default: true },
  // telegram
  botToken: { ...secret, pattern: '^([0-9]+:[A-Za-z0-9_-]+|\\*{8})$' },
  webhookSecret: { ...secret, pattern: '^([A-Za-z0-9_-]{16,256}|\\*{8})$' },
  mode: { type: 'string', enum: ['webhook', 'polling'] },
  // whatsapp, instagram
  phoneNumberId: { type: 'string', pattern: '^[0-9]{1,40}$' },
  igUserId: { type: 'string', pattern: '^[0-9]{1,40}$' },
  accessToken: secret,
  appSecret: secret,
  verifyToken: secret,
  // vk
  groupId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  secret: secret,
  confirmationCode: secret,
  // viber
  authToken: secret,
  senderName: text(28),
};

/** Per vendor: its own fields, and those it cannot work without. */
const VENDOR_FIELDS: Record<MessengerVendor, { allowed: string[]; required: string[] }> = {
  telegram: { allowed: ['botToken', 'webhookSecret', 'mode'], required: ['botToken', 'mode'] },
  whatsapp: {
    allowed: ['phoneNumberId', 'accessToken', 'appSecret', 'verifyToken'],
    required: ['phoneNumberId', 'accessToken', 'appSecret', 'verifyToken'],
  },
  instagram: {
    allowed: ['igUserId', 'accessToken', 'appSecret', 'verifyToken'],
    required: ['igUserId', 'accessToken', 'appSecret', 'verifyToken'],
  },
  vk: {
    allowed: ['groupId', 'accessToken', 'secret', 'confirmationCode'],
    required: ['groupId', 'accessToken', 'secret', 'confirmationCode'],
  },
  viber: { allowed: ['authToken', 'senderName'], required: ['authToken', 'senderName'] },
};
const COMMON = new Set(['vendor', 'name', 'source', 'regionId', 'active']);

const account = s.obj({
  key: s.str,
  ...Object.fromEntries(Object.keys(fields).map((k) => [k, {}])),
  vendor: s.str,
  name: s.str,
  source: s.nstr,
  regionId: s.nint,
  active: s.bool,
  webhookUrl: { type: 'string', description: 'What to register with the vendor' },
});

type Body = Record<string, unknown> & { vendor: MessengerVendor; name: string };

const invalid = (field: string, message: string) =>
  new AppError('VALIDATION', `${field}: ${message}`, { fields: [field] });

/**
 * The account from a PUT body: strict (a field of another vendor is an error, not ignored), secrets kept when
 * left out or sent back masked (same vendor only), the vendor's required fields present.
 */
export function accountFromBody(
  key: string,
  b: Body,
  stored: MessengerAccountSettings | undefined,
): MessengerAccountSettings {
  const spec = VENDOR_FIELDS[b.vendor];
  for (const k of Object.keys(b)) {
    if (!COMMON.has(k) && !spec.allowed.includes(k))
      throw invalid(k, `is not a setting of a ${b.vendor} account`);
  }
  const secrets = new Set(MESSENGER_SECRETS[b.vendor]);
  const keep = stored?.vendor === b.vendor ? (stored as unknown as Record<string, unknown>) : undefined;
  const out: Record<string, unknown> = {
    key,
    vendor: b.vendor,
    name: b.name,
    active: b.active ?? true,
    ...(b.source != null ? { source: b.source } : {}),
    ...(b.regionId != null ? { regionId: b.regionId } : {}),
  };
  for (const k of spec.allowed) {
    let v = b[k];
    if (secrets.has(k) && (v === undefined || v === MASK)) v = keep?.[k];
    else if (v === MASK) throw invalid(k, 'the mask is only accepted for secrets already stored');
    if (v !== undefined) out[k] = v;
  }
  if (b.vendor === 'telegram' && out.mode === 'webhook' && out.webhookSecret === undefined) {
    throw invalid('webhookSecret', 'is required in webhook mode (set it with setWebhook secret_token)');
  }
  for (const k of spec.required) {
    if (out[k] === undefined) throw invalid(k, `is required for a ${b.vendor} account`);
  }
  return out as unknown as MessengerAccountSettings;
}

/**
 * Messenger accounts (a Telegram bot, a WhatsApp number, a VK community, a Viber bot, an Instagram account), keyed
 * by the key in their webhook URL, so PUT is an upsert (201 when it created). Secrets are write-only. Connectors
 * read accounts through the ttl-cached ChannelSettings: a change applies within seconds, without a restart.
 */
export function adminMessengerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const base = (ctx.config.publicUrl ?? '').replace(/\/+$/, '');
  const present = (a: MessengerAccountSettings) => {
    const secrets = new Set(MESSENGER_SECRETS[a.vendor]);
    const shown = Object.fromEntries(
      Object.entries(a).map(([k, v]) => [k, secrets.has(k) && v != null && v !== '' ? MASK : v]),
    );
    return {
      ...shown,
      source: a.source ?? null,
      regionId: a.regionId ?? null,
      webhookUrl: `${base}/v1/messengers/${a.vendor}/${encodeURIComponent(a.key)}`,
    };
  };
  registerKeyedResource<MessengerAccountSettings, Body>(app, {
    path: '/v1/admin/messengers',
    tag: 'admin: messengers',
    noun: 'messenger account',
    onRequest,
    item: account,
    // Open on purpose: a field of another vendor is named in a 400 by accountFromBody, never silently dropped.
    body: { ...s.obj(fields, ['vendor', 'name']), additionalProperties: false },
    summaries: {
      list: 'List messenger accounts (secrets masked, with the webhook URL to register)',
      get: 'One messenger account',
      put: 'Create or replace a messenger account',
      delete: 'Delete a messenger account',
    },
    putDescription:
      'Per vendor: telegram botToken, mode (webhook needs webhookSecret); whatsapp phoneNumberId, accessToken, ' +
      'appSecret, verifyToken; instagram igUserId, accessToken, appSecret, verifyToken; vk groupId, ' +
      'accessToken, secret, confirmationCode; viber authToken, senderName. A field of another vendor is a 400.',
    list: () => repo.listMessengerAccounts(db),
    get: (key) => repo.getMessengerAccount(db, key),
    save: (key, b, stored) => repo.upsertMessengerAccount(db, accountFromBody(key, b, stored)),
    remove: (key) => repo.deleteMessengerAccount(db, key),
    present,
  });
}
