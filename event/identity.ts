import { domainToASCII } from 'node:url';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { Lru } from '../lib/lru.js';

/**
 * Identity normalisation: every way a client can be recognised becomes (kind, value) with one canonical value,
 * so that `8 495 123-45-67` and `+7 (495) 1234567` meet in the unique index of crm-core's identities table.
 */
export const IDENTITY_KINDS = [
  'phone',
  'email',
  'telegram',
  'whatsapp',
  'webchat',
  'vk',
  'viber',
  'instagram',
] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];
/** Identities that are a messenger's own user id (a WhatsApp id is also a phone number: see normaliseMessengerId). */
export type MessengerIdentityKind = Exclude<IdentityKind, 'phone' | 'email'>;

export interface Identity {
  kind: IdentityKind;
  /** Canonical value: E.164 for phones, lowercase punycode for emails, the bare id for messengers. */
  value: string;
  /** False when the raw value could not be parsed; the value is then the trimmed raw text, kept, never dropped. */
  valid: boolean;
}

/**
 * Parsing a phone number with the full metadata costs tens of microseconds, and the same numbers come back all
 * the time (a client's calls, the webhook's retries, a line's own number in every call event): the answers for
 * recent numbers are kept. Bounded, so a flood of distinct numbers costs a fixed amount of memory.
 */
export const PHONE_CACHE_SIZE = 10_000;
const phoneCache = new Lru<string, Identity>(PHONE_CACHE_SIZE);
/** Longer text is not a phone anyone writes twice: parsed, not kept (bounds the cache's bytes too). */
const PHONE_CACHE_KEY_MAX = 64;

export function normalisePhone(raw: string, defaultCountry: string): Identity {
  const text = raw.trim();
  if (text.length > PHONE_CACHE_KEY_MAX) return parsePhone(text, defaultCountry);
  const key = `${defaultCountry}\u0000${text}`;
  const hit = phoneCache.get(key);
  // A copy: callers own what they get, and the cached answer must not change with what they do to it.
  if (hit) return { ...hit };
  const identity = parsePhone(text, defaultCountry);
  phoneCache.set(key, identity);
  return { ...identity };
}

/** For tests: how many answers are kept now. */
export const phoneCacheSize = () => phoneCache.size;

/** normalisePhone without the cache (exported for tests that compare both). */
export function parsePhone(text: string, defaultCountry: string): Identity {
  // "8 495 ..." is the Russian trunk prefix and "7495..." a number written without "+": libphonenumber
  // resolves both against the default country, so no hand-written rule is needed here.
  const parsed = parsePhoneNumberFromString(text, {
    defaultCountry: defaultCountry as CountryCode,
    extract: false,
  });
  if (parsed?.isValid()) return { kind: 'phone', value: parsed.number, valid: true };
  // Digits only, 11+ long, without "+": try it as an international number before giving up.
  const digits = text.replace(/\D/g, '');
  if (digits.length >= 11 && !text.startsWith('+')) {
    const intl = parsePhoneNumberFromString(`+${digits}`);
    if (intl?.isValid()) return { kind: 'phone', value: intl.number, valid: true };
  }
  return { kind: 'phone', value: text, valid: false };
}

export function normaliseEmail(raw: string): Identity {
  const text = raw.trim().toLowerCase();
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1 || /\s/.test(text))
    return { kind: 'email', value: text, valid: false };
  const domain = domainToASCII(text.slice(at + 1));
  if (!domain?.includes('.')) return { kind: 'email', value: text, valid: false };
  return { kind: 'email', value: `${text.slice(0, at)}@${domain}`, valid: true };
}

export function normaliseMessengerId(kind: MessengerIdentityKind, raw: string): Identity {
  const text = raw.trim();
  const bare = text.startsWith(`${kind}:`) ? text.slice(kind.length + 1) : text;
  if (kind === 'whatsapp') {
    // WhatsApp ids are phone numbers without "+": keep them as E.164 digits so they also match a phone.
    const digits = bare.replace(/\D/g, '');
    return { kind, value: digits, valid: digits.length >= 8 };
  }
  return { kind, value: bare, valid: bare.length > 0 };
}

/** `telegram:12345` — the namespaced form used in APIs, logs and Kafka keys. */
export const identityKey = (i: Pick<Identity, 'kind' | 'value'>) => `${i.kind}:${i.value}`;

export interface RawSender {
  phones?: string[];
  emails?: string[];
  messengerIds?: { kind: MessengerIdentityKind; id: string }[];
}

/** All identities of a sender, normalised and de-duplicated, phones first (they are the strongest key). */
export function normaliseSender(sender: RawSender, defaultCountry: string): Identity[] {
  const out = new Map<string, Identity>();
  for (const p of sender.phones ?? []) if (p.trim()) add(normalisePhone(p, defaultCountry));
  for (const e of sender.emails ?? []) if (e.trim()) add(normaliseEmail(e));
  for (const m of sender.messengerIds ?? []) if (m.id.trim()) add(normaliseMessengerId(m.kind, m.id));
  return [...out.values()];
  function add(i: Identity) {
    if (!out.has(identityKey(i))) out.set(identityKey(i), i);
  }
}
