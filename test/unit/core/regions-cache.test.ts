import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../../crm-core/db/database.js';
import { createRegionsCache } from '../../../router/regions-cache.js';

/** A database that answers the regions query with a version number, counting the reads (or failing them). */
function regionsDb() {
  const state = { reads: 0, fail: false };
  const db: Queryable = {
    async query<R>() {
      state.reads += 1;
      if (state.fail) throw new Error('database away');
      return { rows: [{ id: state.reads, rules: [] }] as R[], rowCount: 1 };
    },
  };
  return { db, state };
}

describe('regions cache', () => {
  it('reads the rules once per TTL, and again at once after an invalidation', async () => {
    let now = 1_000;
    const cache = createRegionsCache(5_000, () => now);
    const { db, state } = regionsDb();
    expect((await cache.get(db))[0]!.id).toBe(1);
    now += 4_000;
    expect((await cache.get(db))[0]!.id).toBe(1);
    cache.invalidate();
    expect((await cache.get(db))[0]!.id).toBe(2);
    now += 5_001;
    expect((await cache.get(db))[0]!.id).toBe(3);
    expect(state.reads).toBe(3);
  });

  it('shares one read among concurrent callers and keeps no failed read', async () => {
    const cache = createRegionsCache(5_000, () => 0);
    const { db, state } = regionsDb();
    state.fail = true;
    const [a, b] = await Promise.allSettled([cache.get(db), cache.get(db)]);
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    expect(state.reads).toBe(1);
    state.fail = false;
    expect((await cache.get(db))[0]!.id).toBe(2);
  });
});
