import type { Admin } from 'kafkajs';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../../bus/bus.js';
import { KAFKA_BROKERS } from './services.js';

/**
 * Environment for a service under test on the real PostgreSQL schema `databaseUrl` and the real Kafka broker,
 * with its own topics and consumer group (the prefix is applied to both), on a random port, quiet.
 */
export function kafkaPgEnv(
  databaseUrl: string,
  topicPrefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: '0',
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: KAFKA_BROKERS.join(','),
    KAFKA_TOPIC_PREFIX: topicPrefix,
    KAFKA_GROUP_ID: 'router',
    KAFKA_TOPIC_PARTITIONS: '3',
    LOG_LEVEL: 'silent',
    DEMO_SEED: 'true',
    ...extra,
  };
}

/**
 * Removes what such a service left on the broker, the router's consumer group and the topics under `topicPrefix`,
 * then disconnects the admin. Best effort: a test that failed half-way still removes what exists.
 */
export async function dropKafkaTraces(admin: Admin, topicPrefix: string): Promise<void> {
  await admin.deleteGroups([`${topicPrefix}router`]).catch(() => {});
  await admin
    .deleteTopics({ topics: [topicPrefix + TOPIC_INBOUND, topicPrefix + TOPIC_DEAD_LETTER] })
    .catch(() => {});
  await admin.disconnect().catch(() => {});
}
