import { isInteger, isSafeNumber, parse } from 'lossless-json';
import { AppError } from './errors.js';

/**
 * JSON.parse that never rounds an integer: integers beyond 2^53 (Viber's message_token, 4912661846655238145 in
 * its own documentation) come back as their exact decimal string, every other number as a number (fractions as
 * JSON.parse reads them). Vendor ids are compared as strings anyway, so a token keeps its identity from the send
 * answer to its status callback. A text without a run of 16 digits cannot hold such an integer and takes the
 * native parser, three times faster.
 */
const exactInteger = (digits: string) =>
  isInteger(digits) && !isSafeNumber(digits) ? digits : Number(digits);

export function parseJsonExact(text: string, field = 'body'): unknown {
  try {
    return /\d{16}/.test(text) ? parse(text, null, exactInteger) : JSON.parse(text);
  } catch {
    throw new AppError('VALIDATION', `${field} is not valid JSON`, { fields: [field] });
  }
}
