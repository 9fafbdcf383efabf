import type { Queryable } from '../crm-core/db/database.js';
import { listRegions, type RegionRow } from '../crm-core/repositories/region.repository.js';
import type { RegionsSource } from './client-lookup.js';

/** How long a copy serves when no invalidation arrives (the hub lost a notice): the router's own TTL. */
export const REGIONS_CACHE_TTL_MS = 5_000;

export interface RegionsCache {
  /** The region rules, read once per TTL or invalidation; a failed read is not kept. */
  get: RegionsSource;
  /** Drops the copy: the next get reads the rules again (regions or their rules changed). */
  invalidate(): void;
}

/**
 * The region rules the client look-up resolves a caller's region with (lookupClient's regions option). Rules
 * change rarely and by an administrator; every change invalidates this copy through the realtime hub (all
 * instances, api/server.ts), so the PBX routing answer reads no rules on its hot path. A read in flight when an
 * invalidation comes still answers the callers that asked before it, and is not kept for later ones.
 */
export function createRegionsCache(ttlMs = REGIONS_CACHE_TTL_MS, now = Date.now): RegionsCache {
  let copy: { at: number; rows: Promise<RegionRow[]> } | undefined;
  return {
    get(db: Queryable) {
      if (copy && now() - copy.at <= ttlMs) return copy.rows;
      const entry = { at: now(), rows: listRegions(db) };
      copy = entry;
      entry.rows.catch(() => {
        if (copy === entry) copy = undefined;
      });
      return entry.rows;
    },
    invalidate() {
      copy = undefined;
    },
  };
}
