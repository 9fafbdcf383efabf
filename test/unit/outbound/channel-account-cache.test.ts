import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../../crm-core/db/database.js';
import { cachedChannelAccount } from '../../../outbound/messengers/channel-account.js';

const row = {
  key: 'tg-bot',
  vendor: 'telegram',
  name: 'Bot',
  settings: {},
  secrets: { token: 't' },
  source: null,
  region_id: null,
  active: true,
};

/** A connection that answers with `rows` and counts its queries; `stalled` never answers (a pool with none free). */
function connection(rows: unknown[], stalled = false) {
  const c = {
    queries: 0,
    query: (() => {
      c.queries += 1;
      return stalled ? new Promise(() => {}) : Promise.resolve({ rows, rowCount: rows.length });
    }) as unknown as Queryable['query'],
  };
  return c;
}

describe('cached channel account', () => {
  it('a miss reads with its own connection, never waiting for another caller’s read', async () => {
    const accountOf = cachedChannelAccount(5_000);
    const pool = connection([row], true);
    const tx = connection([row]);
    void accountOf(pool, 'telegram', 'tg-bot'); // the outbox's read, queued for a pooled connection
    // A reply's transaction asks meanwhile: it must not join the stalled read (that would wait for ever).
    await expect(accountOf(tx, 'telegram', 'tg-bot')).resolves.toMatchObject({ key: 'tg-bot', token: 't' });
    expect(tx.queries).toBe(1);
  });

  it('keeps a found account for the TTL, and a missing one not at all', async () => {
    let t = 0;
    const accountOf = cachedChannelAccount(5_000, () => t);
    const db = connection([row]);
    await accountOf(db, 'telegram', 'tg-bot');
    t = 4_999;
    await accountOf(db, 'telegram', 'tg-bot');
    expect(db.queries).toBe(1);
    t = 5_000;
    await accountOf(db, 'telegram', 'tg-bot');
    expect(db.queries).toBe(2);
    const none = connection([]);
    expect(await accountOf(none, 'telegram', 'gone')).toBeUndefined();
    expect(await accountOf(none, 'telegram', 'gone')).toBeUndefined();
    expect(none.queries).toBe(2);
  });
});
