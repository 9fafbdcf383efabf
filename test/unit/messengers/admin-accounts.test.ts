import { describe, expect, it } from 'vitest';
import { accountFromBody } from '../../../api/routes/admin-messengers.js';
import type { MessengerAccountSettings } from '../../../channels/messengers.js';
import { AppError } from '../../../lib/errors.js';

const fieldOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).fields;
  }
  throw new Error('no error');
};

describe('a messenger account from the admin API', () => {
  const viber = { vendor: 'viber' as const, name: 'V', authToken: 'tok-1', senderName: 'Shop' };
  it('keeps a stored secret for the mask or an omission, for the same vendor only', () => {
    const stored = accountFromBody('v', viber, undefined);
    expect(stored).toEqual({
      key: 'v',
      vendor: 'viber',
      name: 'V',
      active: true,
      authToken: 'tok-1',
      senderName: 'Shop',
    });
    expect(accountFromBody('v', { ...viber, authToken: '********' }, stored)).toMatchObject({
      authToken: 'tok-1',
    });
    const { authToken: _t, ...withoutToken } = viber;
    expect(accountFromBody('v', withoutToken as never, stored)).toMatchObject({ authToken: 'tok-1' });
    const telegramStored = {
      vendor: 'telegram',
      key: 'v',
      name: 'x',
      botToken: '1:a',
      mode: 'polling',
      active: true,
    };
    expect(
      fieldOf(() => accountFromBody('v', withoutToken as never, telegramStored as MessengerAccountSettings)),
    ).toEqual(['authToken']);
  });
  it('names the field another vendor has, and the vendor requires', () => {
    expect(fieldOf(() => accountFromBody('v', { ...viber, groupId: 5 } as never, undefined))).toEqual([
      'groupId',
    ]);
    expect(
      fieldOf(() =>
        accountFromBody(
          'v',
          { vendor: 'vk', name: 'x', groupId: 1, accessToken: 'a', secret: 's' } as never,
          undefined,
        ),
      ),
    ).toEqual(['confirmationCode']);
  });
});
