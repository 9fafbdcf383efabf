import pg from 'pg';

/**
 * Samples pg_stat_activity for the service's connections (tagged by application_name) while a phase runs, and
 * says what the router's open transactions were doing: executing a statement, waiting for a lock, or sitting
 * "idle in transaction" — waiting for the Node process to send the next statement (JS work, event-loop queueing,
 * round trip). The shares are of samples of backends inside a transaction.
 */
export class PgActivitySampler {
  private readonly counts = new Map<string, number>();
  private samples = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly client: pg.Client;

  constructor(
    url: string,
    private readonly applicationName: string,
    private readonly everyMs = 25,
  ) {
    this.client = new pg.Client({ connectionString: url });
  }

  async start(): Promise<void> {
    await this.client.connect();
  }

  begin(): void {
    this.counts.clear();
    this.samples = 0;
    const tick = async () => {
      const r = await this.client.query<{ state: string; wait: string | null; query: string }>(
        `SELECT state, wait_event_type || ':' || wait_event AS wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 48) AS query
           FROM pg_stat_activity WHERE application_name = $1 AND xact_start IS NOT NULL`,
        [this.applicationName],
      );
      for (const row of r.rows) {
        const key =
          row.state === 'idle in transaction'
            ? 'idle in transaction (waiting for Node)'
            : row.wait?.startsWith('Lock:')
              ? `lock wait (${row.wait}) in: ${row.query}`
              : row.wait && row.wait !== 'Client:ClientRead'
                ? `${row.wait} in: ${row.query}`
                : `executing: ${row.query}`;
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
        this.samples++;
      }
    };
    const loop = () => {
      this.running = tick()
        .catch(() => {})
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.everyMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async end(): Promise<{ share: number; what: string }[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .map(([what, n]) => ({ what, share: this.samples ? n / this.samples : 0 }));
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
