import pg from 'pg';

/**
 * When did each router transaction become visible? A statement trigger on processed_events (the router's last
 * statement of every batch is the UPDATE recording outcomes) sends NOTIFY with the transaction id; PostgreSQL
 * delivers a notification only when its transaction commits, so the moment it arrives here is the moment the
 * batch became visible to readers. Events map to their transaction through processed_events.xmin.
 * Installed only in the bench's own schema; it costs one trigger call and one NOTIFY per batch.
 */
export interface CommitProbe {
  /** Wall-clock ms when the commit of transaction `xid` (32-bit) was observed. */
  commitAt(xid: number): number | undefined;
  /** Wall-clock ms on the server when the trigger ran (just before COMMIT). */
  serverAt(xid: number): number | undefined;
  readonly seen: number;
  close(): Promise<void>;
}

export async function installCommitProbe(schemaUrl: string, schema: string): Promise<CommitProbe> {
  const channel = `${schema}_commits`;
  const setup = new pg.Client({ connectionString: schemaUrl });
  await setup.connect();
  await setup.query(`
    CREATE FUNCTION bench_commit_probe() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${channel}', (txid_current() % 4294967296)::text || ' ' || (extract(epoch FROM clock_timestamp()) * 1000)::text);
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_commit_probe AFTER UPDATE ON processed_events FOR EACH STATEMENT EXECUTE FUNCTION bench_commit_probe();
  `);
  await setup.end();

  const seen = new Map<number, { at: number; server: number }>();
  const listener = new pg.Client({ connectionString: schemaUrl });
  await listener.connect();
  listener.on('notification', (n) => {
    const at = Date.now();
    const [xid, server] = (n.payload ?? '').split(' ');
    seen.set(Number(xid), { at, server: Number(server) });
  });
  listener.on('error', () => {});
  await listener.query(`LISTEN "${channel}"`);
  return {
    commitAt: (xid) => seen.get(xid)?.at,
    serverAt: (xid) => seen.get(xid)?.server,
    get seen() {
      return seen.size;
    },
    close: () => listener.end().catch(() => {}),
  };
}

export interface ProcessedRow {
  id: string;
  /** Transaction start (processed_at is now(), the start of the router's transaction), ms. */
  startedAt: number;
  xid: number;
}

export async function processedRows(db: pg.Pool | pg.Client, ids?: string[]): Promise<ProcessedRow[]> {
  const sql = `SELECT event_id::text AS id, extract(epoch FROM processed_at) * 1000 AS started, xmin::text::bigint AS xid
                 FROM processed_events${ids ? ' WHERE event_id = ANY($1::uuid[])' : ''}`;
  const r = await db.query<{ id: string; started: string | number; xid: string | number }>(
    sql,
    ids ? [ids] : [],
  );
  return r.rows.map((x) => ({ id: x.id, startedAt: Number(x.started), xid: Number(x.xid) }));
}
