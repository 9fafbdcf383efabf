// Readiness probe used by scripts/kafka.sh: an open port is not enough (the KRaft controller may still be
// electing itself), so ask the broker for cluster metadata and the topic list the way our clients will.
// Usage: node scripts/kafka/ready.mjs 127.0.0.1:19092   -> exit 0 when the broker answers, 1 otherwise.
//        node scripts/kafka/ready.mjs 127.0.0.1:29192 3 -> and its metadata names at least 3 brokers (cluster mode).
import kafkajs from 'kafkajs';

const brokers = (process.argv[2] ?? '127.0.0.1:19092').split(',');
const expectBrokers = Number(process.argv[3] ?? 1);
const admin = new kafkajs.Kafka({
  clientId: 'kafka-sh-ready',
  brokers,
  connectionTimeout: 1_000,
  requestTimeout: 3_000,
  retry: { retries: 0 },
  logLevel: kafkajs.logLevel.NOTHING,
}).admin();

try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length < expectBrokers)
    throw new Error(`${cluster.brokers.length} of ${expectBrokers} brokers registered`);
  const topics = await admin.listTopics();
  console.log(
    `ok: controller ${cluster.controller}, ${cluster.brokers.length} broker(s), ${topics.length} topic(s)`,
  );
  process.exitCode = 0;
} catch (err) {
  console.log(`not ready: ${err?.message ?? err}`);
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => {});
}
