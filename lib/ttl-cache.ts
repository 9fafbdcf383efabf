/**
 * A small read-through cache for settings read on every request (telephony lines, forms). Only found values
 * are kept, for ttlMs: a newly created line works at once; a changed or removed one is seen within ttlMs.
 * Concurrent misses for one key share one load.
 */
export function ttlCache<V>(load: (key: string) => Promise<V | undefined>, ttlMs: number) {
  const entries = new Map<string, { at: number; value: Promise<V | undefined> }>();
  return async (key: string): Promise<V | undefined> => {
    const hit = entries.get(key);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    const value = load(key);
    entries.set(key, { at: Date.now(), value });
    try {
      const v = await value;
      if (v === undefined) entries.delete(key);
      return v;
    } catch (err) {
      entries.delete(key);
      throw err;
    }
  };
}
