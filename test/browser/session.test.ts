import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pgAvailable } from '../support/services.js';
import { chromiumAvailable, consoleContext, launchChromium, screenshot, signIn } from './browser.js';
import { ADMIN_TOKEN, type ConsoleService, call, startConsoleService } from './console-service.js';

// A browser test is a whole user flow through a real Chromium; CI runs it beside other suites on two cores.
vi.setConfig({ testTimeout: 60_000 });

/**
 * Sign-in, sign-out and CSRF in a real browser, and the visibility rule seen from the console: a client's card
 * opened by URL by an operator who may not see it shows "not found" and nothing of the client.
 */
const available = (await pgAvailable()) && chromiumAvailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!available)('console: sign-in, sign-out, CSRF, another operator’s client', () => {
  let s: ConsoleService;
  let browser: Browser;
  let lead: { id: number; responsibleId: number; name: string };

  beforeAll(async () => {
    [s, browser] = await Promise.all([startConsoleService(), launchChromium()]);
    const form = await fetch(new URL('/v1/forms/demo', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Ivan Orlov',
        phone: '+7 (495) 123-45-67',
        email: 'ivan.orlov@example.com',
        region: 'Moscow',
        message: 'Please call me about the delivery',
      }),
    });
    expect(form.status).toBe(202);
    for (let i = 0; i < 100 && !lead; i++) {
      const r = await call(s.url, 'GET', '/v1/leads', ADMIN_TOKEN);
      lead = r.body.items[0];
      if (!lead) await sleep(100);
    }
    expect(lead.responsibleId).not.toBeNull();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  const loginOf = (id: number) => s.demo.operators.find((o) => o.id === id)!.login;
  const colleague = () => (loginOf(lead.responsibleId) === 'anna' ? 'boris' : 'anna');

  it('signs in (a wrong password is refused), shows my work and the card, and signs out', async () => {
    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await page.goto('/console/');
    await page.getByLabel('Login').fill('anna');
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Wrong login or password');
    await page.getByLabel('Password', { exact: true }).fill('');
    await screenshot(page, 'sign-in');

    const owner = loginOf(lead.responsibleId);
    await signIn(page, owner, `demo-${owner}`);
    const item = page.locator('.items a', { hasText: 'Ivan Orlov' });
    await item.waitFor();
    await item.click();
    await page.getByRole('heading', { name: 'Ivan Orlov', level: 1 }).waitFor();
    await expect(page.locator('.identities').textContent()).resolves.toContain('+74951234567');
    await screenshot(page, 'client-card');

    // Live: a new contact for me appears in my work list without a reload (the socket's work.changed).
    await fetch(new URL('/v1/forms/demo', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Olga Live', phone: '+7 495 765-43-21', region: 'Moscow' }),
    });
    const olga = await (async () => {
      for (;;) {
        const r = await call(s.url, 'GET', '/v1/leads', ADMIN_TOKEN);
        const l = r.body.items.find((x: { name: string }) => x.name === 'Olga Live');
        if (l) return l as { responsibleId: number };
        await sleep(100);
      }
    })();
    if (olga.responsibleId === lead.responsibleId)
      await page.locator('.items a', { hasText: 'Olga Live' }).waitFor({ timeout: 5_000 });

    // The session cookie is HttpOnly: the page's scripts cannot read it.
    expect(await page.evaluate('document.cookie')).not.toContain('ci_session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect((await ctx.request.get('/v1/me')).status()).toBe(401);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await ctx.close();
  });

  it('refuses a state-changing request made with the session cookie but without the CSRF token', async () => {
    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, 'vera', 'demo-vera');
    // Same cookie jar as the page: the session is there, the token is not.
    const refused = await ctx.request.patch('/v1/operators/me/status', { data: { status: 'away' } });
    expect(refused.status()).toBe(403);
    expect((await refused.json()).error.fields).toEqual(['x-csrf-token']);
    const wrong = await ctx.request.patch('/v1/operators/me/status', {
      data: { status: 'away' },
      headers: { 'x-csrf-token': 'x'.repeat(43) },
    });
    expect(wrong.status()).toBe(403);
    // The console itself sends the token: changing presence from the header works.
    await page.getByLabel('Presence').selectOption('away');
    await expect
      .poll(async () => (await call(s.url, 'GET', '/v1/admin/operators', ADMIN_TOKEN)).body.items)
      .toContainEqual(expect.objectContaining({ login: 'vera', status: 'away' }));
    await ctx.close();
  });

  it('shows "not found" for a client of another operator opened by URL, and nothing of the client', async () => {
    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, colleague(), `demo-${colleague()}`);
    await page.goto(`/console/#/lead/${lead.id}`);
    await page.getByTestId('not-found').waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toContain('Ivan Orlov');
    expect(text).not.toContain('4951234567');
    expect(
      await page
        .locator('.items')
        .textContent()
        .catch(() => ''),
    ).not.toContain('Ivan Orlov');
    await ctx.close();
  });

  it('moves the lead on, notes it and transfers it: the card and the work item leave my console', async () => {
    const owner = loginOf(lead.responsibleId);
    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, owner, `demo-${owner}`);
    await page.goto(`/console/#/lead/${lead.id}`);
    await page.getByRole('heading', { name: 'Ivan Orlov', level: 1 }).waitFor();
    // Before handing over: the lead is in progress, with an internal note for the colleague on its timeline.
    await page.getByLabel('Lead status').selectOption('in_progress');
    await expect
      .poll(async () => (await call(s.url, 'GET', `/v1/leads/${lead.id}`, ADMIN_TOKEN)).body.status)
      .toBe('in_progress');
    await page.getByRole('textbox', { name: 'Note for colleagues' }).fill('Wants delivery after 18:00');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.locator('.timeline .act.internal', { hasText: 'Wants delivery after 18:00' }).waitFor();
    const to = s.operator(colleague());
    await page.getByLabel('Transfer to').selectOption(String(to.id));
    await page.getByTestId('not-found').waitFor();
    // The socket's work.changed refreshes the list.
    await expect
      .poll(() => page.locator('nav.work').textContent(), { timeout: 5_000 })
      .not.toContain('Ivan Orlov');
    const after = await call(s.url, 'GET', `/v1/leads/${lead.id}`, ADMIN_TOKEN);
    expect(after.body.responsibleId).toBe(to.id);
    await ctx.close();
  });

  it('changes its own password (the old one stops working) and lists the shortcuts on "?"', async () => {
    const ctx = await consoleContext(browser, s.url);
    const page = await ctx.newPage();
    await signIn(page, 'vera', 'demo-vera');
    // The shortcuts' key listener is attached just after the first render (an effect): on a busy machine a key
    // pressed the moment "My work" shows can come before it, so press again until the dialog shows.
    const shortcuts = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    for (let tries = 0; !(await shortcuts.isVisible()) && tries < 10; tries++) {
      await page.keyboard.press('?');
      await shortcuts.waitFor({ timeout: 1_000 }).catch(() => {});
    }
    await shortcuts.waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });

    await page.getByRole('link', { name: 'Change password' }).click();
    await page.getByLabel('Current password').fill('demo-vera');
    await page.getByLabel('New password (8 or more characters)').fill('vera-new-secret-1');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Password changed').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();

    await page.getByLabel('Login').fill('vera');
    await page.getByLabel('Password', { exact: true }).fill('demo-vera');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong login or password').waitFor();
    await signIn(page, 'vera', 'vera-new-secret-1');
    await ctx.close();
  });
});
