import type { ClientDirectory } from '../../connectors/contract.js';
import type { Queryable } from '../db/database.js';
import { lookupClient } from './lookup.service.js';

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
