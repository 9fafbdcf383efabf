import type { Database } from '../../crm-core/db/database.js';
import { createLogger, type Logger } from '../../lib/logger.js';
import { createRouter, type Router } from '../../router/router.js';

/** A router configured as the service's defaults (callback in 30 min, calls of 60 s meaningful), silent by default. */
export function testRouter(db: Database, logger: Logger = createLogger({ level: 'silent' })): Router {
  return createRouter({ db, logger, callbackDeadlineMin: 30, meaningfulCallSec: 60 });
}
