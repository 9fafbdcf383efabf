import type pg from 'pg';

/**
 * Inbound messenger messages the router has committed since this counter was made: one row in `messages` per
 * inbound text message, counted by its id above the largest id seen at the start (a range of the primary key).
 *
 * Not `count(*) FROM processed_events`: that scans the whole table and grows with every phase. At 160,000 rows
 * it took 30-50 ms of both cores per poll (PostgreSQL ran it as a parallel seq scan; auto_explain showed it as the
 * only statement over 30 ms), polled every 100 ms while the router caught up, so the bench slowed the router it
 * measured, and more in each later phase.
 */
export class CommittedMessages {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly after: number,
  ) {}

  static async start(pool: pg.Pool): Promise<CommittedMessages> {
    const r = await pool.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM messages');
    return new CommittedMessages(pool, Number(r.rows[0]!.id));
  }

  async count(): Promise<number> {
    const r = await this.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM messages WHERE id > $1 AND direction = 'inbound'",
      [this.after],
    );
    return r.rows[0]!.n;
  }
}
