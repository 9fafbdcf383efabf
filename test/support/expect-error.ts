import { expect } from 'vitest';

/** The body every 4xx/5xx has: `{ error: { code, message, fields? } }`. */
export interface ErrorAnswer {
  statusCode: number;
  json(): { error?: { code?: string; message?: string; fields?: string[] } };
}

/** An answer in the documented error format, with this status and code, naming `field` (message starts with it). */
export function expectError(r: ErrorAnswer, status: number, code: string, field?: string): void {
  expect(r.statusCode).toBe(status);
  const error = r.json().error;
  expect(error).toMatchObject({ code, message: expect.any(String) });
  if (field !== undefined) {
    expect(error?.fields).toEqual([field]);
    expect(error?.message?.startsWith(`${field}: `), error?.message).toBe(true);
  }
}
