import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, resolveOptions } from '../../../connectors/email/options.js';
import { AppError } from '../../../lib/errors.js';

describe('email connector options', () => {
  it('defaults fill what is not given; undefined does not erase a default', () => {
    const o = resolveOptions({ batchSize: 5, pollIntervalMs: undefined });
    expect(o.batchSize).toBe(5);
    expect(o.pollIntervalMs).toBe(DEFAULT_OPTIONS.pollIntervalMs);
  });
  it('a socket timeout below the poll interval would kill every idle connection: refused at start-up', () => {
    expect(() => resolveOptions({ pollIntervalMs: 60_000, socketTimeoutMs: 30_000 })).toThrow(AppError);
  });
});
