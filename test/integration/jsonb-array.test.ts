import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../crm-core/db/database.js';
import { jsonArrayParam, jsonbArray } from '../../crm-core/db/jsonb-array.js';
import { createPgliteDatabase } from '../../crm-core/db/pglite.js';
import { PG_URL } from '../support/services.js';

// The batch writers (activities, leads, messages) send JSON columns as one JSON array instead of a jsonb[]
// literal: the rows must come out exactly as the per-row form gave them, in order, on both databases.
const values: unknown[] = [
  { text: 'a "quoted" \\ back\\slash', nested: { list: [1, 'two', null] } },
  null,
  { unicode: 'Привет, 😀', empty: '' },
  [],
  'plain string',
  0,
  { after: 'a null' },
];
// `v IS NULL` tells SQL NULL from a JSON null (pg reads both as null): a null stays JSON null, as per row.
const SQL = `SELECT v, v IS NULL AS missing FROM unnest(${jsonbArray(1)}) WITH ORDINALITY AS t(v, ord) ORDER BY ord`;
const PER_ROW =
  'SELECT v, v IS NULL AS missing FROM unnest($1::jsonb[]) WITH ORDINALITY AS t(v, ord) ORDER BY ord';
const perRow = values.map((v) => JSON.stringify(v));

describe('one JSON array for a batch of JSON values (crm-core/db/jsonb-array.ts)', () => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  let lite: Database | undefined;
  afterAll(async () => {
    await pool.end();
    await lite?.close();
  });

  it('gives PostgreSQL the same rows, in order, as a jsonb[] of per-row JSON texts', async () => {
    const got = (await pool.query(SQL, [jsonArrayParam(values)])).rows;
    const expected = (await pool.query(PER_ROW, [perRow])).rows;
    expect(got).toEqual(expected);
    expect(got.map((r) => r.v)).toEqual(values);
    expect(got.map((r) => r.missing)).toEqual(values.map(() => false));
  });

  it('does the same on PGlite (the embedded default)', async () => {
    lite = await createPgliteDatabase({});
    const got = (await lite.query<{ v: unknown }>(SQL, [jsonArrayParam(values)])).rows.map((r) => r.v);
    expect(got).toEqual(values);
  });
});
