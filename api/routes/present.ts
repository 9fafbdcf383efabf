import type { MailboxSettings, TelephonyLineSettings } from '../../channels/settings.js';

/**
 * Presentation of rows: the API speaks camelCase (like its request bodies) whatever the column names are, and
 * never returns a stored secret. Secrets come back as MASK; sending MASK back in a PUT keeps the stored value,
 * so a client may GET, edit and PUT a setting without knowing its secrets.
 */
export const MASK = '********';

const camelKey = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Top-level keys only: jsonb columns (utm, details, options) are the caller's data and keep their keys. */
export function camel<T extends object>(row: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [camelKey(k), v]));
}

/** Vendor options holding credentials (Twilio authToken, a basic-auth password...) are secrets too. */
const SECRET_OPTION = /secret|token|password|passwd|credential|api_?key/i;

export function maskLine(l: TelephonyLineSettings): TelephonyLineSettings {
  const options = Object.fromEntries(
    Object.entries(l.options).map(([k, v]) => [k, SECRET_OPTION.test(k) && v != null && v !== '' ? MASK : v]),
  );
  return { ...l, secret: MASK, options };
}

/** Options sent back masked keep the stored value; new or changed ones replace it. */
export function unmaskOptions(given: Record<string, unknown>, stored: Record<string, unknown> | undefined) {
  return Object.fromEntries(Object.entries(given).map(([k, v]) => [k, v === MASK && stored ? stored[k] : v]));
}

export function maskMailbox(m: MailboxSettings): MailboxSettings {
  return {
    ...m,
    imap: { ...m.imap, password: MASK },
    smtp: m.smtp && { ...m.smtp, password: m.smtp.password ? MASK : m.smtp.password },
  };
}

/** A password left out of a PUT, or sent back as MASK, keeps the stored one. */
export const keepSecret = (given: string | undefined, stored: string | undefined) =>
  given === undefined || given === MASK ? stored : given;
