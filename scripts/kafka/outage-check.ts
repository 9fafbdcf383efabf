/**
 * Manual resilience check for bus/kafka-bus.ts: publishes continuously through a throwaway second broker
 * (its own state dir and ports, so the shared broker on 19092 is untouched), stops that broker for
 * OUTAGE_SEC, starts it again, then verifies that every publish that resolved was delivered to the handler
 * (at-least-once) and that publishes during the outage failed fast with BUS_UNAVAILABLE.
 *
 *   npx tsx scripts/kafka/outage-check.ts        (~45 s; exit 1 when an acknowledged event was lost)
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaBus } from '../../bus/kafka-bus.js';
import { buildInboundContact } from '../../event/build.js';
import { createLogger } from '../../lib/logger.js';
import { sleep } from '../../lib/retry.js';

const OUTAGE_SEC = Number(process.env.OUTAGE_SEC ?? 10);
const PORT = process.env.OUTAGE_KAFKA_PORT ?? '29092';
const stateDir = mkdtempSync(join(tmpdir(), 'kafka-outage-'));
const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'kafka.sh');
const env = {
  ...process.env,
  KAFKA_STATE_DIR: stateDir,
  KAFKA_PORT: PORT,
  KAFKA_CONTROLLER_PORT: String(+PORT + 1),
};
const kafkaSh = (cmd: string) => execFileSync('bash', [script, cmd], { env, stdio: 'inherit' });

kafkaSh('start');
const bus = createKafkaBus({
  brokers: [`127.0.0.1:${PORT}`],
  clientId: 'outage-check',
  groupId: 'router',
  partitions: 3,
  replicationFactor: 1,
  topicPrefix: `outage-${randomUUID()}-`,
  logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
});
await bus.start();

const delivered = new Map<string, number>();
await bus.subscribe(async (events) => {
  for (const e of events) delivered.set(e.id, (delivered.get(e.id) ?? 0) + 1);
  return { failed: [] };
});

const acked = new Set<string>();
const failures = new Map<string, number>();
let slowestFailureMs = 0;
let n = 0;
let running = true;
async function publisher(): Promise<void> {
  while (running) {
    const i = n++;
    const e = buildInboundContact(
      {
        channel: 'email',
        source: { type: 'mailbox', key: 'outage' },
        externalId: `m${i}`,
        kind: 'message',
        sender: { emails: [`client${i % 50}@example.com`] },
        raw: { contentType: 'text/plain', body: `message ${i}` },
      },
      { defaultCountry: 'RU' },
    );
    const t0 = Date.now();
    try {
      await bus.publish([e]);
      acked.add(e.id);
    } catch (err) {
      slowestFailureMs = Math.max(slowestFailureMs, Date.now() - t0);
      const code = (err as { code?: string }).code ?? String(err);
      failures.set(code, (failures.get(code) ?? 0) + 1);
      await sleep(200); // as a vendor honouring Retry-After would, roughly
    }
    await sleep(5);
  }
}
const report = (phase: string) =>
  console.log(phase, {
    acked: acked.size,
    delivered: delivered.size,
    failures: Object.fromEntries(failures),
  });

let lost = -1;
try {
  const publishers = Array.from({ length: 20 }, publisher);
  await sleep(3_000);
  report('before outage');
  kafkaSh('stop');
  console.log('ready() during outage:', await bus.ready());
  await sleep(OUTAGE_SEC * 1_000);
  report('end of outage');
  kafkaSh('start');
  await sleep(10_000);
  running = false;
  await Promise.all(publishers);
  const deadline = Date.now() + 90_000;
  while ([...acked].some((id) => !delivered.has(id)) && Date.now() < deadline) await sleep(500);
  lost = [...acked].filter((id) => !delivered.has(id)).length;
  const redelivered = [...delivered.values()].filter((c) => c > 1).length;
  report('final');
  console.log({ lost, redelivered, slowestFailureMs, readyAfter: await bus.ready() });
} finally {
  await bus.close();
  kafkaSh('stop');
  rmSync(stateDir, { recursive: true, force: true });
}
process.exit(lost === 0 ? 0 : 1);
