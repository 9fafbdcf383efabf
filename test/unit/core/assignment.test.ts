import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import type { RegionRow } from '../../../crm-core/repositories/region.repository.js';
import { OperatorPicker } from '../../../router/operator-picker.js';
import { resolveRegion } from '../../../router/region-resolver.js';

const region = (
  id: number,
  strategy: RegionRow['strategy'],
  rules: RegionRow['rules'],
  def: number | null = null,
): RegionRow => ({
  id,
  code: `r${id}`,
  name: `R${id}`,
  strategy,
  priority: id,
  default_operator_id: def,
  rules,
});
const msk = region(
  1,
  'round_robin',
  [
    { kind: 'phone_prefix', value: '+7495' },
    { kind: 'form_city', value: 'Moscow' },
  ],
  9,
);
const spb = region(2, 'least_loaded', [
  { kind: 'called_line', value: '+7 812 000-00-00' },
  { kind: 'country', value: 'RU' },
]);

describe('resolveRegion', () => {
  it('tries regions in priority order and rules in order', () => {
    expect(resolveRegion([msk, spb], { callerPhone: '+74951234567' })).toEqual({
      regionId: 1,
      rule: 'phone_prefix:+7495',
    });
    expect(resolveRegion([msk, spb], { callerPhone: '+78121234567' })).toEqual({
      regionId: 2,
      rule: 'country:RU',
    });
    expect(resolveRegion([msk, spb], { formCity: ' moscow ' })?.regionId).toBe(1);
    expect(resolveRegion([msk, spb], { calledLine: '+78120000000' })).toEqual({
      regionId: 2,
      rule: 'called_line:+7 812 000-00-00',
    });
  });
  it('lets the form or line region win over rules, and finds nothing for unknown hints', () => {
    expect(resolveRegion([msk, spb], { explicitRegionId: 2, callerPhone: '+74951234567' })?.regionId).toBe(2);
    expect(resolveRegion([msk, spb], { callerPhone: '+12025550143' })).toBeUndefined();
  });
});

describe('OperatorPicker', () => {
  const regions = new Map([
    [1, msk],
    [2, spb],
  ]);
  const online = (ids: number[], load = 0) => ids.map((operatorId) => ({ operatorId, online: true, load }));

  it('spreads round robin within ±1, deterministically, continuing from the stored pointer', () => {
    const picker = new OperatorPicker(
      regions,
      new Map([[1, online([3, 5, 7])]]),
      new Map([[1, 5]]),
      new Set(),
      null,
    );
    const got = Array.from({ length: 10 }, () => picker.assign(1).operatorId);
    expect(got).toEqual([7, 3, 5, 7, 3, 5, 7, 3, 5, 7]);
    const counts = [3, 5, 7].map((id) => got.filter((x) => x === id).length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(picker.changedPointers()).toEqual([{ regionId: 1, lastOperatorId: 7, count: 10 }]);
  });

  it('gives least-loaded regions to the operator with the fewest open items', () => {
    const cands = [
      { operatorId: 1, online: true, load: 5 },
      { operatorId: 2, online: true, load: 1 },
      { operatorId: 3, online: true, load: 2 },
    ];
    const picker = new OperatorPicker(regions, new Map([[2, cands]]), new Map(), new Set(), null);
    expect([1, 2, 3, 4].map(() => picker.assign(2).operatorId)).toEqual([2, 3, 2, 3]);
  });

  it('falls back: offline region → region default → global default → unassigned with a reason', () => {
    const offline = new Map([[1, [{ operatorId: 3, online: false, load: 0 }]]]);
    expect(new OperatorPicker(regions, offline, new Map(), new Set([9]), null).assign(1)).toEqual({
      operatorId: 9,
      reason: 'region_default',
    });
    expect(new OperatorPicker(regions, offline, new Map(), new Set([4]), 4).assign(1)).toEqual({
      operatorId: 4,
      reason: 'global_default',
    });
    expect(new OperatorPicker(regions, offline, new Map(), new Set(), null).assign(1)).toEqual({
      operatorId: null,
      reason: 'unassigned:no_available_operator',
    });
    expect(new OperatorPicker(regions, offline, new Map(), new Set(), null).assign(null).reason).toBe(
      'unassigned:no_region_no_default',
    );
  });
});

describe('resolveRegion, prepared rules and lazy hints', () => {
  /** The resolver as it was before rules were prepared once and the country parsed lazily: the reference. */
  const digits = (s: string) => s.replace(/\D/g, '');
  const same = (a: string, b: string) => a.trim().toLocaleLowerCase() === b.trim().toLocaleLowerCase();
  const reference = (regions: RegionRow[], h: Parameters<typeof resolveRegion>[1]) => {
    if (h.explicitRegionId && regions.some((r) => r.id === h.explicitRegionId))
      return { regionId: h.explicitRegionId, rule: 'source' };
    const country =
      h.country?.toUpperCase() ??
      (h.callerPhone ? parsePhoneNumberFromString(h.callerPhone)?.country : undefined);
    const matches = (kind: string, value: string) => {
      switch (kind) {
        case 'phone_prefix':
          return (
            !!h.callerPhone && digits(value).length > 0 && digits(h.callerPhone).startsWith(digits(value))
          );
        case 'country':
          return !!country && same(country, value);
        case 'called_line':
          return (
            !!h.calledLine &&
            (same(h.calledLine, value) ||
              (digits(value).length > 3 && digits(h.calledLine) === digits(value)))
          );
        case 'form_region':
          return !!h.formRegion && same(h.formRegion, value);
        case 'form_city':
          return !!h.formCity && same(h.formCity, value);
        default:
          return false;
      }
    };
    for (const r of regions)
      for (const rule of r.rules)
        if (matches(rule.kind, rule.value)) return { regionId: r.id, rule: `${rule.kind}:${rule.value}` };
    return undefined;
  };

  it('answers what the straightforward resolver answers, for every combination of hints', () => {
    const rules: RegionRow[] = [
      region(1, 'round_robin', [
        { kind: 'form_region', value: ' Moscow ' },
        { kind: 'phone_prefix', value: '+7 (499)' },
        { kind: 'called_line', value: '8 800 555-35-35' },
      ]),
      region(2, 'round_robin', [
        { kind: 'form_city', value: 'САНКТ-ПЕТЕРБУРГ' },
        { kind: 'country', value: 'us' },
        { kind: 'called_line', value: 'support' },
      ]),
      region(3, 'round_robin', [{ kind: 'country', value: ' RU' }]),
    ];
    const phones = [undefined, '+74991234567', '+74951234567', '+12025550143', '+441632960961'];
    const lines = [undefined, '88005553535', 'SUPPORT ', '555'];
    const formRegions = [undefined, '', '  ', 'moscow', 'Tver'];
    const cities = [undefined, 'санкт-петербург ', 'Moscow'];
    const countries = [undefined, 'us', 'GB'];
    let n = 0;
    for (const callerPhone of phones)
      for (const calledLine of lines)
        for (const formRegion of formRegions)
          for (const formCity of cities)
            for (const country of countries) {
              const h = { callerPhone, calledLine, formRegion, formCity, country };
              expect(resolveRegion(rules, h), JSON.stringify(h)).toEqual(reference(rules, h));
              n++;
            }
    expect(n).toBe(900);
    expect(resolveRegion(rules, { explicitRegionId: 3, formRegion: 'Moscow' })).toEqual({
      regionId: 3,
      rule: 'source',
    });
  });
});
