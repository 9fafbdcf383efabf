import type { FastifyPluginAsync } from 'fastify';
import type { Database } from '../../crm-core/db/database.js';
import { NO_NOTICES, type Notifier, sessionEnded } from '../../realtime/notices.js';
import { createRegionsCache, type RegionsCache } from '../../router/regions-cache.js';
import { createAuth, prepareAuth } from '../auth.js';
import type { ApiConfig } from '../config.js';
import { refuseUnsafeText } from '../validation.js';
import { activityRoutes } from './activities.js';
import { adminAutomationRoutes } from './admin-automation.js';
import { adminChannelRoutes } from './admin-channels.js';
import { adminCrmRoutes } from './admin-crm.js';
import { adminMailboxRoutes } from './admin-mailboxes.js';
import { adminMessengerRoutes } from './admin-messengers.js';
import { adminOperatorRoutes } from './admin-operators.js';
import { adminRegionRoutes } from './admin-regions.js';
import { adminStoreRoutes } from './admin-stores.js';
import { adminWidgetRoutes } from './admin-widgets.js';
import { cannedAnswerRoutes } from './canned-answers.js';
import { clientRoutes } from './clients.js';
import { consoleColleagueRoutes } from './console-colleagues.js';
import { consoleWorkRoutes } from './console-work.js';
import type { RouteContext } from './context.js';
import { dealRoutes } from './deals.js';
import { duplicateRoutes } from './duplicates.js';
import { leadWorkflowRoutes } from './lead-workflow.js';
import { operatorRoutes } from './operators.js';
import { recordRoutes } from './records.js';
import { reportRoutes } from './reports.js';
import { sessionRoutes } from './session.js';

export { apiSecuritySchemes } from '../security-schemes.js';

export interface ApiDeps {
  db: Database;
  config: Readonly<ApiConfig>;
  /** Called after regions or their rules change, so the router stops using its cached copy. */
  onRegionsChanged?: () => void;
  /** Console notices (presence, transfers); none when absent. */
  notices?: Notifier;
  /** The region rules' cache, shared with the telephony API (api/server.ts); a copy of its own when absent. */
  regions?: RegionsCache;
}

/**
 * The console/admin HTTP API under /v1 (register with prefix ''; paths are absolute). Bearer tokens: the admin
 * token (or an admin-role operator) for /v1/admin/*, operator tokens or session cookies (or the admin token, for
 * reads) elsewhere. What a caller sees follows their role (crm-core/repositories/visibility.repository.ts).
 *
 * Encapsulated on purpose (no fastify-plugin): the `principal` decorator applies to these routes only. Errors go
 * to the central error handler (api/error-handler.ts), which names the field.
 */
export const apiRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  await prepareAuth(app);
  app.addHook('preValidation', refuseUnsafeText);
  const notices = deps.notices ?? NO_NOTICES;
  const regions = deps.regions ?? createRegionsCache();
  const ctx: RouteContext = {
    db: deps.db,
    config: deps.config,
    // This instance's look-ups see a change at once, whatever the hub does with the notice.
    onRegionsChanged: () => {
      regions.invalidate();
      deps.onRegionsChanged?.();
    },
    regions,
    notices,
    auth: createAuth({
      db: deps.db,
      adminToken: deps.config.adminToken,
      sessionTtlHours: deps.config.sessionTtlHours,
      onSessionsEnded: (operatorId) => notices.publish([sessionEnded(operatorId)]),
    }),
  };
  sessionRoutes(app, ctx);
  clientRoutes(app, ctx);
  recordRoutes(app, ctx);
  operatorRoutes(app, ctx);
  adminOperatorRoutes(app, ctx);
  adminRegionRoutes(app, ctx);
  adminChannelRoutes(app, ctx);
  adminMailboxRoutes(app, ctx);
  adminMessengerRoutes(app, ctx);
  adminStoreRoutes(app, ctx);
  adminWidgetRoutes(app, ctx);
  leadWorkflowRoutes(app, ctx);
  duplicateRoutes(app, ctx);
  activityRoutes(app, ctx);
  dealRoutes(app, ctx);
  adminCrmRoutes(app, ctx);
  consoleWorkRoutes(app, ctx);
  consoleColleagueRoutes(app, ctx);
  cannedAnswerRoutes(app, ctx);
  adminAutomationRoutes(app, ctx);
  reportRoutes(app, ctx);
};
