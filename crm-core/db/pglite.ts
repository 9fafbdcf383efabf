import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult } from './database.js';

/**
 * Embedded PostgreSQL (WASM). One connection: statements and transactions are serialised by a queue here
 * so that a transaction never interleaves with another caller's statements.
 */
export async function createPgliteDatabase(opts: { dataDir?: string }): Promise<Database> {
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const db = await PGlite.create(opts.dataDir);
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
  const raw: Queryable = {
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await db.query<R>(text, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
  };
  return {
    kind: 'pglite',
    query: (text, params) => serial(() => raw.query(text, params)),
    transaction: (fn) =>
      serial(async () => {
        await db.exec('BEGIN');
        try {
          const out = await fn(raw);
          await db.exec('COMMIT');
          return out;
        } catch (err) {
          await db.exec('ROLLBACK').catch(() => {});
          throw err;
        }
      }),
    exec: (sql) =>
      serial(async () => {
        await db.exec(sql);
      }),
    async ping() {
      return !db.closed;
    },
    close: () => db.close(),
  };
}
