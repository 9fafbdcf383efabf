import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * The operator console's first load, as a browser without a cache gets it: over HTTP (the page, then its script
 * and stylesheet in parallel, as the page's <link> and <script defer> make a browser do) and, when Debian's
 * Chromium and playwright-core are there, in a real browser: from navigation to the sign-in form taking input
 * (the login field focused, which the form does once it is drawn), and from pressing "Sign in" to "My work".
 */
export interface HttpLoad {
  /** GET /console/ until its body is read. */
  pageMs: number;
  /** The page, then app.js and app.css in parallel: what stands between a click and a script that can run. */
  totalMs: number;
  bytes: { page: number; js: number; css: number };
  /** Content-Encoding of the script (none: the service does not compress). */
  encoding: string;
}

export async function httpFirstLoad(url: string): Promise<HttpLoad> {
  const get = async (path: string) => {
    const r = await fetch(url + path, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    const body = await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
    return { body: Buffer.from(body), encoding: r.headers.get('content-encoding') ?? 'none' };
  };
  const t0 = performance.now();
  const page = await get('/console/');
  const pageMs = performance.now() - t0;
  const html = page.body.toString('utf8');
  const js = /src="([^"]+\.js[^"]*)"/.exec(html)?.[1];
  const css = /href="([^"]+\.css[^"]*)"/.exec(html)?.[1];
  if (!js || !css) throw new Error('the console page names no script or stylesheet');
  const [a, b] = await Promise.all([get(js), get(css)]);
  return {
    pageMs,
    totalMs: performance.now() - t0,
    bytes: { page: page.body.length, js: a.body.length, css: b.body.length },
    encoding: a.encoding,
  };
}

interface Element {
  getAttribute(name: string): string | null;
}

export interface BrowserLoad {
  /** Node's clock: page.goto() called → the login field focused. */
  formMs: number;
  /** The page's own clock (performance.now() since navigation start) when the field was found focused. */
  formInPageMs: number;
  domContentLoadedMs: number;
  /** Sign-in clicked → the "My work" heading shown. */
  signInMs: number;
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** undefined with the reason when there is no Chromium or no playwright-core. */
export async function browserFirstLoad(
  url: string,
  account: { login: string; password: string },
): Promise<BrowserLoad | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (bash scripts/chromium.sh install)`;
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return 'playwright-core is not installed';
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  try {
    // A fresh context: no cache, no cookies, no local storage.
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' });
    const page = await ctx.newPage();
    page.setDefaultTimeout(30_000);
    const t0 = performance.now();
    await page.goto(`${url}/console/`, { waitUntil: 'commit' });
    // Functions, not strings: the console's CSP forbids eval, which a string predicate needs. They run in the
    // page, whose types (DOM) this project's TypeScript does not load: hence the casts.
    const formInPageMs = Number(
      await (
        await page.waitForFunction(
          () => {
            const d = (globalThis as unknown as { document: { activeElement: Element | null } }).document;
            return d.activeElement?.getAttribute('name') === 'login' && performance.now();
          },
          undefined,
          { polling: 'raf' },
        )
      ).jsonValue(),
    );
    const formMs = performance.now() - t0;
    const domContentLoadedMs = await page.evaluate(
      () =>
        (
          (performance.getEntriesByType as (t: string) => unknown[])('navigation')[0] as
            | { domContentLoadedEventEnd?: number }
            | undefined
        )?.domContentLoadedEventEnd ?? Number.NaN,
    );
    await page.locator('input[name=login]').fill(account.login);
    await page.locator('input[name=password]').fill(account.password);
    const t1 = performance.now();
    await page.locator('button[type=submit]').click();
    await page.getByRole('heading', { name: 'My work' }).waitFor();
    const signInMs = performance.now() - t1;
    await ctx.close();
    return { formMs, formInPageMs, domContentLoadedMs, signInMs };
  } finally {
    await browser.close();
  }
}
