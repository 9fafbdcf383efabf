import { plausibleDate } from '../../lib/dates.js';
import { fieldError, parseJson, type RawBody } from '../webhook-http.js';

/** The parts of a mod_json_cdr record this connector reads (see switch_ivr_generate_json_cdr). */
export interface JsonCdr {
  variables: Record<string, unknown>;
  callflow?: unknown;
  channel_data?: { direction?: string };
}

export interface CallerProfile {
  caller_id_number?: string;
  caller_id_name?: string;
  destination_number?: string;
  uuid?: string;
  originator?: { originator_caller_profiles?: CallerProfile[] };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** mod_json_cdr's base64 mode uses this non-standard content type for a `cdr=<base64>` body. */
export const BASE64_FORM = 'application/x-www-form-base64-encoded';

/**
 * The three wire encodings of json_cdr.conf's `encode` setting:
 *   false  → the JSON itself, application/json;
 *   true   → `cdr=<url-encoded JSON>`, application/x-www-form-urlencoded;
 *   base64 → `cdr=<base64 JSON>`, application/x-www-form-base64-encoded (not url-encoded: '+' is literal).
 */
export function decodeCdrBody(body: RawBody): JsonCdr {
  const text = body.text.trim();
  let json: string;
  if (text.startsWith('{')) {
    json = text;
  } else if (text.startsWith('cdr=')) {
    const value =
      body.contentType === BASE64_FORM
        ? percentDecoded(text.slice(4))
        : (new URLSearchParams(text).get('cdr') ?? '');
    json = value.trimStart().startsWith('{') ? value : fromBase64(value);
  } else {
    throw fieldError('cdr', 'expected a JSON CDR, cdr=<url-encoded JSON> or cdr=<base64 JSON>');
  }
  const data = parseJson(json, 'cdr');
  if (!isObject(data) || !isObject(data.variables))
    throw fieldError('cdr.variables', 'is required (an object)');
  return data as unknown as JsonCdr;
}

/** A proxy may have url-encoded the base64 after all ('%2B'); plain base64 has no '%'. */
const percentDecoded = (v: string) => (v.includes('%') ? safeDecode(v) : v);

// If the base64 went through a form decoder, its '+' became ' '.
const fromBase64 = (v: string) => Buffer.from(v.replace(/ /g, '+'), 'base64').toString('utf8');

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v; // a literal '%' in a value that was never encoded (encode-values=false)
  }
}

/**
 * Channel variables, url-decoded: mod_json_cdr url-encodes every value by default (`encode-values`), so a caller
 * arrives as "%2B74951234567". Decoding a value that was not encoded leaves it unchanged unless it holds '%xx'.
 */
export function cdrVariables(cdr: JsonCdr): (name: string) => string | undefined {
  return (name) => {
    const v = cdr.variables[name];
    if (typeof v !== 'string' && typeof v !== 'number') return undefined;
    const text = safeDecode(String(v)).trim();
    return text || undefined;
  };
}

/**
 * The original caller profile. `callflow` is an array in current FreeSWITCH (newest profile first) and, in
 * older releases, repeated "callflow" keys, of which JSON.parse keeps the last — also the oldest. The oldest
 * one holds the number the client dialled, before any transfer.
 */
export function originalProfile(cdr: JsonCdr): CallerProfile | undefined {
  const list = Array.isArray(cdr.callflow) ? cdr.callflow : cdr.callflow ? [cdr.callflow] : [];
  const flow = list[list.length - 1];
  return isObject(flow) && isObject(flow.caller_profile) ? (flow.caller_profile as CallerProfile) : undefined;
}

/** Epoch seconds as a Date; FreeSWITCH writes "0" for what never happened (answer_epoch of a missed call). */
export function epoch(v: string | undefined): Date | undefined {
  const n = Number(v);
  const d = v && Number.isFinite(n) && n > 0 ? new Date(n * 1000) : undefined;
  // A CDR holds many times; one the service cannot store is left out rather than losing the call record.
  return plausibleDate(d) ? d : undefined;
}

/** "2025-11-12 10:21:52" stamps carry no zone: they are the switch's local time, given as options.timezoneOffset. */
export function stamp(v: string | undefined, offset: string): Date | undefined {
  if (!v || !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v)) return undefined;
  const d = new Date(`${v.replace(' ', 'T')}${offset}`);
  return plausibleDate(d) ? d : undefined;
}
