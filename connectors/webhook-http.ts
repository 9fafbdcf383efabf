import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DATE_RANGE_TEXT, plausibleDate } from '../lib/dates.js';
import { AppError } from '../lib/errors.js';

/** The body exactly as received: signatures (Twilio, X-Signature) are computed over these bytes. */
export interface RawBody {
  contentType: string;
  text: string;
}

/** Single-valued parameters stay strings; repeated ones (Zammad's `user[]`) become arrays. */
export type Params = Record<string, string | string[]>;

/** FreeSWITCH CDRs with many channel variables reach a few hundred KB; leave room above the 256 KiB raw cap. */
export const BODY_LIMIT = 1024 * 1024;

/**
 * Replaces the inherited body parsers inside one webhook plugin only (telephony, messengers) (it is encapsulated, not wrapped in
 * fastify-plugin). Every content type is kept as a string: the adapters parse it themselves after checking the
 * signature, and FreeSWITCH sends `application/x-www-form-base64-encoded`, which no stock parser knows.
 */
export function keepRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    done(null, body);
  });
}

export function rawBody(req: FastifyRequest): RawBody {
  const header = req.headers['content-type'] ?? '';
  const contentType = header.split(';')[0]!.trim().toLowerCase() || 'application/octet-stream';
  return { contentType, text: typeof req.body === 'string' ? req.body : '' };
}

/** The query string of the request as the client sent it (Bitrix REST clients use GET with parameters). */
export function rawQuery(req: FastifyRequest): string {
  const at = req.url.indexOf('?');
  return at < 0 ? '' : req.url.slice(at + 1);
}

export function parseForm(text: string): Params {
  const out: Params = {};
  for (const [k, v] of new URLSearchParams(text)) {
    // PHP-style `user[]=a&user[]=b` (Zammad documents it) is one array parameter named `user`.
    const key = k.endsWith('[]') ? k.slice(0, -2) : k;
    const prev = out[key];
    if (prev === undefined) out[key] = k.endsWith('[]') ? [v] : v;
    else out[key] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function parseJson(text: string, field = 'body'): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('VALIDATION', `${field} is not valid JSON`, { fields: [field] });
  }
}

/** JSON or form parameters, whichever the sender chose: top-level scalars become strings, arrays string arrays. */
export function parseParams(body: RawBody): Params {
  if (!body.text.trim()) return {};
  const looksJson = body.contentType.includes('json') || /^\s*\{/.test(body.text);
  if (!looksJson) return parseForm(body.text);
  const data = parseJson(body.text);
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new AppError('VALIDATION', 'body must be a JSON object', { fields: ['body'] });
  }
  const out: Params = {};
  for (const [k, v] of Object.entries(data)) {
    if (Array.isArray(v)) out[k] = v.filter(isScalar).map(String);
    else if (isScalar(v)) out[k] = String(v);
  }
  return out;
}

const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** First value of a parameter, trimmed; empty means absent. */
export function param(p: Params, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = p[name];
    const first = (Array.isArray(v) ? v[0] : v)?.trim();
    if (first) return first;
  }
  return undefined;
}

/** Table lookup that ignores inherited keys: a vendor value `constructor` is unknown, not Object's constructor. */
export const lookup = <T>(table: Record<string, T>, key: string | undefined): T | undefined =>
  key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;

/** A zod failure as the 400 (or 422) the central error handler renders, every field named. */
export function invalid(error: z.ZodError, code: 'VALIDATION' | 'UNPROCESSABLE' = 'VALIDATION'): AppError {
  const path = (i: z.core.$ZodIssue) => i.path.map(String).join('.') || 'body';
  const fields = [...new Set(error.issues.map(path))];
  const message = error.issues.map((i) => `${path(i)}: ${i.message}`).join('; ');
  return new AppError(code, message, { fields });
}

export const fieldError = (
  field: string,
  message: string,
  code: 'VALIDATION' | 'UNPROCESSABLE' = 'VALIDATION',
) => new AppError(code, `${field}: ${message}`, { fields: [field] });

/** Seconds as a non-negative integer, or undefined for anything else (vendors send "", "0", "12.5"...). */
export function seconds(v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

/** A vendor's date, or undefined when it is absent or not a date the service takes (lib/dates.ts). */
export function date(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return plausibleDate(d) ? d : undefined;
}

/** A vendor's date field: absent is fine, present but not a usable date is a 400 naming the field. */
export function dateField(v: string | undefined, field: string): Date | undefined {
  if (!v) return undefined;
  const d = date(v);
  if (!d) throw fieldError(field, `must be a date ${DATE_RANGE_TEXT}`);
  return d;
}

export function httpUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  try {
    const u = new URL(v.trim());
    return u.protocol === 'https:' || u.protocol === 'http:' ? v.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Route schemas of webhook plugins are documentation (published at /docs), never validation: a webhook
 * authenticates first and validates after, so an unauthenticated caller learns nothing from schema errors, and
 * telephony bodies stay raw strings for signature checks. Call inside the (encapsulated) webhook plugin.
 */
export function schemasAreDocs(app: FastifyInstance): void {
  app.setValidatorCompiler(() => () => true);
}

/** A zod schema as OpenAPI JSON Schema, without the long date-time patterns zod spells out next to `format`. */
export function docSchema(schema: z.ZodType): Record<string, unknown> {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(o)
        .filter(([k]) => k !== '$schema' && !(k === 'pattern' && 'format' in o))
        .map(([k, x]) => [k, strip(x)]),
    );
  };
  return strip(z.toJSONSchema(schema, { unrepresentable: 'any' })) as Record<string, unknown>;
}

/** Form or JSON parameters, as the vendors' documents list them: every value is text. */
export const paramsDoc = (description: string, names: Record<string, string>, required: string[] = []) => ({
  type: 'object',
  description,
  additionalProperties: true,
  properties: Object.fromEntries(
    Object.entries(names).map(([k, d]) => [k, { type: 'string', description: d }]),
  ),
  ...(required.length ? { required } : {}),
});
