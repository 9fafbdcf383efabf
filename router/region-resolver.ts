import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { RegionRow } from '../crm-core/repositories/region.repository.js';

export interface RegionHints {
  /** The region configured on the form or telephony line: it wins over rules. */
  explicitRegionId?: number;
  /** E.164 phone of the client. */
  callerPhone?: string;
  calledLine?: string;
  formRegion?: string;
  formCity?: string;
  country?: string;
}

const digits = (s: string) => s.replace(/\D/g, '');
const same = (a: string, b: string) => a.trim().toLocaleLowerCase() === b.trim().toLocaleLowerCase();

/**
 * Regions are tried in priority order and each region's rules in their order; the first matching rule wins.
 * Pure and deterministic: the same hints and rules always give the same region.
 */
export function resolveRegion(
  regions: RegionRow[],
  h: RegionHints,
): { regionId: number; rule: string } | undefined {
  if (h.explicitRegionId && regions.some((r) => r.id === h.explicitRegionId)) {
    return { regionId: h.explicitRegionId, rule: 'source' };
  }
  // Parsed only when a country rule is reached: parsing a number is the costly part of a routing answer.
  let country: string | undefined | null = null;
  const countryOf = () => {
    if (country === null) {
      country =
        h.country?.toUpperCase() ??
        (h.callerPhone ? parsePhoneNumberFromString(h.callerPhone)?.country : undefined);
    }
    return country;
  };
  for (const region of regions) {
    for (const rule of region.rules) {
      if (matches(rule.kind, rule.value)) return { regionId: region.id, rule: `${rule.kind}:${rule.value}` };
    }
  }
  return undefined;

  function matches(kind: string, value: string): boolean {
    switch (kind) {
      case 'phone_prefix':
        return !!h.callerPhone && digits(value).length > 0 && digits(h.callerPhone).startsWith(digits(value));
      case 'country': {
        const c = countryOf();
        return !!c && same(c, value);
      }
      case 'called_line':
        return (
          !!h.calledLine &&
          (same(h.calledLine, value) || (digits(value).length > 3 && digits(h.calledLine) === digits(value)))
        );
      case 'form_region':
        return !!h.formRegion && same(h.formRegion, value);
      case 'form_city':
        return !!h.formCity && same(h.formCity, value);
      default:
        return false;
    }
  }
}
