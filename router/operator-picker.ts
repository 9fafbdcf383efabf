import type { RegionRow } from '../crm-core/repositories/region.repository.js';

export interface Candidate {
  operatorId: number;
  online: boolean;
  /** Open leads + planned activities. */
  load: number;
}

export interface Assignment {
  operatorId: number | null;
  /** Why: round_robin, least_loaded, region_default, global_default, or unassigned:<reason>. */
  reason: string;
}

/**
 * Picks operators for one batch of new contacts. It starts from the persisted round-robin pointers and
 * loads, updates them in memory as it assigns, and reports the new pointers for the repository to save.
 * Fallback chain: an available (online, active) operator of the region by the region's strategy, then the
 * region's default operator, then the global default queue operator; otherwise unassigned, with the reason.
 */
export class OperatorPicker {
  private readonly pointers = new Map<number, number | null>();
  private readonly counts = new Map<number, number>();

  constructor(
    private readonly regions: Map<number, RegionRow>,
    private readonly candidates: Map<number, Candidate[]>,
    pointers: Map<number, number | null>,
    private readonly activeOperators: Set<number>,
    private readonly globalDefault: number | null,
  ) {
    for (const [k, v] of pointers) this.pointers.set(k, v);
  }

  assign(regionId: number | null): Assignment {
    const region = regionId != null ? this.regions.get(regionId) : undefined;
    if (region) {
      const available = (this.candidates.get(region.id) ?? []).filter((c) => c.online);
      if (available.length > 0) {
        const pick =
          region.strategy === 'least_loaded'
            ? this.leastLoaded(region.id, available)
            : this.roundRobin(region.id, available);
        pick.load += 1;
        this.pointers.set(region.id, pick.operatorId);
        this.counts.set(region.id, (this.counts.get(region.id) ?? 0) + 1);
        return { operatorId: pick.operatorId, reason: region.strategy };
      }
      if (region.default_operator_id != null && this.activeOperators.has(region.default_operator_id)) {
        return { operatorId: region.default_operator_id, reason: 'region_default' };
      }
    }
    if (this.globalDefault != null && this.activeOperators.has(this.globalDefault)) {
      return { operatorId: this.globalDefault, reason: 'global_default' };
    }
    return {
      operatorId: null,
      reason: region ? 'unassigned:no_available_operator' : 'unassigned:no_region_no_default',
    };
  }

  /** Next operator after the last one given a contact, in id order, wrapping around. */
  private roundRobin(regionId: number, available: Candidate[]): Candidate {
    const last = this.pointers.get(regionId) ?? null;
    return available.find((c) => last == null || c.operatorId > last) ?? available[0]!;
  }

  /** Fewest open items; ties go round-robin so equal operators still share evenly. */
  private leastLoaded(regionId: number, available: Candidate[]): Candidate {
    const min = Math.min(...available.map((c) => c.load));
    return this.roundRobin(
      regionId,
      available.filter((c) => c.load === min),
    );
  }

  changedPointers(): { regionId: number; lastOperatorId: number; count: number }[] {
    return [...this.counts].map(([regionId, count]) => ({
      regionId,
      lastOperatorId: this.pointers.get(regionId)!,
      count,
    }));
  }
}
