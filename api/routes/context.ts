import type { Database } from '../../crm-core/db/database.js';
import type { Notifier } from '../../realtime/notices.js';
import type { RegionsCache } from '../../router/regions-cache.js';
import type { Auth } from '../auth.js';
import type { ApiConfig } from '../config.js';

/** What every route module gets: the API's dependencies plus the auth hooks built once from them. */
export interface RouteContext {
  db: Database;
  config: Readonly<ApiConfig>;
  /** Called after regions or their rules change (this instance's regions cache is already dropped). */
  onRegionsChanged?: () => void;
  /** The region rules the client look-up resolves regions with (invalidated on every change). */
  regions: RegionsCache;
  auth: Auth;
  /** Console notices after a change commits (realtime/notices.ts); publishes nothing without a hub. */
  notices: Notifier;
}
