/**
 * The database seam: the same SQL runs on a `pg` Pool (DATABASE_URL set) and on PGlite (embedded default).
 * Services never see which one; repositories take a Queryable so they work inside or outside a transaction.
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /**
   * A few connections of their own for a short read that must never queue behind transactions waiting for a
   * pooled connection: the PBX routing answer. Absent where there is one connection (PGlite): use the database.
   */
  readonly fastLane?: Queryable;
  /** Runs fn in one transaction (READ COMMITTED); rolls back when fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a multi-statement SQL script (migrations). */
  exec(sql: string): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
