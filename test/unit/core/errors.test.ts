import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, ErrorCodes, isRetriable } from '../../../lib/errors.js';

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
});
