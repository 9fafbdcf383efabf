import { describe, expect, it } from 'vitest';
import type { WidgetSettings } from '../../../channels/widgets.js';
import { contactEvent, messageEvent, pageUrl, pageUtm } from '../../../connectors/livechat/events.js';
import { checkContact, checkMessage } from '../../../connectors/livechat/frames.js';
import { originAllowed } from '../../../connectors/livechat/origin.js';
import { createRateLimiter } from '../../../connectors/livechat/rate-limit.js';
import { isVisitorToken, newVisitorToken, visitorIdOf } from '../../../connectors/livechat/visitor.js';

const widget: WidgetSettings = {
  key: 'shop',
  name: 'Shop chat',
  allowedOrigins: ['https://shop.example'],
  colors: {},
  texts: {},
  preChat: { fields: [], required: [] },
  source: 'site chat',
  regionId: 2,
  active: true,
};
const origin = { widget, visitorId: 'v1', page: {}, ip: '203.0.113.9', defaultCountry: 'RU' };

describe('live chat: what a visitor sends', () => {
  it('takes UTM tags from the page, else the referring site as a referral', () => {
    expect(
      pageUtm({ url: 'https://shop.example/?utm_source=ya&utm_medium=cpc&utm_term=%20sofa%20' }),
    ).toEqual({
      source: 'ya',
      medium: 'cpc',
      term: 'sofa',
    });
    expect(pageUtm({ url: 'https://shop.example/', referrer: 'https://news.example/a' })).toEqual({
      source: 'news.example',
      medium: 'referral',
    });
    // Moving between the site's own pages is no referral.
    expect(pageUtm({ url: 'https://shop.example/b', referrer: 'https://shop.example/a' })).toEqual({});
    expect(pageUrl('javascript:alert(1)')).toBeUndefined();
    expect(pageUrl(`https://shop.example/${'x'.repeat(2_000)}`)).toBeUndefined();
  });

  it("makes events whose first identity is the visitor's, scoped ids, the widget as source and region", () => {
    const m = messageEvent(origin, 'c-1', 'Hello');
    expect(m).toMatchObject({
      channel: 'webchat',
      source: { type: 'chat', key: 'shop', name: 'site chat' },
      content: { text: 'Hello', message: { vendorMessageId: 'v1:c-1', chatId: 'v1' } },
      regionHints: { clientIp: '203.0.113.9' },
      meta: { accountSource: 'site chat', accountRegionId: 2 },
    });
    expect(messageEvent(origin, 'c-1', 'Hello').id).toBe(m.id);
    expect(messageEvent({ ...origin, visitorId: 'v2' }, 'c-1', 'Hello').id).not.toBe(m.id);
    const c = contactEvent(origin, { name: 'Ivan', phone: '8 495 111 22 33', email: 'Ivan@Example.com' });
    expect(c.sender.identities.map((i) => `${i.kind}:${i.value}`)).toEqual([
      'webchat:v1',
      'phone:+74951112233',
      'email:ivan@example.com',
    ]);
    expect(c.content.message?.sharedContact).toEqual({
      phone: '8 495 111 22 33',
      name: 'Ivan',
      ownPhone: true,
    });
    expect(c.content.text).toBeUndefined();
  });

  it('checks frames naming the field', () => {
    expect(checkMessage({ clientId: 'a b', text: 'x' })).toMatchObject({ field: 'clientId' });
    expect(checkMessage({ clientId: 'ok', text: '   ' })).toMatchObject({ field: 'text' });
    expect(checkMessage({ clientId: 'ok', text: 'x'.repeat(4_097) })).toMatchObject({ field: 'text' });
    expect(checkMessage({ clientId: 'ok', text: ' hi ' })).toEqual({ ok: { clientId: 'ok', text: 'hi' } });
    expect(checkContact({ email: 'not an email' })).toMatchObject({ field: 'email' });
    expect(checkContact({ name: 7 })).toMatchObject({ field: 'name' });
    expect(checkContact({})).toMatchObject({ field: 'phone' });
    expect(checkContact({ phone: '+7 (495) 111-22-33', name: '' })).toEqual({
      ok: { phone: '+7 (495) 111-22-33' },
    });
  });

  it('allows listed origins only, never a missing or opaque one', () => {
    expect(originAllowed('https://SHOP.example/', ['https://shop.example'])).toBe(true);
    expect(originAllowed('https://shop.example.evil.test', ['https://shop.example'])).toBe(false);
    expect(originAllowed('http://shop.example', ['https://shop.example'])).toBe(false);
    expect(originAllowed(undefined, ['*'])).toBe(false);
    expect(originAllowed('null', ['*'])).toBe(false);
    expect(originAllowed('https://any.example', ['*'])).toBe(true);
  });

  it('visitor tokens are unguessable, the stored id is a hash per widget', () => {
    const t = newVisitorToken();
    expect(isVisitorToken(t)).toBe(true);
    expect(isVisitorToken(`${t}x`)).toBe(false);
    expect(visitorIdOf('shop', t)).toHaveLength(22);
    expect(visitorIdOf('shop', t)).not.toBe(visitorIdOf('other', t));
    expect(visitorIdOf('shop', t)).not.toContain(t.slice(0, 10));
  });

  it('rate limits: a burst up to the limit, then one more per interval', () => {
    let now = 0;
    const limit = createRateLimiter(6, () => now);
    for (let i = 0; i < 6; i++) expect(limit.take('a')).toBeUndefined();
    expect(limit.take('a')).toBe(10);
    expect(limit.take('b')).toBeUndefined();
    now += 10_000;
    expect(limit.take('a')).toBeUndefined();
    expect(limit.take('a')).toBeGreaterThan(0);
  });
});
