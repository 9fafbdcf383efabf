import type { ClientDirectory } from '../channels/settings.js';
import type { Queryable } from '../crm-core/db/database.js';
import { lookupClient } from './client-lookup.js';

/** The read-only client look-up connectors may use, through the same code path as GET /v1/clients/lookup. */
export function clientDirectory(db: Queryable, defaultCountry: string): ClientDirectory {
  return {
    async findByPhone(phone) {
      const r = await lookupClient(db, { phone }, defaultCountry);
      return r.found
        ? { entityType: r.entityType, entityId: r.entityId, responsibleId: r.responsible?.id ?? null }
        : undefined;
    },
  };
}
