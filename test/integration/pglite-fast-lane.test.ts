import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../crm-core/db/database.js';
import { createPgliteDatabase, sqlLiteral } from '../../crm-core/db/pglite.js';

/**
 * The embedded default's fast lane (the PBX routing answer): statements prepared once and executed with their
 * values as literals, ahead of whatever waits for PGlite's one connection. What it returns must be exactly what
 * a plain query returns, whatever the values hold.
 */
describe('PGlite fast lane', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createPgliteDatabase({});
    await db.exec(`CREATE TABLE t (id int PRIMARY KEY, kind text, value text, at timestamptz, tags jsonb)`);
    await db.query(
      `INSERT INTO t SELECT i, CASE WHEN i % 2 = 0 THEN 'phone' ELSE 'email' END, 'v' || i, now(), '{"a":1}'
         FROM generate_series(1, 50) AS i`,
    );
    await db.query(`INSERT INTO t VALUES (100, 'phone', $1, now(), NULL)`, [`it's "quoted" \\ {x,y} ''`]);
  }, 60_000);
  afterAll(() => db?.close());

  const nasty = [`it's "quoted" \\ {x,y} ''`, 'v1', "'; DROP TABLE t; --", 'NULL', '', 'ü €'];

  it('returns what a plain query returns, for array, scalar and null parameters, again and again', async () => {
    const sql = `SELECT t.id, t.value FROM t JOIN unnest($1::text[], $2::text[]) AS k(kind, value)
                   ON t.kind = k.kind AND t.value = k.value WHERE $3::int IS NULL OR t.id <> $3::int ORDER BY t.id`;
    const lane = db.fastLane!;
    expect(lane).toBeDefined();
    for (let run = 0; run < 8; run++) {
      for (const skip of [null, 2]) {
        const params = [['phone', 'email', 'phone', 'phone'], ['v2', 'v1', nasty[0], 'v4'], skip];
        const plain = await db.query(sql, params);
        const fast = await lane.query(sql, params);
        expect(fast.rows).toEqual(plain.rows);
        expect(fast.rows.length).toBe(skip === null ? 4 : 3);
      }
    }
    // Prepared once: the server holds one statement for the text, however often it ran.
    const held = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'fast_lane_%'`,
    );
    expect(held.rows[0]!.n).toBe(1);
  });

  it('keeps any text intact as a literal (quotes, backslashes, braces, SQL)', async () => {
    for (const v of nasty) {
      const r = await db.fastLane!.query<{ a: string; b: string[] }>(
        'SELECT $1::text AS a, $2::text[] AS b',
        [v, [v, null, v]],
      );
      expect(r.rows[0]).toEqual({ a: v, b: [v, null, v] });
    }
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]!.n).toBe(51);
  });

  it('runs a text PostgreSQL cannot prepare as a plain query', async () => {
    // $1 alone has no inferable type: PREPARE refuses it; the plain query sends it as text.
    const r = await db.fastLane!.query<{ v: string }>('SELECT $1 AS v', ['x']);
    expect(r.rows).toEqual([{ v: 'x' }]);
  });

  it('goes ahead of statements still waiting for the connection', async () => {
    const order: string[] = [];
    const slow = db.transaction(async (tx) => {
      await tx.query('SELECT pg_sleep(0.2)');
      order.push('tx1');
    });
    const queued = db.query('SELECT 1').then(() => order.push('queued'));
    const fast = db
      .fastLane!.query('SELECT id FROM t WHERE id = $1::int', [1])
      .then(() => order.push('fast'));
    await Promise.all([slow, queued, fast]);
    expect(order).toEqual(['tx1', 'fast', 'queued']);
  });

  it('formats literals', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(true)).toBe('true');
    expect(sqlLiteral("a'b")).toBe("'a''b'");
    expect(sqlLiteral(['a"b', 'c\\d', null])).toBe(`'{"a\\"b","c\\\\d",NULL}'`);
    expect(() => sqlLiteral(Number.NaN)).toThrow();
    expect(() => sqlLiteral([[1]])).toThrow();
  });
});
