import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { KAFKA_BROKERS } from './services.js';

/**
 * Says, once per run, which Kafka the integration suites will use: the project's own broker (scripts/kafka.sh,
 * recognised by the cluster id in .kafka/data/meta.properties) or some other broker that happens to listen on the
 * port, so a run against a foreign broker is never silent. Nothing is started or stopped here.
 */
export default async function setup(): Promise<void> {
  const brokers = KAFKA_BROKERS.join(',');
  const ownId = projectClusterId();
  const admin = new kafkajs.Kafka({
    clientId: 'test-global-setup',
    brokers: KAFKA_BROKERS,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const whose =
      ownId && cluster.clusterId === ownId
        ? "the project's own broker (scripts/kafka.sh)"
        : `NOT the project's own broker (cluster id ${cluster.clusterId}${ownId ? `, ours is ${ownId}` : ''}); set TEST_KAFKA_BROKERS to choose`;
    console.info(`tests: Kafka at ${brokers}: ${cluster.brokers.length} broker(s), ${whose}`);
  } catch {
    console.info(`tests: no Kafka at ${brokers} (Kafka suites skip locally, fail under CI=true)`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function projectClusterId(): string | undefined {
  const file = join(process.cwd(), '.kafka', 'data', 'meta.properties');
  if (!existsSync(file)) return undefined;
  return /^cluster\.id=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.trim();
}
