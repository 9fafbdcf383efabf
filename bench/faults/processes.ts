import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../lib/retry.js';
import { ROOT } from '../service-process.js';

/**
 * The real service as a separate process, started the way production starts it: `node dist/app/main.js` when
 * `npm run build` has run (what the Dockerfile runs), else `node --import tsx app/main.ts` (what `npm start`
 * runs). Only the environment given here reaches it.
 */
export type Runtime = 'dist' | 'tsx';

export const DIST_ENTRY = join(ROOT, 'dist', 'app', 'main.js');
export const distBuilt = () => existsSync(DIST_ENTRY);

export function serviceCommand(runtime: Runtime): string[] {
  return runtime === 'dist' ? [DIST_ENTRY] : ['--import', 'tsx', join(ROOT, 'app', 'main.ts')];
}

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number | undefined;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readonly readyMs: Promise<number>;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export function launchService(o: {
  name: string;
  runtime: Runtime;
  port: number;
  env: Record<string, string>;
  /** Appends the process's output here (one file per name, kept across restarts). */
  log?: WriteStream;
  readyTimeoutMs?: number;
}): ServiceProcess {
  const started = performance.now();
  const url = `http://127.0.0.1:${o.port}`;
  const child: ChildProcess = spawn(process.execPath, serviceCommand(o.runtime), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      ...o.env,
      PORT: String(o.port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  o.log?.write(`==== ${new Date().toISOString()} ${o.name} started (pid ${child.pid})\n`);
  child.stdout?.on('data', (b: Buffer) => o.log?.write(b));
  child.stderr?.on('data', (b: Buffer) => o.log?.write(b));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      o.log?.write(`==== ${new Date().toISOString()} ${o.name} exited (${signal ?? code})\n`);
      resolve(code);
    }),
  );
  const readyMs = (async () => {
    const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
    while (!done && Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        if (r.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    throw new Error(`${o.name} ${done ? 'exited' : 'was not ready in time'}`);
  })();
  readyMs.catch(() => {});
  return {
    name: o.name,
    url,
    pid: child.pid,
    readyMs,
    exited,
    kill: (signal) => {
      if (!done) child.kill(signal);
    },
    async stop(graceMs = 15_000) {
      if (done) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Keeps one service instance running, as systemd's Restart=always or a container orchestrator would: whenever
 * the process exits (killed or crashed) it is started again at once. Counts unplanned exits (crashes).
 */
export class Supervised {
  current: ServiceProcess;
  /** Exits nobody asked for: a process that ended on its own (a crash) rather than by kill() or stop(). */
  crashes = 0;
  restarts = 0;
  private expectingExit = false;
  private stopped = false;
  private readonly logStream: WriteStream;

  constructor(
    private readonly o: {
      name: string;
      runtime: Runtime;
      port: number;
      env: Record<string, string>;
      logDir: string;
    },
  ) {
    this.logStream = createWriteStream(join(o.logDir, `${o.name}.log`), { flags: 'a' });
    this.current = this.spawn();
  }

  private spawn(): ServiceProcess {
    const p = launchService({ ...this.o, log: this.logStream });
    void p.exited.then(() => {
      if (this.stopped) return;
      if (!this.expectingExit) this.crashes++;
      this.expectingExit = false;
      this.restarts++;
      this.current = this.spawn();
    });
    return p;
  }

  /** Kills the running process with the signal; the supervisor starts a new one. Resolves when it is ready. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
    const old = this.current;
    this.expectingExit = true;
    old.kill(signal);
    await old.exited;
    while (this.current === old) await sleep(5);
    return this.current.readyMs;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.current.stop();
    this.logStream.end();
  }
}
