import type { FastifyPluginAsync } from 'fastify';
import type { Database } from '../../crm-core/db/database.js';
import type { Logger } from '../../lib/logger.js';
import type { RealtimeHub } from '../../realtime/hub.js';
import type { Notifier } from '../../realtime/notices.js';
import { createAuth, prepareAuth } from '../auth.js';
import type { ApiConfig } from '../config.js';
import { attachConsoleSocket } from './ws.js';

export interface ConsoleApiDeps {
  db: Database;
  config: Readonly<ApiConfig>;
  realtime: RealtimeHub;
  notices: Notifier;
  logger: Logger;
}

/** The console's socket (ws.ts); its REST routes live with the API's (api/routes/console-work.ts). */
export const consoleApi: FastifyPluginAsync<ConsoleApiDeps> = async (app, deps) => {
  await prepareAuth(app);
  const { sessions } = createAuth({
    db: deps.db,
    adminToken: deps.config.adminToken,
    sessionTtlHours: deps.config.sessionTtlHours,
  });
  attachConsoleSocket(app, {
    db: deps.db,
    realtime: deps.realtime,
    sessions,
    logger: deps.logger,
    publicUrl: deps.config.publicUrl,
  });
};
