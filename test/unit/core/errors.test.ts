import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  ErrorCodes,
  isDatabaseAway,
  isDatabaseAwayCode,
  isRetriable,
} from '../../../lib/errors.js';
import { RetriesExhaustedError, retry } from '../../../lib/retry.js';

describe('error registry', () => {
  it('documents every code, in the registry and in the README', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const [code, def] of Object.entries(ErrorCodes)) {
      expect(def.doc.length, code).toBeGreaterThan(10);
      if (def.status < 500 || code === 'BUS_UNAVAILABLE' || code === 'INTERNAL')
        expect(readme, code).toContain(`\`${code}\``);
    }
  });
  it('tells retry loops what can help', () => {
    expect(isRetriable(new AppError('IDENTITY_RACE', 'x'))).toBe(true);
    expect(isRetriable(new AppError('VALIDATION', 'x'))).toBe(false);
    expect(isRetriable(new TypeError('bug'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('deadlock'), { code: '40P01' }))).toBe(true);
  });

  it('treats a database that is away as retriable, and a database that answers as final', () => {
    const pgErr = (code: string) => Object.assign(new Error(code), { code });
    for (const code of ['08006', '08001', '08003', '08P01', '57P01', '57P02', '57P03', '53300']) {
      expect(isDatabaseAwayCode(code), code).toBe(true);
      expect(isRetriable(pgErr(code)), code).toBe(true);
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET']) expect(isRetriable(pgErr(code)), code).toBe(true);
    expect(isDatabaseAway(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isRetriable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseAway(new AppError('DB_UNAVAILABLE', 'x'))).toBe(true);
    // A running database refusing one event's data: poison, not an outage.
    for (const code of ['23505', '23503', '22P02', '22007', '42P01', '57014']) {
      expect(isDatabaseAwayCode(code), code).toBe(false);
      expect(isRetriable(pgErr(code)), code).toBe(false);
    }
    expect(isDatabaseAway(new Error('some other failure'))).toBe(false);
  });
  it('keeps an outage retriable after the retry helper gave up on it', async () => {
    const outage = await retry(
      () => Promise.reject(Object.assign(new Error('cannot connect now'), { code: '57P03' })),
      { retries: 2, initialDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(outage).toBeInstanceOf(RetriesExhaustedError);
    expect(isRetriable(outage)).toBe(true);
    const race = new RetriesExhaustedError(3, new AppError('IDENTITY_RACE', 'x'));
    expect(isRetriable(race)).toBe(true);
    expect(isRetriable(new RetriesExhaustedError(3, new AppError('VALIDATION', 'x')))).toBe(false);
  });
});
