import { isSafeNumber, parse } from 'lossless-json';
import { AppError } from './errors.js';

/**
 * JSON.parse that never rounds a number: integers beyond 2^53 (Viber's message_token, 4912661846655238145 in its
 * own documentation) come back as their exact decimal string, every other number as a number. Vendor ids
 * are compared as strings anyway, so a token keeps its identity from the send answer to its status callback.
 */
export function parseJsonExact(text: string, field = 'body'): unknown {
  try {
    return parse(text, null, (digits) => (isSafeNumber(digits) ? Number(digits) : digits));
  } catch {
    throw new AppError('VALIDATION', `${field} is not valid JSON`, { fields: [field] });
  }
}
