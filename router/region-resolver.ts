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
const folded = (s: string) => s.trim().toLocaleLowerCase();

type Rule = RegionRow['rules'][number];
/** A rule's value as the comparisons need it, worked out once per rule object (regions are cached rows). */
const prepared = new WeakMap<Rule, { folded: string; digits: string }>();
function prepare(rule: Rule) {
  let p = prepared.get(rule);
  if (!p) {
    p = { folded: folded(rule.value), digits: digits(rule.value) };
    prepared.set(rule, p);
  }
  return p;
}

/**
 * Regions are tried in priority order and each region's rules in their order; the first matching rule wins.
 * Pure and deterministic: the same hints and rules always give the same region.
 *
 * Runs for every routed contact, so the costly parts are done once: a rule's value is folded when the rule is
 * first seen, a hint when a rule first needs it, and the caller's country is parsed from the phone (full
 * libphonenumber metadata, tens of microseconds) only when a `country` rule is actually reached.
 */
export function resolveRegion(
  regions: RegionRow[],
  h: RegionHints,
): { regionId: number; rule: string } | undefined {
  if (h.explicitRegionId && regions.some((r) => r.id === h.explicitRegionId)) {
    return { regionId: h.explicitRegionId, rule: 'source' };
  }
  const once = <T>(f: () => T) => {
    let done = false;
    let v: T;
    return () => {
      if (!done) {
        v = f();
        done = true;
      }
      return v;
    };
  };
  const country = once(() => {
    const c =
      h.country?.toUpperCase() ??
      (h.callerPhone ? parsePhoneNumberFromString(h.callerPhone)?.country : undefined);
    return c ? folded(c) : undefined;
  });
  const callerDigits = once(() => (h.callerPhone ? digits(h.callerPhone) : ''));
  const line = once(() =>
    h.calledLine ? { folded: folded(h.calledLine), digits: digits(h.calledLine) } : undefined,
  );
  const formRegion = once(() => (h.formRegion ? folded(h.formRegion) : undefined));
  const formCity = once(() => (h.formCity ? folded(h.formCity) : undefined));
  for (const region of regions) {
    for (const rule of region.rules) {
      if (matches(rule)) return { regionId: region.id, rule: `${rule.kind}:${rule.value}` };
    }
  }
  return undefined;

  function matches(rule: Rule): boolean {
    const v = prepare(rule);
    switch (rule.kind) {
      case 'phone_prefix':
        return !!h.callerPhone && v.digits.length > 0 && callerDigits().startsWith(v.digits);
      case 'country':
        return country() !== undefined && country() === v.folded; // '' is no country (undefined above)
      case 'called_line': {
        const l = line();
        return !!l && (l.folded === v.folded || (v.digits.length > 3 && l.digits === v.digits));
      }
      case 'form_region':
        return formRegion() !== undefined && formRegion() === v.folded;
      case 'form_city':
        return formCity() !== undefined && formCity() === v.folded;
      default:
        return false;
    }
  }
}
