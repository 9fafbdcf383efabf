import { table } from './stats.js';

/**
 * One figure the issues set a target for, as measured in this run. Sections return theirs and run.ts prints them
 * together at the end, next to the ceilings of the same run, so one table says what is met and what is not.
 */
export interface TargetCheck {
  /** What is measured, e.g. "PBX routing answer p99 at 500 req/s". */
  figure: string;
  /** The measured value, formatted. */
  measured: string;
  /** The target, formatted, e.g. "≤ 10 ms". */
  target: string;
  /** Undefined when the figure could not be measured in this run. */
  met: boolean | undefined;
  /** The raw ceiling it is compared with in this run, when there is one. */
  ceiling?: string;
}

/** A check against a limit: NaN or a missing value is "not measured", never "met". */
function limitCheck(
  kind: '≤' | '≥',
  figure: string,
  value: number,
  limit: number,
  fmt: (v: number) => string,
): TargetCheck {
  const measured = Number.isFinite(value);
  return {
    figure,
    measured: measured ? fmt(value) : 'n/a',
    target: `${kind} ${fmt(limit)}`,
    met: measured ? (kind === '≤' ? value <= limit : value >= limit) : undefined,
  };
}

export const atMost = (figure: string, value: number, limit: number, fmt: (v: number) => string) =>
  limitCheck('≤', figure, value, limit, fmt);
export const atLeast = (figure: string, value: number, limit: number, fmt: (v: number) => string) =>
  limitCheck('≥', figure, value, limit, fmt);

export function targetsTable(checks: TargetCheck[]): string {
  const mark = (c: TargetCheck) => (c.met === undefined ? 'not measured' : c.met ? '✓ met' : '✗ missed');
  return table(
    ['Figure', 'Measured', 'Target', '', 'Ceiling, same run'],
    checks.map((c) => [c.figure, c.measured, c.target, mark(c), c.ceiling ?? '']),
    true,
  );
}
