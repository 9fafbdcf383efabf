/** Small numeric helpers for the bench: percentiles over raw samples, and fixed-width formatting. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarise(values: number[]): Summary {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    mean: s.length ? sum / s.length : Number.NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
  };
}

/** 12345.6 -> "12,346"; NaN/undefined -> "n/a". */
export function int(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : Math.round(v).toLocaleString('en-US');
}

/** Milliseconds with sensible precision: 0.42 ms, 7.3 ms, 182 ms. */
export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 10) return `${v.toFixed(1)} ms`;
  return `${Math.round(v).toLocaleString('en-US')} ms`;
}

export function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? 'n/a' : `${Math.round(v * 100)}%`;
}

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

/** Renders rows as an aligned plain-text table (for the console) or a markdown table. */
export function table(head: string[], rows: string[][], markdown = false): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    markdown
      ? `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
      : cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const sep = markdown
    ? `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`
    : widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), sep, ...rows.map(line)].join('\n');
}
