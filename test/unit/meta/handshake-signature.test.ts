import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENIED_MESSAGE } from '../../../connectors/messenger-account.js';
import { validSha256Signature } from '../../../lib/credentials.js';
import {
  buildMetaApp,
  instagramAccount,
  type MetaTestApp,
  metaFixture,
  metaSignature,
  postSigned,
  whatsappAccount,
} from '../../support/meta-app.js';

const WA = whatsappAccount();
const IG = instagramAccount();
const denied = (code: 'UNAUTHORIZED' | 'FORBIDDEN') => ({ error: { code, message: DENIED_MESSAGE } });

let t: MetaTestApp;
beforeAll(async () => {
  t = await buildMetaApp([
    WA,
    IG,
    whatsappAccount({ key: 'wa-off', active: false }),
    // GitHub's documented X-Hub-Signature-256 test vector uses this secret (the scheme Meta uses too).
    whatsappAccount({ key: 'wa-vector', appSecret: "It's a Secret to Everybody" }),
  ]);
});
afterAll(() => t.app.close());

const handshake = (vendor: string, key: string, query: string) =>
  t.app.inject({ method: 'GET', url: `/v1/messengers/${vendor}/${key}?${query}` });

describe('GET verification handshake', () => {
  it('answers hub.challenge as text/plain when mode and verify token match', async () => {
    const res = await handshake(
      'whatsapp',
      'wa-main',
      'hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wa-verify-token',
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('1158201444');
    expect(t.updates.at(-1)).toEqual({ vendor: 'whatsapp', kind: 'verification', outcome: 'acknowledged' });
  });

  it('answers the Instagram handshake with the Instagram account token only', async () => {
    const ok = await handshake(
      'instagram',
      'ig-main',
      'hub.mode=subscribe&hub.challenge=42&hub.verify_token=ig-verify-token',
    );
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('42');
    const other = await handshake(
      'instagram',
      'ig-main',
      'hub.mode=subscribe&hub.challenge=42&hub.verify_token=wa-verify-token',
    );
    expect(other.statusCode).toBe(403);
  });

  it.each([
    ['a wrong verify token', 'wa-main', 'hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess'],
    ['no verify token', 'wa-main', 'hub.mode=subscribe&hub.challenge=1'],
    [
      'a mode other than subscribe',
      'wa-main',
      'hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=wa-verify-token',
    ],
    [
      'an unknown account key',
      'nobody',
      'hub.mode=subscribe&hub.challenge=1&hub.verify_token=wa-verify-token',
    ],
    ['an inactive account', 'wa-off', 'hub.mode=subscribe&hub.challenge=1&hub.verify_token=wa-verify-token'],
    [
      "another vendor's account key",
      'ig-main',
      'hub.mode=subscribe&hub.challenge=1&hub.verify_token=ig-verify-token',
    ],
  ])('refuses %s with the same 403', async (_case, key, query) => {
    const res = await handshake('whatsapp', key, query);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual(denied('FORBIDDEN'));
    expect(res.body).not.toContain('1');
  });
});

describe('X-Hub-Signature-256', () => {
  it('matches the published test vector (secret "It\'s a Secret to Everybody", body "Hello, World!")', () => {
    const vector = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(validSha256Signature("It's a Secret to Everybody", 'Hello, World!', vector)).toBe(true);
    expect(metaSignature("It's a Secret to Everybody", 'Hello, World!')).toBe(vector);
    expect(validSha256Signature("It's a Secret to Everybody", 'Hello, World?', vector)).toBe(false);
  });

  it('lets a body with the vector signature through to parsing, and refuses it tampered', async () => {
    const vector = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    const good = await postSigned(t.app, '/v1/messengers/whatsapp/wa-vector', 'Hello, World!', '', vector);
    expect(good.statusCode).toBe(400); // signed correctly, and then not JSON
    expect(good.json().error.fields).toEqual(['body']);
    const tampered = await postSigned(
      t.app,
      '/v1/messengers/whatsapp/wa-vector',
      'Hello, World?',
      '',
      vector,
    );
    expect(tampered.statusCode).toBe(401);
  });

  it('accepts a documented payload signed with the app secret', async () => {
    const body = metaFixture('wa-text.json');
    const res = await postSigned(t.app, '/v1/messengers/whatsapp/wa-main', body, WA.appSecret);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('EVENT_RECEIVED');
  });

  it.each([
    [
      'a tampered body',
      (b: string) => ({
        body: b.replace('another color', 'another colour'),
        sig: metaSignature(WA.appSecret, b),
      }),
    ],
    ['a missing header', (b: string) => ({ body: b, sig: null })],
    ["another account's secret", (b: string) => ({ body: b, sig: metaSignature(IG.appSecret, b) })],
    [
      'a bare hex digest of another body',
      (b: string) => ({ body: b, sig: metaSignature(WA.appSecret, `${b} `).slice(7) }),
    ],
    ['garbage', (b: string) => ({ body: b, sig: 'sha1=abc' })],
  ])('refuses %s with 401 and writes nothing', async (_case, make) => {
    const before = t.bus.events.length + t.bus.statuses.length;
    const { body, sig } = make(metaFixture('wa-text.json'));
    const res = await postSigned(t.app, '/v1/messengers/whatsapp/wa-main', body, WA.appSecret, sig);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(denied('UNAUTHORIZED'));
    expect(t.bus.events.length + t.bus.statuses.length).toBe(before);
    expect(t.updates.at(-1)).toEqual({ vendor: 'whatsapp', kind: 'request', outcome: 'unauthorized' });
  });

  it('answers an unknown account key exactly as a wrong signature', async () => {
    const body = metaFixture('wa-text.json');
    const unknown = await postSigned(t.app, '/v1/messengers/whatsapp/no-such-key', body, WA.appSecret);
    const wrong = await postSigned(t.app, '/v1/messengers/whatsapp/wa-main', body, 'not-the-secret');
    const inactive = await postSigned(t.app, '/v1/messengers/whatsapp/wa-off', body, WA.appSecret);
    expect([unknown.statusCode, wrong.statusCode, inactive.statusCode]).toEqual([401, 401, 401]);
    expect(unknown.body).toBe(wrong.body);
    expect(inactive.body).toBe(wrong.body);
  });

  it('checks the signature before reading the body: a forged malformed body is 401, not 400', async () => {
    const res = await postSigned(t.app, '/v1/messengers/instagram/ig-main', '{not json', 'forged');
    expect(res.statusCode).toBe(401);
  });

  it('signs Instagram deliveries with the Instagram account secret', async () => {
    const body = metaFixture('ig-text.json');
    expect((await postSigned(t.app, '/v1/messengers/instagram/ig-main', body, IG.appSecret)).statusCode).toBe(
      200,
    );
    expect((await postSigned(t.app, '/v1/messengers/instagram/ig-main', body, WA.appSecret)).statusCode).toBe(
      401,
    );
  });
});
