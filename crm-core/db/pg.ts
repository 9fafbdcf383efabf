import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Database, Queryable, QueryResult } from './database.js';

// BIGINT (int8) and NUMERIC come back as strings by default; counts and ids here fit in a JS number.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export function createPgDatabase(opts: { connectionString: string; max?: number }): Database {
  const pool = new pg.Pool({
    connectionString: withSessionSettings(opts.connectionString),
    max: opts.max ?? 10,
  });
  // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      // Parameterised statements are prepared once per connection under a name derived from their text:
      // the hot paths (router batches, the PBX routing answer) then skip parsing on every call.
      const r = params?.length
        ? await c.query({ name: statementName(text), text, values: params as unknown[] })
        : await c.query(text);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
  });
  return {
    kind: 'pg',
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
}

const names = new Map<string, string>();
function statementName(text: string): string {
  let n = names.get(text);
  if (!n) {
    n = `s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, n);
  }
  return n;
}

/**
 * Prepared statements (above) skip parsing; planning still happens per execution, because a generic plan
 * cannot see how many ids an unnest()/ANY() array holds and picks sequential scans as tables grow. Set as a
 * startup option, so it holds on every connection from its first statement (kept with any options given).
 */
function withSessionSettings(connectionString: string): string {
  const url = new URL(connectionString);
  const given = url.searchParams.get('options');
  url.searchParams.set('options', [given, '-c plan_cache_mode=force_custom_plan'].filter(Boolean).join(' '));
  return url.toString();
}
