import type { FormField, FormSettings } from '../../channels/settings.js';
import { AppError } from '../../lib/errors.js';

/**
 * Pure field handling: which of the submitted fields mean what (FormSettings.fieldMap, else our defaults and
 * their common aliases), their limits, the honeypot. No I/O here, so it is tested without HTTP.
 */

/** Field name -> every value sent under it (repeated keys and `phone[]` keep all values). A Map, so that a
 * field called `__proto__` or `constructor` is just data. */
export type FieldValues = Map<string, string[]>;

/** Names tried, in order, for a field the form's fieldMap does not map (case-insensitive). */
export const DEFAULT_NAMES: Record<FormField, readonly string[]> = {
  name: ['name', 'fio', 'full_name', 'fullname'],
  phone: ['phone', 'tel', 'phone_number', 'telephone', 'mobile'],
  email: ['email', 'e-mail', 'mail'],
  telegram: ['telegram', 'tg'],
  message: ['message', 'comment', 'text'],
  subject: ['subject'],
  region: ['region'],
  city: ['city'],
  utm_source: ['utm_source'],
  utm_medium: ['utm_medium'],
  utm_campaign: ['utm_campaign'],
  utm_term: ['utm_term'],
  utm_content: ['utm_content'],
};

/** Characters per value. The event schema allows more; these are what a human-filled form plausibly needs. */
export const MAX_LENGTH: Record<FormField, number> = {
  name: 200,
  phone: 50,
  email: 320,
  telegram: 100,
  message: 10_000,
  subject: 500,
  region: 200,
  city: 200,
  utm_source: 500,
  utm_medium: 500,
  utm_campaign: 500,
  utm_term: 500,
  utm_content: 500,
};
/** Values per multi-valued field (phones, emails, telegram ids): a form has one or two, a spammer hundreds. */
export const MAX_VALUES = 5;

export const IDENTITY_FIELDS = ['phone', 'email', 'telegram'] as const;

export interface Submission {
  name?: string;
  phones: string[];
  emails: string[];
  telegrams: string[];
  message?: string;
  subject?: string;
  region?: string;
  city?: string;
  utm: { source?: string; medium?: string; campaign?: string; term?: string; content?: string };
}

/** Adds a value under a field name; `phone[]` (PHP-style arrays) is stored as `phone`. */
export function addValue(values: FieldValues, key: string, value: string): void {
  const name = key.endsWith('[]') ? key.slice(0, -2) : key;
  const list = values.get(name);
  if (list) list.push(value);
  else values.set(name, [value]);
}

/** All non-empty trimmed values of one of our fields, with the form field name they came from. */
function lookup(
  index: FieldValues,
  form: FormSettings,
  field: FormField,
): { from: string; values: string[] } {
  const mapped = form.fieldMap[field];
  // A mapped field uses only its mapping: a form that maps `phone` to `contact` may use `phone` for something else.
  const names = mapped ? [mapped] : DEFAULT_NAMES[field];
  const out: string[] = [];
  let from = mapped ?? field;
  for (const n of names) {
    const found = (index.get(n.toLowerCase()) ?? []).map((v) => v.trim()).filter(Boolean);
    if (found.length && !out.length) from = n;
    out.push(...found);
  }
  return { from, values: out };
}

function lowerIndex(values: FieldValues): FieldValues {
  const index: FieldValues = new Map();
  for (const [k, vs] of values) for (const v of vs) addValue(index, k.toLowerCase(), v);
  return index;
}

function queryValues(query: unknown): FieldValues {
  const values: FieldValues = new Map();
  if (query && typeof query === 'object') {
    for (const [k, v] of Object.entries(query)) {
      for (const s of Array.isArray(v) ? v : [v]) if (typeof s === 'string') addValue(values, k, s);
    }
  }
  return values;
}

/**
 * Reads our fields out of a submission and checks their limits (400 VALIDATION naming the field) and that the
 * client can be reached at all (422 UNPROCESSABLE). A phone or email that does not parse is kept as sent:
 * identity normalisation marks it valid:false and an operator can still read it.
 */
export function extractSubmission(values: FieldValues, query: unknown, form: FormSettings): Submission {
  const body = lowerIndex(values);
  const qs = lowerIndex(queryValues(query));
  const read = (field: FormField, many = false): string[] => {
    let hit = lookup(body, form, field);
    // UTM tags usually live in the page URL; a form that forwards them as hidden fields wins.
    if (!hit.values.length && field.startsWith('utm_')) hit = lookup(qs, form, field);
    // One value for plain fields (the first filled one wins); identities keep several, within reason.
    const taken = many ? hit.values : hit.values.slice(0, 1);
    if (taken.length > MAX_VALUES) {
      throw new AppError('VALIDATION', `${field}: at most ${MAX_VALUES} values allowed`, { fields: [field] });
    }
    for (const v of taken) {
      if (v.length > MAX_LENGTH[field]) {
        const alias = hit.from === field ? '' : ` (form field "${hit.from}")`;
        throw new AppError('VALIDATION', `${field}${alias} is longer than ${MAX_LENGTH[field]} characters`, {
          fields: [field],
        });
      }
    }
    return taken;
  };
  const one = (field: FormField) => read(field)[0];

  const sub: Submission = {
    name: one('name'),
    phones: read('phone', true),
    emails: read('email', true),
    telegrams: read('telegram', true),
    message: one('message'),
    subject: one('subject'),
    region: one('region'),
    city: one('city'),
    utm: {
      source: one('utm_source'),
      medium: one('utm_medium'),
      campaign: one('utm_campaign'),
      term: one('utm_term'),
      content: one('utm_content'),
    },
  };
  if (!sub.phones.length && !sub.emails.length && !sub.telegrams.length) {
    throw new AppError(
      'UNPROCESSABLE',
      'the form has no contact: fill in at least one of phone, email, telegram',
      {
        fields: [...IDENTITY_FIELDS],
      },
    );
  }
  return sub;
}

/** True when the form has a honeypot field and a (bot) filled it in. Humans never see the field. */
export function honeypotFilled(values: FieldValues, form: FormSettings): boolean {
  const trap = form.honeypotField?.toLowerCase();
  if (!trap) return false;
  for (const [k, vs] of values) if (k.toLowerCase() === trap && vs.some((v) => v.trim())) return true;
  return false;
}
