import type { PreChatField } from '../../channels/widgets.js';
import type { VisitorContact } from './events.js';

/**
 * Checks of what a visitor sends: the widget checks the same before sending, so an answer here is a bug or a
 * hand-written client; it names the field, and nothing is published.
 */
export const TEXT_MAX = 4_096;
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PHONE = /^\+?[0-9()\-.\s]{5,30}$/;
/** 7 to 15 digits: the shortest local numbers to E.164's longest; the router normalises what passes. */
const PHONE_DIGITS = /^(?:\D*\d){7,15}\D*$/;
/** local@domain.tld: no spaces, one @, a dot in the domain and none at its ends. */
const EMAIL = /^[^\s@]{1,64}@(?=.{4,190}$)[^\s@.]+(?:\.[^\s@.]+)+$/;

export const validPhone = (v: string) => PHONE.test(v) && PHONE_DIGITS.test(v);

export type Checked<T> = { ok: T } | { field: string; message: string };

export function checkMessage(f: Record<string, unknown>): Checked<{ clientId: string; text: string }> {
  if (typeof f.clientId !== 'string' || !CLIENT_ID.test(f.clientId))
    return { field: 'clientId', message: 'clientId: 1-64 of A-Z a-z 0-9 _ -' };
  const text = typeof f.text === 'string' ? f.text.trim() : '';
  if (!text || text.length > TEXT_MAX) return { field: 'text', message: `text: 1-${TEXT_MAX} characters` };
  return { ok: { clientId: f.clientId, text } };
}

export function checkContact(f: Record<string, unknown>): Checked<VisitorContact & { clientId?: string }> {
  const out: VisitorContact & { clientId?: string } = {};
  if (f.clientId !== undefined) {
    if (typeof f.clientId !== 'string' || !CLIENT_ID.test(f.clientId))
      return { field: 'clientId', message: 'clientId: 1-64 of A-Z a-z 0-9 _ -' };
    out.clientId = f.clientId;
  }
  const rules: [keyof VisitorContact, (v: string) => boolean, string][] = [
    ['name', (v) => v.length <= 200, 'at most 200 characters'],
    ['phone', validPhone, 'a phone number (7-15 digits)'],
    ['email', (v) => EMAIL.test(v), 'an email address'],
  ];
  for (const [k, valid, what] of rules) {
    const v = f[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' || !valid(v.trim())) return { field: k, message: `${k}: must be ${what}` };
    if (v.trim()) out[k] = v.trim();
  }
  if (!out.phone && !out.email && !out.name)
    return { field: 'phone', message: 'phone: a contact needs a name, phone or email' };
  return { ok: out };
}

/**
 * The first field the widget requires before the first message that is neither given now nor already known
 * (given earlier, or on file for the visitor's client); undefined when nothing is missing.
 */
export function missingRequired(
  required: readonly PreChatField[],
  known: ReadonlySet<PreChatField>,
): PreChatField | undefined {
  return required.find((f) => !known.has(f));
}

export const contactFields = (c: VisitorContact): PreChatField[] =>
  (['name', 'phone', 'email'] as const).filter((f) => c[f] !== undefined);
