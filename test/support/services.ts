import { Socket } from 'node:net';

/**
 * Integration suites need real services. Locally a missing service skips the suite (with the reason);
 * under CI=true it fails the run, so a green CI always means the real thing was exercised.
 */
export const IN_CI = process.env.CI === 'true';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const KAFKA_BROKERS = (process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
export const IMAP_PORT = Number(process.env.TEST_IMAP_PORT ?? 10143);

export function tcpReachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

function hostPort(hp: string): [string, number] {
  const [h, p] = hp.split(':');
  return [h ?? '127.0.0.1', Number(p)];
}

/**
 * Returns true when the service is up. When it is down: throws under CI (the suite fails),
 * returns false otherwise (use with describe.skipIf / it.skipIf).
 */
export async function requireService(name: string, hp: string): Promise<boolean> {
  const [h, p] = hostPort(hp);
  if (await tcpReachable(h, p)) return true;
  const msg = `${name} is not reachable at ${hp}; start it with the script in scripts/ (see README)`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  console.warn(`skipping: ${msg}`);
  return false;
}

export const pgAvailable = () => requireService('PostgreSQL', new URL(PG_URL).host || '127.0.0.1:5432');
export const kafkaAvailable = () => requireService('Kafka', KAFKA_BROKERS[0]!);
export const imapAvailable = () => requireService('Dovecot IMAP', `127.0.0.1:${IMAP_PORT}`);
