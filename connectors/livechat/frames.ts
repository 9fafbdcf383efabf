import type { VisitorContact } from './events.js';

/**
 * Checks of what a visitor sends: the widget checks the same before sending, so an answer here is a bug or a
 * hand-written client; it names the field, and nothing is published.
 */
export const TEXT_MAX = 4_096;
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PHONE = /^[0-9+()\-.\s]{5,30}$/;
const EMAIL = /^[^\s@]{1,200}@[^\s@]{1,200}$/;

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
    ['phone', (v) => PHONE.test(v), 'a phone number'],
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
