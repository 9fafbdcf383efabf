import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Bitrix24's telephony.externalcall.register answers a CALL_ID that the PBX passes back to .finish. This
 * connector keeps no state (it may not write CRM data), so the CALL_ID carries what .finish needs to build the
 * final event: base64url of a small JSON tuple, behind Bitrix's own "externalCall." prefix. It needs no
 * signature: .finish is authenticated with the line secret, and the line key inside must match the URL's.
 */
export interface RegisteredCall {
  line: string;
  externalCallId: string;
  phone: string;
  /** Bitrix TYPE: 1 outbound, 2 inbound, 3 inbound with redirect, 4 callback, 5 info call. */
  type: number;
  /** CALL_START_DATE as epoch seconds. */
  start: number;
  operator: string;
  lineNumber?: string;
}

const PREFIX = 'externalCall.';
const Tuple = z.tuple([
  z.literal(1),
  z.string().min(1),
  z.string().min(1),
  z.string(),
  z.number().int().min(1).max(5),
  // Epoch seconds of 1900-01-01 .. 9999-12-31 (lib/dates.ts): a forged CALL_ID cannot carry an unusable date.
  z.number().int().min(-2_208_988_800).max(253_402_300_799),
  z.string(),
  z.string().nullable(),
]);

export function encodeCallId(c: RegisteredCall): string {
  const tuple = [1, c.line, c.externalCallId, c.phone, c.type, c.start, c.operator, c.lineNumber ?? null];
  return PREFIX + Buffer.from(JSON.stringify(tuple), 'utf8').toString('base64url');
}

export function decodeCallId(callId: string): RegisteredCall | undefined {
  if (!callId.startsWith(PREFIX)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(callId.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const r = Tuple.safeParse(data);
  if (!r.success) return undefined;
  const [, line, externalCallId, phone, type, start, operator, lineNumber] = r.data;
  return { line, externalCallId, phone, type, start, operator, lineNumber: lineNumber ?? undefined };
}

/**
 * Without EXTERNAL_CALL_ID the call id is a hash of what identifies the call, so a retried register (same
 * CALL_START_DATE) answers the same CALL_ID and yields the same event.
 */
export function derivedCallId(c: Omit<RegisteredCall, 'externalCallId'>): string {
  const parts = [c.line, c.phone, c.type, c.start, c.operator, c.lineNumber ?? ''];
  return `b24.${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24)}`;
}
