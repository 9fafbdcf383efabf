import { describe, expect, it } from 'vitest';
import type { OwnerInfo } from '../../../crm-core/repositories/identity.repository.js';
import type { Identity } from '../../../event/identity.js';
import { matchClient } from '../../../router/client-match.js';

const phone: Identity = { kind: 'phone', value: '+74951112233', valid: true };
const email: Identity = { kind: 'email', value: 'a@example.com', valid: true };
const owner = (o: Partial<OwnerInfo> & Pick<OwnerInfo, 'owner_type' | 'owner_id'>): OwnerInfo => ({
  responsible_id: null,
  responsible_active: null,
  region_id: null,
  name: null,
  status: null,
  converted_contact_id: null,
  company_id: null,
  merged_into_type: null,
  merged_into_id: null,
  ...o,
});
const ownersMap = (...os: OwnerInfo[]) => new Map(os.map((o) => [`${o.owner_type}:${o.owner_id}`, o]));

describe('matchClient', () => {
  it('prefers a contact over an open lead and reports the lead as a duplicate', () => {
    const holders = new Map([
      ['phone:+74951112233', { type: 'lead' as const, id: 1 }],
      ['email:a@example.com', { type: 'contact' as const, id: 7 }],
    ]);
    const m = matchClient(
      [phone, email],
      holders,
      ownersMap(owner({ owner_type: 'lead', owner_id: 1, status: 'new' })),
    );
    expect(m.best).toEqual({ type: 'contact', id: 7 });
    expect(m.others).toEqual([{ type: 'lead', id: 1 }]);
    expect(m.matchedBy.get('contact:7')).toEqual([{ kind: 'email', value: 'a@example.com' }]);
  });

  it('resolves a converted lead to its contact and ignores a junk lead', () => {
    const converted = matchClient(
      [phone],
      new Map([['phone:+74951112233', { type: 'lead' as const, id: 1 }]]),
      ownersMap(owner({ owner_type: 'lead', owner_id: 1, status: 'converted', converted_contact_id: 9 })),
    );
    expect(converted.best).toEqual({ type: 'contact', id: 9 });
    const junk = matchClient(
      [phone],
      new Map([['phone:+74951112233', { type: 'lead' as const, id: 1 }]]),
      ownersMap(owner({ owner_type: 'lead', owner_id: 1, status: 'junk' })),
    );
    expect(junk.best).toBeUndefined();
  });

  it('follows merge pointers through a chain to the survivor, and counts two merged holders as one client', () => {
    const holders = new Map([
      ['phone:+74951112233', { type: 'lead' as const, id: 1 }],
      ['email:a@example.com', { type: 'contact' as const, id: 7 }],
    ]);
    const m = matchClient(
      [phone, email],
      holders,
      ownersMap(
        owner({
          owner_type: 'lead',
          owner_id: 1,
          status: 'merged',
          merged_into_type: 'contact',
          merged_into_id: 7,
        }),
        owner({ owner_type: 'contact', owner_id: 7, merged_into_type: 'contact', merged_into_id: 8 }),
        owner({ owner_type: 'contact', owner_id: 8 }),
      ),
    );
    expect(m.best).toEqual({ type: 'contact', id: 8 });
    expect(m.others).toEqual([]);
    expect(m.matchedBy.get('contact:8')).toHaveLength(2);
  });

  it('finds a junk lead when the business reopens junk leads', () => {
    const holders = new Map([['phone:+74951112233', { type: 'lead' as const, id: 1 }]]);
    const owners = ownersMap(owner({ owner_type: 'lead', owner_id: 1, status: 'junk' }));
    expect(matchClient([phone], holders, owners, 'reopen').best).toEqual({ type: 'lead', id: 1 });
    expect(matchClient([phone], holders, owners, 'new_lead').best).toBeUndefined();
  });
});
