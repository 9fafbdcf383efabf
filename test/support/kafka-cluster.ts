import { KafkaCluster } from '../../scripts/kafka/cluster.js';
import { IN_CI, tcpReachable } from './services.js';

/**
 * The three-node KRaft cluster of `bash scripts/kafka.sh cluster start` (brokers 29192-29194, node ids 1-3):
 * the production shape, never the shared single broker. TEST_KAFKA_CLUSTER_PORT moves it.
 */
export const cluster = new KafkaCluster({ port: Number(process.env.TEST_KAFKA_CLUSTER_PORT ?? 29192) });
export const CLUSTER_BROKERS = cluster.brokers;

/** All three nodes up; else throws under CI=true, warns and returns false locally. */
export async function clusterAvailable(): Promise<boolean> {
  const down: string[] = [];
  for (const hp of CLUSTER_BROKERS) {
    const [h, p] = hp.split(':');
    if (!(await tcpReachable(h!, Number(p)))) down.push(hp);
  }
  if (!down.length) return true;
  const msg = `the three-broker Kafka cluster is not reachable at ${down.join(', ')}; start it with \`bash scripts/kafka.sh cluster start\``;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  console.warn(`skipping: ${msg}`);
  return false;
}
