import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

// Beside the sources: crm-core/migrations; in the build (scripts/build.mjs): dist/app/<chunk>.js -> dist/migrations.
const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');
// Any constant works; it only has to be the same in every instance so concurrent starts queue up.
const MIGRATION_LOCK_KEY = 727_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number.parseInt(f, 10), name: f, sql: readFileSync(join(dir, f), 'utf8') }));
}

/**
 * Applies pending migrations in order. Safe when several instances start at once: a transaction-scoped
 * advisory lock makes them queue, and each re-reads what is applied after taking the lock.
 */
export async function migrate(db: Database, migrations = loadMigrations()): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      for (const stmt of splitStatements(m.sql)) await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

/**
 * Splits on ';' at line ends, except inside dollar-quoted bodies ($$ ... $$: trigger functions, 017_reports).
 * Comment lines are dropped; a comment never holds '$$'.
 */
function splitStatements(sql: string): string[] {
  const parts = sql.split(/(\$\$)/);
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const part of parts) {
    if (part === '$$') {
      quoted = !quoted;
      current += part;
      continue;
    }
    if (quoted) {
      current += part;
      continue;
    }
    const pieces = part.split(/;\s*$/m);
    current += pieces[0];
    for (const piece of pieces.slice(1)) {
      out.push(current);
      current = piece;
    }
  }
  out.push(current);
  return out.map((s) => s.replace(/^\s*--.*$/gm, '').trim()).filter(Boolean);
}
