import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createLogger } from '../lib/logger.js';
import { ConfigError, loadConfig } from './config.js';
import { startService } from './service.js';
import { printWelcome } from './welcome.js';

/**
 * Entry point: `npm start` (all roles, embedded PGlite + in-process bus when nothing is configured), or
 * `npm start -- --role router` with DATABASE_URL and KAFKA_BROKERS for production.
 */
async function main() {
  const env = { ...process.env };
  // Embedded default: a generated admin token is kept in DATA_DIR so it survives restarts and the README's
  // curl lines can read it.
  let tokenFile: string | undefined;
  if (!env.ADMIN_TOKEN && !env.DATABASE_URL) {
    tokenFile = join(env.DATA_DIR ?? './data', 'admin-token');
    env.ADMIN_TOKEN = persistedAdminToken(tokenFile);
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  const service = await startService(config, logger);
  await printWelcome(config, service, tokenFile);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 15_000).unref();
    await service.close().catch((err) => logger.error({ err }, 'shutdown failed'));
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function persistedAdminToken(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const token = `adm_${crypto.randomUUID().replaceAll('-', '')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
