import type { Database } from '../db/database.js';

/**
 * Reports sort every row of their period (groups, percentiles). With PostgreSQL's default work_mem (4 MB) a
 * year's sort spills to disk and takes three times as long; this raises it for the report's own transaction only.
 */
const REPORT_WORK_MEM = '64MB';

export async function reportQuery<T>(db: Database, text: string, params: unknown[]): Promise<T[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL work_mem = '${REPORT_WORK_MEM}'`);
    return (await tx.query<T>(text, params)).rows;
  });
}
