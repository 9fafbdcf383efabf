import type { Database } from '../../crm-core/db/database.js';
import type { Notifier } from '../../realtime/notices.js';
import type { Auth } from '../auth.js';
import type { ApiConfig } from '../config.js';

/** What every route module gets: the API's dependencies plus the auth hooks built once from them. */
export interface RouteContext {
  db: Database;
  config: Readonly<ApiConfig>;
  onRegionsChanged?: () => void;
  auth: Auth;
  /** Console notices after a change commits (realtime/notices.ts); publishes nothing without a hub. */
  notices: Notifier;
}
