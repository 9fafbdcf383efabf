import { createHash } from 'node:crypto';
import pg from 'pg';
import { AppError, DB_RETRY_AFTER_SEC, isAppError, isDatabaseAway } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Database, Queryable, QueryResult } from './database.js';

// BIGINT (int8) and NUMERIC come back as strings by default; counts and ids here fit in a JS number.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface PgDatabaseOptions {
  connectionString: string;
  max?: number;
  /** Connections of the fast lane (Database.fastLane), a pool of its own; default 2, opened when first used. */
  fastLaneMax?: number;
  /** Told about lost connections (they never end the process); silent without one. */
  logger?: Logger;
}

/**
 * While the database is away (restart, crash, refused connections), every call here rejects with AppError
 * DB_UNAVAILABLE (retriable, HTTP 503 + Retry-After) carrying the driver's error as its cause; an answer from a
 * running database (constraint, data, syntax errors) passes through unchanged, with its SQLSTATE `code`.
 */
export function createPgDatabase(opts: PgDatabaseOptions): Database {
  const log = opts.logger?.child({ component: 'pg' });
  const newPool = (max: number, planCacheMode: PlanCacheMode) => {
    const p = new pg.Pool({
      connectionString: withSessionSettings(opts.connectionString, planCacheMode),
      max,
    });
    // A connection lost while a client is checked out (mid-transaction) is emitted as 'error' on that client;
    // unheard, it would end the process. The pool's own listener covers idle clients only, so every client gets
    // one for its whole life. The query that was running rejects on its own, and the client is not reused.
    p.on('connect', (client) => {
      client.on('error', (err) => log?.warn({ err: describe(err) }, 'database connection lost'));
    });
    // An idle client losing its connection (server restart) is removed and replaced by the pool.
    p.on('error', (err) => log?.debug({ err: describe(err) }, 'idle database connection lost'));
    return p;
  };
  const pool = newPool(opts.max ?? 10, 'force_custom_plan');
  // The routing answer's own connections: with ingestion holding every pooled connection in router transactions,
  // a PBX would otherwise wait for one of them to commit (pg.Pool connects lazily: unused, it costs nothing).
  // Its statements are few and written for a generic plan (see withSessionSettings).
  const lanePool = newPool(opts.fastLaneMax ?? 2, 'force_generic_plan');

  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      // Parameterised statements are prepared once per connection under a name derived from their text:
      // the hot paths (router batches, the PBX routing answer) then skip parsing on every call.
      const r = await away(() =>
        params?.length
          ? c.query({ name: statementName(text), text, values: params as unknown[] })
          : c.query(text),
      );
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
  });
  return {
    kind: 'pg',
    ...wrap(pool),
    fastLane: wrap(lanePool),
    async transaction(fn) {
      const client = await away(() => pool.connect());
      // A client whose connection broke must leave the pool, not serve the next transaction.
      let broken: Error | undefined;
      try {
        await away(() => client.query('BEGIN'));
        const out = await fn(wrap(client));
        await away(() => client.query('COMMIT'));
        return out;
      } catch (err) {
        if (isDatabaseAway(err)) broken = err as Error;
        else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async exec(sql) {
      await away(() => pool.query(sql));
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      await Promise.all([pool.end(), lanePool.end()]);
    },
  };
}

/** Runs one driver call; a database-away failure becomes DB_UNAVAILABLE, anything else is rethrown as is. */
async function away<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isDatabaseAway(err) && !isAppError(err)) {
      throw new AppError('DB_UNAVAILABLE', 'the database cannot be reached now; try again shortly', {
        cause: describe(err),
        retryAfterSec: DB_RETRY_AFTER_SEC,
      });
    }
    throw err;
  }
}

/** What is worth keeping of a driver error: its code and message, never the statement's parameters. */
function describe(err: unknown): Error {
  const e = err as Error & { code?: string };
  return Object.assign(new Error(e?.message ?? String(err)), e?.code ? { code: e.code } : {});
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

type PlanCacheMode = 'force_custom_plan' | 'force_generic_plan';

/**
 * Prepared statements (above) skip parsing; on the main pool planning still happens per execution, because a
 * generic plan cannot see how many ids an unnest()/ANY() array holds and picks sequential scans as tables grow.
 * The fast lane runs one statement with a handful of identities (routingSnapshot), whose planning costs several
 * times its execution: there the generic plan is planned once per connection and again whenever ANALYZE updates
 * the tables' statistics (PostgreSQL re-plans a prepared statement then), so it follows the tables as they grow.
 *
 * JIT is off. Batch statements over a few hundred ids are planned as costly (each row probes several indexes)
 * and cross jit_above_cost, yet run in a few milliseconds: compiling took 100-170 ms per statement (auto_explain
 * on the WhatsApp bench: the console's notices after each router batch), and the console's work list spent 4.6 s
 * compiling for 0.25 s of work (bench/console-work.ts). Nothing the service runs is long enough to earn it back.
 *
 * Set as startup options, so they hold on every connection from its first statement (kept with any options given).
 */
function withSessionSettings(connectionString: string, planCacheMode: PlanCacheMode): string {
  const url = new URL(connectionString);
  const given = url.searchParams.get('options');
  url.searchParams.set(
    'options',
    [given, `-c plan_cache_mode=${planCacheMode}`, '-c jit=off'].filter(Boolean).join(' '),
  );
  return url.toString();
}
