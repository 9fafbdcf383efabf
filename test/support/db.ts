import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../crm-core/db/database.js';
import { migrate } from '../../crm-core/db/migrate.js';
import { createPgDatabase } from '../../crm-core/db/pg.js';
import { createPgliteDatabase } from '../../crm-core/db/pglite.js';
import { PG_URL } from './services.js';

/**
 * A fresh, migrated database per test file: a new schema on the real PostgreSQL (dropped at the end),
 * or an in-memory PGlite. The same migrations and SQL run on both.
 */
export interface TestDatabase {
  db: Database;
  url?: string;
  schema?: string;
  drop(): Promise<void>;
}

export function schemaUrl(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export async function createTestPg(opts: { max?: number } = {}): Promise<TestDatabase> {
  const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = schemaUrl(schema);
  const db = createPgDatabase({ connectionString: url, max: opts.max ?? 5 });
  await migrate(db);
  return {
    db,
    url,
    schema,
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export async function createTestPglite(): Promise<TestDatabase> {
  const db = await createPgliteDatabase({});
  await migrate(db);
  return { db, drop: () => db.close() };
}
