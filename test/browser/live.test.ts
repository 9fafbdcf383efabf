import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_LINE_SECRET } from '../../app/demo-seed.js';
import { upsertMessengerAccount } from '../../crm-core/repositories/messenger-account.repository.js';
import { pgAvailable } from '../support/services.js';
import { BOT_TOKEN, fixture, telegramAccount, WEBHOOK_SECRET } from '../support/telegram-app.js';
import { until as waitUntil } from '../support/until.js';
import { TelegramApiServer } from '../support/vendors/telegram-api.js';
import { chromiumAvailable, consoleContext, launchChromium, screenshot, signIn } from './browser.js';
import { ADMIN_TOKEN, type ConsoleService, call, startConsoleService } from './console-service.js';

// A browser test is a whole user flow through a real Chromium; CI runs it beside other suites on two cores.
vi.setConfig({ testTimeout: 60_000 });

/**
 * The console live, in a real browser: a ringing call pops the caller's card (the PBX's routing request names
 * the operator; the console socket carries `call.ringing`), a new caller pops the new-caller panel, and a reply
 * typed in the console reaches the (local) Telegram Bot API, its delivery status shown as it changes.
 */
const available = (await pgAvailable()) && chromiumAvailable();
const CHAT_ID = 1111111;

describe.skipIf(!available)('console live: screen pop and a Telegram reply', () => {
  let s: ConsoleService;
  let browser: Browser;
  let telegram: TelegramApiServer;

  const until = <T>(what: string, probe: () => Promise<T | undefined>) => waitUntil(what, probe, 20_000);
  const leadOf = (name: string) =>
    until(`lead ${name}`, async () => {
      const r = await call(s.url, 'GET', '/v1/leads?limit=100', ADMIN_TOKEN);
      return (r.body.items as { id: number; name: string; responsibleId: number }[]).find(
        (l) => l.name === name,
      );
    });
  const loginOf = (id: number) => s.demo.operators.find((o) => o.id === id)!.login;

  beforeAll(async () => {
    telegram = await TelegramApiServer.start();
    telegram.addBot(BOT_TOKEN, 'shop_bot');
    telegram.addChat(BOT_TOKEN, CHAT_ID);
    [s, browser] = await Promise.all([
      startConsoleService({ TELEGRAM_API_URL: telegram.url }),
      launchChromium(),
    ]);
    await upsertMessengerAccount(s.t.db, telegramAccount({ regionId: undefined }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await telegram?.close();
  });

  it("pops the known caller's card within a second of the routing request, and the new-caller panel", async () => {
    await fetch(new URL('/v1/forms/demo', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Maria Sokolova', phone: '+7 495 222-33-44', region: 'Moscow' }),
    });
    const lead = await leadOf('Maria Sokolova');
    const owner = loginOf(lead.responsibleId);
    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, owner, `demo-${owner}`);
    await page.locator('.conn.on').waitFor();

    const asked = Date.now();
    const route = await fetch(
      new URL(`/v1/telephony/route?line=demo&from=${encodeURIComponent('8 495 222 33 44')}`, s.url),
      { headers: { authorization: `Bearer ${DEMO_LINE_SECRET}` } },
    );
    expect(route.status).toBe(200);
    await page.getByRole('heading', { name: 'Maria Sokolova', level: 1 }).waitFor({ timeout: 5_000 });
    const popMs = Date.now() - asked;
    await expect(page.getByRole('alert').first().textContent()).resolves.toContain('+74952223344');
    expect(popMs).toBeLessThan(1_000);
    await screenshot(page, 'screen-pop');

    // Saint Petersburg has one operator, vera: an unknown +7812 caller rings her as a new caller.
    const vera = await ctx.browser()!.newContext({ baseURL: s.url, viewport: { width: 1280, height: 800 } });
    const vp = await vera.newPage();
    await signIn(vp, 'vera', 'demo-vera', 'ru');
    await vp.locator('.conn.on').waitFor();
    await fetch(
      new URL(`/v1/telephony/route?line=demo&from=${encodeURIComponent('+7 812 555 66 77')}`, s.url),
      {
        headers: { authorization: `Bearer ${DEMO_LINE_SECRET}` },
      },
    );
    await vp.getByRole('heading', { name: 'Новый клиент' }).waitFor({ timeout: 5_000 });
    await expect(vp.locator('.caller').textContent()).resolves.toContain('+78125556677');
    await expect(vp.locator('.caller').textContent()).resolves.toContain('Demo ad campaign');
    await expect(vp.locator('.caller').textContent()).resolves.toContain('Saint Petersburg');
    await screenshot(vp, 'new-caller-ru');
    await vera.close();
    await ctx.close();
  });

  it('sends a reply typed in the console to the Telegram chat and shows its delivery status', async () => {
    const update = fixture('text') as { message: Record<string, unknown> };
    update.message.date = Math.floor(Date.now() / 1000) - 120;
    update.message.text = 'Hello! Is my order #1042 ready?';
    const hook = await fetch(new URL('/v1/messengers/telegram/shop', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
      body: JSON.stringify(update),
    });
    expect(hook.status).toBe(200);
    const conv = await until('the conversation', async () => {
      const r = await call(s.url, 'GET', '/v1/conversations', ADMIN_TOKEN);
      return (r.body.items as { id: number; responsibleId: number; ownerType: string; ownerId: number }[])[0];
    });
    const owner = loginOf(conv.responsibleId);

    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, owner, `demo-${owner}`);
    await page.locator('.items a[data-kind="conversation"]').first().click();
    await page.locator('.msg.in', { hasText: 'Hello! Is my order #1042 ready?' }).waitFor();
    await page.getByRole('textbox', { name: 'Message to the client' }).waitFor();
    // Keyboard only: Alt+R puts the cursor in the reply box, Ctrl+Enter sends.
    await page.keyboard.press('Alt+r');
    await page.keyboard.type('Yes, it is packed and leaves today.');
    await page.keyboard.press('Control+Enter');

    const sent = await until('sendMessage at the Bot API', async () =>
      telegram.callsOf('sendMessage').find((c) => c.params.text === 'Yes, it is packed and leaves today.'),
    );
    expect(String(sent.params.chat_id)).toBe(String(CHAT_ID));
    await page.locator('.msg.out [data-status="sent"]').waitFor();
    await screenshot(page, 'conversation');
    await ctx.close();
  });

  it('reschedules and completes the callback a missed call planned, from the work list', async () => {
    const missed = await fetch(new URL('/v1/telephony/generic', s.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_LINE_SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        line: 'demo',
        direction: 'inbound',
        from: '8 499 111 22 33',
        to: '+74950000000',
        startedAt: new Date(Date.now() - 25 * 60_000).toISOString(),
        duration: 0,
        status: 'missed',
        externalCallId: 'browser-missed-1',
      }),
    });
    expect(missed.status).toBeLessThan(300);
    const callback = await until('the planned callback', async () => {
      const r = await call(s.url, 'GET', '/v1/activities?type=callback&state=planned', ADMIN_TOKEN);
      return (r.body.items as { id: number; responsibleId: number; ownerType: string; ownerId: number }[])[0];
    });
    const owner = loginOf(callback.responsibleId);
    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, owner, `demo-${owner}`);
    const item = page.locator(`.items a[href="#/${callback.ownerType}/${callback.ownerId}"]`).first();
    await item.waitFor();
    await screenshot(page, 'my-work');
    await item.click();

    await page.getByLabel('Reschedule').fill('2030-01-15T10:30');
    await page.getByRole('button', { name: 'Reschedule' }).click();
    await expect
      .poll(async () => (await call(s.url, 'GET', '/v1/activities?type=callback', ADMIN_TOKEN)).body.items[0])
      .toMatchObject({
        id: callback.id,
        state: 'planned',
        deadline: new Date('2030-01-15T10:30').toISOString(),
      });
    await page.getByRole('button', { name: 'Complete ↩' }).click();
    await expect
      .poll(async () => (await call(s.url, 'GET', '/v1/activities?type=callback', ADMIN_TOKEN)).body.items[0])
      .toMatchObject({ id: callback.id, state: 'completed' });
    await ctx.close();
  });

  it("takes a client from the region's queue", async () => {
    // Nobody to give a Saint Petersburg contact to: vera offline, no region or global default operator.
    const vera = s.operator('vera');
    expect(
      (await call(s.url, 'PUT', '/v1/operators/me/status', vera.token, { status: 'offline' })).status,
    ).toBe(200);
    const regions = (await call(s.url, 'GET', '/v1/admin/regions', ADMIN_TOKEN)).body.items as {
      id: number;
      code: string;
    }[];
    const spb = regions.find((r) => r.code === 'spb')!.id;
    await call(s.url, 'PATCH', `/v1/admin/regions/${spb}`, ADMIN_TOKEN, { defaultOperatorId: null });
    await call(s.url, 'PUT', '/v1/admin/settings/default-operator', ADMIN_TOKEN, { operatorId: null });
    await fetch(new URL('/v1/forms/demo', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Pavel Queue', phone: '+7 812 444-55-66', region: 'Saint Petersburg' }),
    });
    const lead = await leadOf('Pavel Queue');
    expect(lead.responsibleId).toBeNull();

    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, 'vera', 'demo-vera');
    const item = page.locator('.items a', { hasText: 'Pavel Queue' });
    await item.locator('.queue').waitFor();
    await item.click();
    await page.getByRole('button', { name: 'Take' }).waitFor();
    await page.keyboard.press('Alt+t');
    await expect
      .poll(async () => (await call(s.url, 'GET', `/v1/leads/${lead.id}`, ADMIN_TOKEN)).body.responsibleId)
      .toBe(vera.id);
    await page.locator('.facts', { hasText: 'Vera Smirnova' }).waitFor();
    await ctx.close();
  });
});
