import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

/**
 * The embedded database's own thread (see pglite.ts): PGlite runs PostgreSQL compiled to WASM, synchronously,
 * on the thread that calls it; here that is not the HTTP event loop. Answers one message at a time, in order.
 */
export interface WorkerRequest {
  id: number;
  op: 'query' | 'exec' | 'close';
  sql?: string;
  params?: unknown[];
}
export type WorkerReply =
  | { id: number; rows: unknown[]; affectedRows?: number }
  | { id: number; error: SerialisedError }
  | { ready: true }
  | { startError: SerialisedError };
/** An error's message and its own fields (code, detail, constraint...): what the callers' checks look at. */
export type SerialisedError = { message: string } & Record<string, unknown>;

export function serialiseError(err: unknown): SerialisedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e))
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
  return { ...fields, name: e.name, message: e.message };
}

async function main() {
  const port = parentPort!;
  const { dataDir } = workerData as { dataDir?: string };
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (err) {
    port.postMessage({ startError: serialiseError(err) } satisfies WorkerReply);
    return;
  }
  port.on('message', async (m: WorkerRequest) => {
    try {
      if (m.op === 'query') {
        const r = await db.query(m.sql!, m.params);
        port.postMessage({ id: m.id, rows: r.rows, affectedRows: r.affectedRows } satisfies WorkerReply);
      } else if (m.op === 'exec') {
        // Each statement's rows, in order (most scripts return none; the fast lane's EXECUTE does).
        const results = await db.exec(m.sql!);
        port.postMessage({ id: m.id, rows: results.map((r) => r.rows) } satisfies WorkerReply);
      } else {
        await db.close();
        port.postMessage({ id: m.id, rows: [] } satisfies WorkerReply);
        port.close();
      }
    } catch (err) {
      port.postMessage({ id: m.id, error: serialiseError(err) } satisfies WorkerReply);
    }
  });
  port.postMessage({ ready: true } satisfies WorkerReply);
}

if (parentPort && (workerData as { pglite?: boolean } | undefined)?.pglite) void main();
