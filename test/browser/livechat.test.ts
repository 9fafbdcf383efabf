import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pgAvailable } from '../support/services.js';
import { chromiumAvailable, consoleContext, launchChromium, screenshot, signIn } from './browser.js';
import { ADMIN_TOKEN, type ConsoleService, call, startConsoleService } from './console-service.js';

// A browser test is a whole user flow through a real Chromium; CI runs it beside other suites on two cores.
vi.setConfig({ testTimeout: 60_000 });

/**
 * The website live chat in a real browser: a shop's page on its own origin embeds the widget with one script
 * tag (and styles hostile to it), the visitor fills the pre-chat form and chats with an operator (who answers
 * through the API, as the console does), and a cut network (`setOffline`) loses and doubles nothing. The whole
 * service runs as `npm start` does, on PostgreSQL (its hub is LISTEN/NOTIFY).
 */
const available = (await pgAvailable()) && chromiumAvailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A shop page with rules that would wreck a widget living in the page's own DOM. */
const shopPage = (
  crm: string,
) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sofa shop</title>
<style>
  * { font-size: 30px !important; color: #c00 !important; }
  div, button, textarea, input, form { display: none !important; }
  body { font-family: Georgia, serif; background: #fdf6e3; margin: 40px; }
</style></head>
<body><h1>Sofas</h1><p>Our best sofas, delivered anywhere.</p>
<script src="${crm}/widget.js" data-widget="shop" data-lang="en" async></script>
</body></html>`;

describe.skipIf(!available)('live chat widget in a browser', () => {
  let s: ConsoleService;
  let browser: Browser;
  let site: Server;
  let siteUrl: string;
  let ctx: BrowserContext;
  let page: Page;
  let conversationId: number;
  let operatorToken: string;

  beforeAll(async () => {
    [s, browser] = await Promise.all([startConsoleService(), launchChromium()]);
    site = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(shopPage(s.url)),
    );
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const put = await call(s.url, 'PUT', '/v1/admin/widgets/shop', ADMIN_TOKEN, {
      name: 'Sofa shop chat',
      allowedOrigins: [siteUrl],
      colors: { primary: '#0a7d5a', text: '#ffffff' },
      texts: { en: { title: 'Sofa shop', greeting: 'Hello! Ask us anything about sofas.' } },
      preChat: { fields: ['name', 'phone'], required: ['phone'] },
      source: 'site chat',
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' });
    page = await ctx.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await s?.close();
  });

  const widget = () => page.locator('crm-livechat');
  const shown = () =>
    widget()
      .locator('.msg')
      .evaluateAll((els) =>
        els.map((e) => ({
          dir: e.classList.contains('in') ? 'in' : 'out',
          text: e.lastChild?.textContent ?? '',
          pending: e.classList.contains('pending'),
        })),
      );
  const reply = async (text: string, key: string) => {
    const r = await fetch(new URL(`/v1/conversations/${conversationId}/messages`, s.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${operatorToken}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ text }),
    });
    expect(r.status, await r.clone().text()).toBe(201);
  };
  const send = async (text: string) => {
    await widget().locator('textarea').fill(text);
    await widget().locator('textarea').press('Enter');
  };

  it('a visitor and an operator exchange messages both ways; the operator typing is shown', async () => {
    await page.goto(`${siteUrl}/sofas?utm_source=browser-test&utm_campaign=winter`);
    await widget().locator('button.launcher').click();
    // The page's rules do not reach into the widget.
    const look = await widget()
      .locator('header')
      .evaluate((e) => ({ display: getComputedStyle(e).display, color: getComputedStyle(e).color }));
    expect(look).toEqual({ display: 'flex', color: 'rgb(255, 255, 255)' });
    await widget().locator('.note').getByText('Hello! Ask us anything about sofas.').waitFor();
    // The pre-chat form: the phone is required.
    await widget().locator('form.pre input[name=name]').fill('Maria');
    await widget().locator('form.pre button').click();
    await widget().locator('.err').getByText('Please fill this in').waitFor();
    await widget().locator('form.pre input[name=phone]').fill('+7 495 765-43-21');
    await widget().locator('form.pre button').click();
    await send('Do you have a green sofa?');
    await expect.poll(shown).toEqual([{ dir: 'in', text: 'Do you have a green sofa?', pending: false }]);

    // The operator: the conversation's responsible, answering through the API.
    let conv: { id: number; responsible_id: number } | undefined;
    for (let i = 0; i < 100 && !conv; i++) {
      conv = (
        await s.t.db.query<{ id: number; responsible_id: number }>(
          `SELECT c.id, a.responsible_id FROM conversations c JOIN activities a ON a.id = c.activity_id
            WHERE c.channel = 'webchat' AND c.account_key = 'shop'`,
        )
      ).rows[0];
      if (!conv?.responsible_id) await sleep(100);
    }
    conversationId = Number(conv!.id);
    operatorToken = s.demo.operators.find((o) => o.id === conv!.responsible_id)!.token;
    const lead = await call(s.url, 'GET', '/v1/leads', ADMIN_TOKEN);
    expect(lead.body.items.find((l: { name: string }) => l.name === 'Maria')).toMatchObject({
      channel: 'webchat',
      sourceName: 'site chat',
      utm: { source: 'browser-test', campaign: 'winter' },
    });

    await s.service.realtime.publish({
      topic: `conversation:${conversationId}`,
      type: 'typing',
      data: { conversationId, who: 'operator' },
    });
    await widget().locator('.typing').getByText('The operator is typing…').waitFor();
    await reply('Yes, in velvet and in linen.', 'r-1');
    await expect.poll(shown).toEqual([
      { dir: 'in', text: 'Do you have a green sofa?', pending: false },
      { dir: 'out', text: 'Yes, in velvet and in linen.', pending: false },
    ]);
    await send('Velvet, please. Can you deliver on Friday?');
    await reply('Friday works. Our courier will call you.', 'r-2');
    await expect.poll(async () => (await shown()).length).toBe(4);
    await screenshot(page, 'widget');
  }, 60_000);

  it('a cut connection (setOffline) loses nothing and shows nothing twice', async () => {
    await ctx.setOffline(true);
    await expect.poll(() => widget().evaluate((e) => e.hasAttribute('data-connected'))).toBe(false);
    // Written while offline: kept as pending and sent after the reconnect.
    await send('Is the price with delivery?');
    await reply('Delivery is free this month.', 'r-3');
    await reply('And assembly too.', 'r-4');
    await sleep(1_500);
    await ctx.setOffline(false);
    const expected = [
      'Do you have a green sofa?',
      'Yes, in velvet and in linen.',
      'Velvet, please. Can you deliver on Friday?',
      'Friday works. Our courier will call you.',
      'Is the price with delivery?',
      'Delivery is free this month.',
      'And assembly too.',
    ];
    await expect
      .poll(
        async () =>
          (await shown())
            .filter((m) => !m.pending)
            .map((m) => m.text)
            .sort(),
        { timeout: 20_000 },
      )
      .toEqual([...expected].sort());
    expect((await shown()).length).toBe(expected.length);
    const stored = await s.t.db.query<{ text: string }>(
      // The pre-chat form is stored too, as the visitor's contact share (no text).
      'SELECT text FROM messages WHERE conversation_id = $1 AND text IS NOT NULL ORDER BY id',
      [conversationId],
    );
    expect(stored.rows.map((r) => r.text).sort()).toEqual([...expected].sort());
    // Another page view of the same visitor: the same history, once each.
    await page.reload();
    await widget().locator('button.launcher').click();
    await expect.poll(async () => (await shown()).map((m) => m.text).sort()).toEqual([...expected].sort());
  }, 60_000);

  it("the operator answers from the console and sees the visitor's messages arrive live", async () => {
    const owner = s.demo.operators.find((o) => o.token === operatorToken)!;
    const consoleCtx = await consoleContext(browser, s.url);
    const op = await consoleCtx.newPage();
    await signIn(op, owner.login, `demo-${owner.login}`);
    await op.locator('.items a[data-kind="conversation"]').first().click();
    await op.locator('.msg.in', { hasText: 'Is the price with delivery?' }).waitFor();
    // Keyboard only, as the console teaches: Alt+R to the reply box, Ctrl+Enter sends.
    await op.keyboard.press('Alt+r');
    await op.keyboard.type('Anything else I can help with?');
    await op.keyboard.press('Control+Enter');
    await widget().locator('.msg.out', { hasText: 'Anything else I can help with?' }).waitFor();
    await send('No, thank you, that is all!');
    await op.locator('.msg.in', { hasText: 'No, thank you, that is all!' }).waitFor();
    // Read receipts: the console has the visitor's message on screen, the widget its open panel with the reply.
    await widget().locator('.msg.in.read', { hasText: 'No, thank you, that is all!' }).waitFor();
    await op
      .locator('.msg.out', { hasText: 'Anything else I can help with?' })
      .locator('[data-status="read"]')
      .waitFor();
    await screenshot(op, 'console-livechat');
    expect((await shown()).filter((m) => m.text === 'Anything else I can help with?')).toHaveLength(1);
    await consoleCtx.close();
  }, 60_000);
});
