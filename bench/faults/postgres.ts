import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The newest Debian PostgreSQL install (/usr/lib/postgresql/<n>/bin), or whatever is on PATH. */
function binDir(): string {
  if (process.env.FAULT_PG_BIN) return process.env.FAULT_PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return '';
  const newest = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(base, newest, 'bin') : '';
}

/**
 * A PostgreSQL cluster of the fault test's own (initdb into a temp directory, its own port and socket
 * directory), started and stopped with pg_ctl as the `postgres` user when we are root (PostgreSQL refuses to
 * run as root). Restarting it is one of the faults; the shared development server is never touched.
 */
export class OwnPostgres {
  readonly url: string;
  private readonly bin = binDir();
  constructor(private readonly o: { port: number; dir: string }) {
    this.url = `postgres://postgres@127.0.0.1:${o.port}/postgres`;
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    const exe = this.bin ? join(this.bin, tool) : tool;
    const [cmd, argv] =
      process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
    await run(cmd, argv, { cwd: '/tmp', maxBuffer: 10 * 1024 * 1024 });
  }

  private get data() {
    return join(this.o.dir, 'data');
  }

  async init(): Promise<void> {
    if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres', this.o.dir]);
    await this.pg('initdb', [
      '-D',
      this.data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
  }

  /** Starts and waits until it accepts connections. */
  async start(): Promise<void> {
    const opts = [
      `-p ${this.o.port}`,
      `-k ${this.o.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=100',
      '-c shared_buffers=64MB',
      // No fsync: the machine does not crash, only the server does; committed data survives a server crash
      // (WAL is written before COMMIT returns), which is what the test relies on.
      '-c fsync=off',
    ].join(' ');
    await this.pg('pg_ctl', [
      '-D',
      this.data,
      '-l',
      join(this.o.dir, 'postgres.log'),
      '-w',
      '-t',
      '120',
      '-o',
      opts,
      'start',
    ]);
  }

  /** 'fast': sessions are terminated (57P01) and the server shuts down cleanly; 'immediate': a crash. */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '120', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => {});
  }
}
