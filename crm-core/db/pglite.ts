import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { AppError, DB_RETRY_AFTER_SEC } from '../../lib/errors.js';
import type { Database, Queryable, QueryResult } from './database.js';
import type { SerialisedError, WorkerReply, WorkerRequest } from './pglite-worker.js';

/** What the queue below sends statements to: PGlite itself, or PGlite in its own thread. */
interface Engine {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number }>;
  /** Runs a script of statements; resolves with each statement's rows, in order. */
  exec(sql: string): Promise<unknown[][]>;
  closed(): boolean;
  close(): Promise<void>;
}

/**
 * Embedded PostgreSQL (WASM). One connection: statements and transactions are serialised by a queue here
 * so that a transaction never interleaves with another caller's statements.
 *
 * `thread: true` (the service's default) runs PGlite in a worker thread: its WASM runs synchronously on the
 * thread that calls it, so in the main thread every router transaction stopped the HTTP event loop for as long
 * as its SQL ran. In its own thread, the SQL of one batch runs while HTTP keeps taking the next batch's contacts,
 * on the second core. Each statement is one message each way (tens of microseconds); the rows come back as
 * structured clones (Dates, bigints and byte arrays included).
 *
 * Durability (either way): PGlite writes its WAL to the files under dataDir at COMMIT with ordinary writes and
 * does not fsync them, so a committed transaction survives the process being killed, but not a crash of the
 * operating system or a power cut before the OS writes its cache out.
 */
export async function createPgliteDatabase(opts: { dataDir?: string; thread?: boolean }): Promise<Database> {
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const engine = opts.thread ? await threadEngine(opts.dataDir) : await inlineEngine(opts.dataDir);
  // One connection: every statement and transaction waits its turn. The fast lane's reads (the PBX routing
  // answer) go before whatever is still waiting, so a ringing call waits for at most the one transaction
  // running, never for a backlog of router batches.
  const waiting: { urgent: (() => Promise<void>)[]; normal: (() => Promise<void>)[] } = {
    urgent: [],
    normal: [],
  };
  let running = false;
  const pump = async () => {
    if (running) return;
    running = true;
    for (let job = waiting.urgent.shift() ?? waiting.normal.shift(); job; ) {
      await job();
      job = waiting.urgent.shift() ?? waiting.normal.shift();
    }
    running = false;
  };
  const serial = <T>(fn: () => Promise<T>, urgent = false): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting[urgent ? 'urgent' : 'normal'].push(() => fn().then(resolve, reject));
      void pump();
    });
  const raw: Queryable = {
    async query<R>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await engine.query(text, params);
      return { rows: r.rows as R[], rowCount: r.affectedRows ?? r.rows.length };
    },
  };
  const prepared = preparedStatements(engine, raw);
  return {
    kind: 'pglite',
    query: (text, params) => serial(() => raw.query(text, params)),
    fastLane: { query: (text, params) => serial(() => prepared.query(text, params), true) },
    transaction: (fn) =>
      serial(async () => {
        await engine.exec('BEGIN');
        try {
          const out = await fn(raw);
          await engine.exec('COMMIT');
          return out;
        } catch (err) {
          await engine.exec('ROLLBACK').catch(() => {});
          throw err;
        }
      }),
    exec: async (sql) => {
      await serial(() => engine.exec(sql));
    },
    async ping() {
      return !engine.closed();
    },
    close: () => engine.close(),
  };
}

/**
 * The fast lane's statements as server-side prepared statements. PGlite's query() parses and plans its SQL
 * every time (an unnamed statement), and the routing answer's one statement costs about 3 ms to plan against
 * well under 1 ms to run. PREPARE once per text, then EXECUTE with the values as literals (PGlite has no
 * named protocol-level statements), with the generic plan (the pg pool's fast lane does the same with
 * plan_cache_mode on its connections). A text PostgreSQL cannot prepare (a parameter of no inferable type) runs
 * as a plain query.
 */
function preparedStatements(engine: Engine, raw: Queryable): Queryable {
  const names = new Map<string, string | null>();
  return {
    async query<R>(text: string, params: unknown[] = []): Promise<QueryResult<R>> {
      let name = names.get(text);
      if (name === undefined) {
        const candidate = `fast_lane_${names.size + 1}`;
        try {
          await engine.exec(`PREPARE ${candidate} AS ${text}`);
          name = candidate;
        } catch {
          name = null;
        }
        names.set(text, name);
      }
      if (name === null) return raw.query<R>(text, params);
      const args = params.length ? `(${params.map(sqlLiteral).join(', ')})` : '';
      // The generic plan, planned once: PostgreSQL's own choice kept re-planning (custom plans) here. For this
      // EXECUTE only (one script, one round trip to the thread); the rest of the connection keeps the default.
      const results = await engine.exec(
        `SET plan_cache_mode = force_generic_plan; EXECUTE ${name}${args}; RESET plan_cache_mode`,
      );
      const rows = (results[1] ?? []) as R[];
      return { rows, rowCount: rows.length };
    },
  };
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * A value as an SQL literal for EXECUTE (standard_conforming_strings is on, so doubling quotes is the whole
 * escape); its type comes from the prepared statement's parameter. Arrays of scalars become array literals.
 */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return quote(v);
  if (v instanceof Date) return quote(v.toISOString());
  if (Array.isArray(v)) {
    const element = (e: unknown) => {
      if (e === null || e === undefined) return 'NULL';
      if (Array.isArray(e) || (typeof e === 'object' && !(e instanceof Date)))
        throw new Error('nested arrays and objects in arrays are not supported');
      const t = e instanceof Date ? e.toISOString() : String(e);
      return `"${t.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    };
    return quote(`{${v.map(element).join(',')}}`);
  }
  return quote(JSON.stringify(v));
}

async function inlineEngine(dataDir: string | undefined): Promise<Engine> {
  const db = await PGlite.create(dataDir);
  return {
    query: (sql, params) => db.query(sql, params),
    exec: async (sql) => (await db.exec(sql)).map((r) => r.rows),
    closed: () => db.closed,
    close: () => db.close(),
  };
}

/**
 * From dist/, the bundle's pglite-worker.js next to the chunk holding this code (scripts/build.mjs). From source
 * (tsx, vitest), the .ts file, loaded through tsx's loader: Node 20 does not apply `--import` hooks to a
 * worker's own entry, so a two-line script registers tsx in the worker first.
 */
function workerEntry(): [string | URL, { eval?: boolean }] {
  if (!import.meta.url.endsWith('.ts')) return [new URL('./pglite-worker.js', import.meta.url), {}];
  // require.resolve finds the package's CommonJS build; its ES module build sits next to it.
  const tsxApi = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const tsx = pathToFileURL(tsxApi).href;
  const entry = new URL('./pglite-worker.ts', import.meta.url).href;
  return [
    `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true },
  ];
}

const revive = (e: SerialisedError): Error => Object.assign(new Error(e.message), e);

/** PGlite in a worker thread (pglite-worker.ts), one request at a time from the queue above. */
async function threadEngine(dataDir: string | undefined): Promise<Engine> {
  const [entry, how] = workerEntry();
  const worker = new Worker(entry, { ...how, workerData: { pglite: true, dataDir } });
  const pending = new Map<
    number,
    { resolve: (r: { rows: unknown[] }) => void; reject: (e: unknown) => void }
  >();
  let nextId = 1;
  let gone: Error | undefined;
  const fail = (err: Error) => {
    gone ??= new AppError('DB_UNAVAILABLE', 'the embedded database thread stopped', {
      cause: err,
      retryAfterSec: DB_RETRY_AFTER_SEC,
    });
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
  };
  const started = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: WorkerReply) => {
      if ('ready' in m) return resolve();
      if ('startError' in m) return reject(revive(m.startError));
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if ('error' in m) p.reject(revive(m.error));
      else p.resolve(m);
    });
    worker.on('error', (err) => {
      reject(err);
      fail(err);
    });
    worker.on('exit', (code) => {
      const err = new Error(`the embedded database thread exited (code ${code})`);
      reject(err);
      fail(err);
    });
  });
  await started;
  const call = (req: Omit<WorkerRequest, 'id'>) =>
    new Promise<{ rows: unknown[]; affectedRows?: number }>((resolve, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id } satisfies WorkerRequest);
    });
  return {
    query: (sql, params) => call({ op: 'query', sql, params }),
    exec: async (sql) => (await call({ op: 'exec', sql })).rows as unknown[][],
    closed: () => gone !== undefined,
    async close() {
      if (gone) return;
      await call({ op: 'close' });
      await worker.terminate();
    },
  };
}
