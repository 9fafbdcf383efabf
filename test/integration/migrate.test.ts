import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../crm-core/db/migrate.js';
import { createPgDatabase } from '../../crm-core/db/pg.js';
import { schemaUrl } from '../support/db.js';
import { PG_URL, pgAvailable } from '../support/services.js';

describe.skipIf(!(await pgAvailable()))('migrations on PostgreSQL', () => {
  const schema = `t_mig_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const dbs = Array.from({ length: 4 }, () =>
    createPgDatabase({ connectionString: schemaUrl(schema), max: 2 }),
  );

  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.close()));
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });

  it('are applied exactly once when several instances start at the same moment', async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
    const results = await Promise.all(dbs.map((d) => migrate(d)));
    // One instance applied everything, the others found it done after taking the lock.
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
    expect(results.flat().sort()).toEqual([...new Set(results.flat())].sort());
    const applied = await dbs[0]!.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(applied.rows.map((r) => r.version)).toEqual(results.find((r) => r.length > 0));
    expect(await migrate(dbs[1]!)).toEqual([]);
  });
});
