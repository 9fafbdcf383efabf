import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defaultMinInsyncReplicas, durabilityProblems } from '../bus/kafka-topics.js';
import { DEFAULT_VENDOR_API_URLS, type VendorApiUrls } from '../channels/messengers.js';

/**
 * All configuration, read from the environment exactly once, validated into a typed frozen object.
 * A bad value stops start-up with every problem listed by variable name. Nothing else reads process.env.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const EnvSchema = z.object({
  PORT: int(3000, 0, 65_535),
  HOST: z.string().default('127.0.0.1'),
  /** Embedded PGlite files live here when DATABASE_URL is not set. */
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().url().optional(),
  /** Connections in the pg pool, per process. */
  DATABASE_POOL_MAX: int(10, 1, 500),
  /** Comma-separated host:port list; when absent the in-process bus is used. */
  KAFKA_BROKERS: z.string().optional(),
  KAFKA_CLIENT_ID: z.string().default('contact-ingest'),
  KAFKA_GROUP_ID: z.string().default('contact-router'),
  KAFKA_TOPIC_PARTITIONS: int(6, 1, 1_000),
  KAFKA_REPLICATION_FACTOR: int(1, 1, 10),
  /** Set on the topics the service creates and required of existing ones; default min(2, replication factor). */
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(10).optional(),
  /** Topic name prefix, so several deployments (or test runs) can share one cluster. */
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  DEFAULT_COUNTRY: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as RU')
    .default('RU'),
  /** Web-form submissions per client IP per minute. */
  FORM_RATE_LIMIT: int(30, 1, 1_000_000),
  /** Live-chat messages and contacts per visitor per minute. */
  LIVECHAT_RATE_LIMIT: int(20, 1, 1_000_000),
  /** Live-chat messages and contacts per client IP per minute (all its visitors: an office behind one address). */
  LIVECHAT_IP_RATE_LIMIT: int(60, 1, 1_000_000),
  /** Take the client IP from X-Forwarded-For (only behind a proxy you control). */
  TRUST_PROXY: bool,
  /** Sliding lifetime of an operator's browser session, in hours: each request moves expiry this far ahead. */
  SESSION_TTL_HOURS: int(12, 1, 24 * 90),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ROLE: z.enum(['all', 'connectors', 'router', 'api']).default('all'),
  /** Where ROLE=all runs the router: a worker thread of its own (default on Kafka + PostgreSQL) or the HTTP thread. */
  ROUTER_THREAD: z.enum(['worker', 'inline']).optional(),
  /** Deadline of the planned callback created for a missed inbound call, in minutes. */
  CALLBACK_DEADLINE_MIN: int(30, 1, 10_080),
  /** Calls at least this long count as meaningful conversations, in seconds. */
  MEANINGFUL_CALL_SEC: int(60, 0, 86_400),
  /** Public base URL, used where a signature covers the URL (Twilio) and in printed examples. */
  PUBLIC_URL: z.string().url().optional(),
  /** How often the automation scheduler (router role) looks for due timers, in milliseconds. */
  AUTOMATION_POLL_MS: int(1_000, 50, 3_600_000),
  /** Router batching: max events per database transaction. */
  ROUTER_BATCH_SIZE: int(500, 1, 10_000),
  /** Seed the demo setup into an empty database (default: on for the embedded default only). */
  DEMO_SEED: z.enum(['auto', 'true', 'false']).default('auto'),
  /** A conversation without messages for this long is closed; the client's next message opens a new one. */
  CONVERSATION_IDLE_HOURS: int(24, 1, 24 * 365),
  /** PostgreSQL NOTIFY channel the API instances share for console and widget notices (with DATABASE_URL). */
  REALTIME_CHANNEL: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL name (letters, digits, _)')
    .default('contact_ingest_realtime'),
  /** Vendors' API roots (tests point them at local servers speaking the vendor's API). */
  TELEGRAM_API_URL: z.string().url().default(DEFAULT_VENDOR_API_URLS.telegram),
  META_GRAPH_API_URL: z.string().url().default(DEFAULT_VENDOR_API_URLS.meta),
  VK_API_URL: z.string().url().default(DEFAULT_VENDOR_API_URLS.vk),
  VIBER_API_URL: z.string().url().default(DEFAULT_VENDOR_API_URLS.viber),
});

export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  databasePoolMax: number;
  kafka?: {
    brokers: string[];
    clientId: string;
    groupId: string;
    partitions: number;
    replicationFactor: number;
    minInsyncReplicas: number;
    topicPrefix: string;
  };
  adminToken: string;
  adminTokenGenerated: boolean;
  defaultCountry: string;
  formRateLimit: number;
  livechatRateLimit: number;
  livechatIpRateLimit: number;
  trustProxy: boolean;
  sessionTtlHours: number;
  logLevel: string;
  role: 'all' | 'connectors' | 'router' | 'api';
  /** `worker`: the router role runs in a worker thread (app/router-thread.ts); `inline`: on the HTTP thread. */
  routerThread: 'worker' | 'inline';
  callbackDeadlineMin: number;
  meaningfulCallSec: number;
  publicUrl: string;
  routerBatchSize: number;
  automationPollMs: number;
  demoSeed: boolean;
  conversationIdleHours: number;
  realtimeChannel: string;
  vendorApiUrls: Readonly<VendorApiUrls>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(
  env: Record<string, string | undefined>,
  argv: string[] = [],
): Readonly<AppConfig> {
  const roleArg = argv.find((a) => a.startsWith('--role='))?.slice(7) ?? argv[argv.indexOf('--role') + 1];
  const input: Record<string, string | undefined> = {
    ...env,
    ...(argv.includes('--role') || roleArg ? { ROLE: roleArg } : {}),
  };
  // Empty strings mean "not set" (docker-compose passes them for unset variables).
  for (const k of Object.keys(input)) if (input[k] === '') delete input[k];
  const r = EnvSchema.safeParse(input);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = r.data;
  // Split roles only make sense when processes share a real database and bus.
  if (e.ROLE !== 'all' && (!e.DATABASE_URL || !e.KAFKA_BROKERS)) {
    throw new ConfigError([
      `ROLE: '${e.ROLE}' needs DATABASE_URL and KAFKA_BROKERS (the embedded default runs every role in one process)`,
    ]);
  }
  const brokers = e.KAFKA_BROKERS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const embedded = !e.DATABASE_URL && !brokers?.length;
  // A worker thread opens its own pool and consumer, which needs a database and a bus other threads can reach:
  // PGlite lives in one thread's memory, and the in-process bus hands events to a router in the same thread.
  const workerPossible = e.ROLE === 'all' && !!e.DATABASE_URL && !!brokers?.length;
  if (e.ROUTER_THREAD === 'worker' && !workerPossible)
    throw new ConfigError([
      `ROUTER_THREAD: 'worker' needs ROLE=all with DATABASE_URL and KAFKA_BROKERS (PGlite and the in-process bus live in one thread; ROLE=router is a process of its own already)`,
    ]);
  // One rule with the topic check (bus/kafka-topics.ts): an accepted contact is never on a single replica of three.
  const minInsyncReplicas =
    e.KAFKA_MIN_INSYNC_REPLICAS ?? defaultMinInsyncReplicas(e.KAFKA_REPLICATION_FACTOR);
  const unsafe = durabilityProblems(e.KAFKA_REPLICATION_FACTOR, minInsyncReplicas);
  if (brokers?.length && unsafe.length)
    throw new ConfigError(
      unsafe.map(
        (p) =>
          `KAFKA_MIN_INSYNC_REPLICAS (${minInsyncReplicas}) with KAFKA_REPLICATION_FACTOR (${e.KAFKA_REPLICATION_FACTOR}): ${p}`,
      ),
    );
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    kafka: brokers?.length
      ? {
          brokers,
          clientId: e.KAFKA_CLIENT_ID,
          groupId: e.KAFKA_GROUP_ID,
          partitions: e.KAFKA_TOPIC_PARTITIONS,
          replicationFactor: e.KAFKA_REPLICATION_FACTOR,
          minInsyncReplicas,
          topicPrefix: e.KAFKA_TOPIC_PREFIX,
        }
      : undefined,
    adminToken: e.ADMIN_TOKEN ?? randomBytes(18).toString('base64url'),
    adminTokenGenerated: !e.ADMIN_TOKEN,
    defaultCountry: e.DEFAULT_COUNTRY,
    formRateLimit: e.FORM_RATE_LIMIT,
    livechatRateLimit: e.LIVECHAT_RATE_LIMIT,
    livechatIpRateLimit: e.LIVECHAT_IP_RATE_LIMIT,
    trustProxy: e.TRUST_PROXY,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    logLevel: e.LOG_LEVEL,
    role: e.ROLE,
    routerThread: e.ROUTER_THREAD ?? (workerPossible ? 'worker' : 'inline'),
    callbackDeadlineMin: e.CALLBACK_DEADLINE_MIN,
    meaningfulCallSec: e.MEANINGFUL_CALL_SEC,
    publicUrl: e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? '127.0.0.1' : e.HOST}:${e.PORT}`,
    routerBatchSize: e.ROUTER_BATCH_SIZE,
    automationPollMs: e.AUTOMATION_POLL_MS,
    demoSeed: e.DEMO_SEED === 'auto' ? embedded : e.DEMO_SEED === 'true',
    conversationIdleHours: e.CONVERSATION_IDLE_HOURS,
    realtimeChannel: e.REALTIME_CHANNEL,
    vendorApiUrls: Object.freeze({
      telegram: e.TELEGRAM_API_URL.replace(/\/+$/, ''),
      meta: e.META_GRAPH_API_URL.replace(/\/+$/, ''),
      vk: e.VK_API_URL.replace(/\/+$/, ''),
      viber: e.VIBER_API_URL.replace(/\/+$/, ''),
    }),
  });
}
