/**
 * A messenger outbox worker in a process of its own, so a test can kill it (SIGKILL) in the middle of a send.
 * Env: DATABASE_URL (the test's schema), VENDOR_URL (a LocalMessenger), LEASE_MS, IDEMPOTENT=1 (the vendor
 * deduplicates sends). Prints "started" once polling.
 */
import { createPgDatabase } from '../../crm-core/db/pg.js';
import { createLogger } from '../../lib/logger.js';
import { createMessengerOutbox } from '../../outbound/messengers/outbox.js';
import { localSenderRegistry } from './local-messenger.js';

const url = process.env.VENDOR_URL!;
const db = createPgDatabase({ connectionString: process.env.DATABASE_URL!, max: 2 });
const outbox = createMessengerOutbox({
  db,
  logger: createLogger({ level: 'silent' }),
  urls: { telegram: url, meta: url, vk: url, viber: url },
  registry: localSenderRegistry(url, ['telegram', 'whatsapp'], {
    idempotent: process.env.IDEMPOTENT === '1',
  }),
  options: { pollIntervalMs: 50, leaseMs: Number(process.env.LEASE_MS ?? 1_500) },
});
outbox.start();
process.stdout.write('started\n');
