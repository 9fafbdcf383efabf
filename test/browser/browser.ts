import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { IN_CI } from '../support/services.js';

/**
 * Debian's Chromium (scripts/chromium.sh install), driven by playwright-core, which never downloads a browser
 * of its own. Locally a missing Chromium skips the browser suites with the reason; under CI=true it fails them,
 * so a green CI always means a real browser ran. One browser per test file; tests share it through contexts.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const msg = `Chromium is not installed at ${CHROMIUM}; run: bash scripts/chromium.sh install`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  console.warn(`skipping: ${msg}`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** A context at the console's design size; its pages talk to `baseURL`. */
export function consoleContext(browser: Browser, baseURL: string, locale = 'en-GB'): Promise<BrowserContext> {
  return browser.newContext({ baseURL, viewport: { width: 1280, height: 800 }, locale });
}

export async function signIn(page: Page, login: string, password: string, lang: 'en' | 'ru' = 'en') {
  await page.goto('/console/');
  await page.evaluate(`localStorage.setItem('console.lang', '${lang}')`);
  await page.reload();
  await page.getByLabel(lang === 'ru' ? 'Логин' : 'Login').fill(login);
  await page.getByLabel(lang === 'ru' ? 'Пароль' : 'Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: lang === 'ru' ? 'Войти' : 'Sign in' }).click();
  await page.getByRole('heading', { name: lang === 'ru' ? 'Мои дела' : 'My work' }).waitFor();
}

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/** Screenshots the README shows, taken by the tests themselves (docs/screenshots/<name>.png). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png` });
}
