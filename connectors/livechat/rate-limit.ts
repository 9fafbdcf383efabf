/**
 * Token buckets per key (a visitor, an IP address), in process: each instance limits what reaches it, which
 * bounds what one visitor or address can make the bus and the operators carry. `perMinute` tokens refill evenly;
 * a bucket starts full, so a short burst passes. Idle buckets are forgotten, so memory follows active keys.
 */
export interface RateLimiter {
  /** Takes one token; undefined when allowed, else the seconds until one is available. */
  take(key: string): number | undefined;
}

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = perMinute / 60_000;
  let sweptAt = now();
  return {
    take(key) {
      const t = now();
      if (t - sweptAt > 60_000) {
        // A bucket idle for a minute is full again: dropping it changes nothing.
        for (const [k, b] of buckets) if (t - b.at > 60_000) buckets.delete(k);
        sweptAt = t;
      }
      const b = buckets.get(key) ?? { tokens: perMinute, at: t };
      b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * perMs);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return undefined;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
    },
  };
}
