import { createHash } from 'node:crypto';

/**
 * A uuid-shaped id (v5 layout, SHA-1) derived from its parts, joined by NUL: the same vendor delivery always
 * gets the same event id, which is what makes redelivery and vendor retries harmless downstream.
 */
export function stableUuid(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\0')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
