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
