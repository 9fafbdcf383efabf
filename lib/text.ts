/**
 * What the service does with characters that no column can hold or no reader wants, decided once:
 *
 * - NUL and the other C0 control characters except tab, line feed and carriage return: PostgreSQL cannot
 *   store NUL in text or jsonb at all, and the others are never meant in a name, a number or an id.
 * - Lone UTF-16 surrogates (`\ud800` without its pair): not Unicode text; PostgreSQL refuses them in jsonb.
 *
 * API and admin input containing them is refused (400 naming the field, `findUnsafeText`): an administrator
 * or a console can correct what it sends. What becomes an inbound contact (forms, telephony, mail) has them
 * removed (`cleanText`): a vendor told 4xx drops the contact and one told 5xx retries it forever, while the
 * characters carry no meaning, so the contact is kept without them.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above.
const CONTROL_TEST = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const LONE_SURROGATE_TEST = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be taken as it is, or undefined when it can. */
export function unsafeTextReason(s: string): string | undefined {
  if (CONTROL_TEST.test(s))
    return 'must not contain control characters (NUL, \\u0001-\\u001f except tab and line breaks)';
  if (LONE_SURROGATE_TEST.test(s)) return 'must be valid Unicode (it holds a lone UTF-16 surrogate)';
  return undefined;
}

/** ES2024, in every Node this service supports (≥ 20); the project's TypeScript lib is ES2022. */
type WellFormed = string & { isWellFormed(): boolean };

/** The string without control characters, lone surrogates replaced by U+FFFD (as a UTF-8 encoder would). */
export function cleanString(s: string): string {
  // Almost every string is clean: one scan with a plain character class and V8's native well-formedness check
  // instead of two replacing passes (the surrogate one with look-arounds) over every field and raw body.
  if (!CONTROL_TEST.test(s) && (s as WellFormed).isWellFormed()) return s;
  return s.replace(CONTROL, '').replace(LONE_SURROGATE, '\ufffd');
}

/** Deep copy of plain data with every string (and object key) cleaned; Dates and other objects kept as they are. */
export function cleanText<T>(value: T): T {
  if (typeof value === 'string') return cleanString(value) as T;
  if (Array.isArray(value)) return value.map(cleanText) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[cleanString(k)] = cleanText(v);
    return out as T;
  }
  return value;
}

/**
 * The first string or object key in parsed input that `unsafeTextReason` refuses, as a dotted path
 * (`options.auth`, `rules.0.value`), or undefined. A bad key is named by its parent's path plus the cleaned key.
 */
export function findUnsafeText(
  value: unknown,
  path: string[] = [],
  depth = 0,
): { field: string; reason: string } | undefined {
  const at = (p: string[]) => p.join('.') || 'body';
  if (typeof value === 'string') {
    const reason = unsafeTextReason(value);
    return reason ? { field: at(path), reason } : undefined;
  }
  // Parsed JSON is a tree; the depth bound only guards against a pathological structure.
  if (!value || typeof value !== 'object' || depth > 64) return undefined;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [k, v] of entries) {
    const keyReason = unsafeTextReason(k);
    if (keyReason) return { field: at([...path, cleanString(k)]), reason: `name ${keyReason}` };
    const found = findUnsafeText(v, [...path, k], depth + 1);
    if (found) return found;
  }
  return undefined;
}
