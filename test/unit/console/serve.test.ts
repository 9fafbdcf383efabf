import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOptions, registerErrorHandler } from '../../../api/error-handler.js';
import { consoleUi } from '../../../console/serve.js';

/** The console's page, script and stylesheet as the API serves them (bundled from source at registration). */
describe('console/serve.ts', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ ...httpOptions() });
    registerErrorHandler(app);
    await app.register(consoleUi);
    await app.ready();
  }, 60_000);
  afterAll(() => app.close());

  it('serves the page with a same-origin-only CSP and the bundled script and stylesheet it names', async () => {
    expect((await app.inject('/console')).headers.location).toBe('/console/');
    const page = await app.inject('/console/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.body).toMatch(/<script defer src="\/console\/app\.js\?v=[\w-]+"><\/script>/);

    const js = await app.inject('/console/app.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    // Preact and the console's own strings made it into the bundle.
    expect(js.body).toContain('/v1/console/ws');
    expect(js.body).toContain('Мои дела');
    const css = await app.inject('/console/app.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toContain('.shell');
  });

  it('answers a repeated request with 304 by ETag, and an unknown file with the usual 404', async () => {
    const first = await app.inject('/console/app.js');
    const again = await app.inject({
      url: '/console/app.js',
      headers: { 'if-none-match': first.headers.etag },
    });
    expect(again.statusCode).toBe(304);
    const missing = await app.inject('/console/secrets.js');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
  });
});
