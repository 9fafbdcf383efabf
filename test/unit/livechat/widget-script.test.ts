import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWidgetScript } from '../../../connectors/livechat/widget-script.js';

/** The budget the README states: sites load the widget on every page. */
const GZIP_BUDGET = 10 * 1024;

describe('GET /widget.js', () => {
  const app = Fastify();
  beforeAll(async () => {
    serveWidgetScript(app);
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves the bundled widget gzipped, cached briefly and revalidated by ETag', async () => {
    const r = await app.inject({ url: '/widget.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers['cache-control']).toMatch(/^public, max-age=\d+/);
    expect(r.headers.vary).toBe('Accept-Encoding');
    const body = gunzipSync(r.rawPayload).toString();
    // One self-contained script: no module syntax, no imports, its own shadow root.
    expect(body).not.toMatch(/^\s*import\s|\bexport\s*\{/m);
    expect(body).toContain('attachShadow');
    expect(body).toContain('/v1/widget/ws');
    console.log(`widget.js: ${body.length} bytes minified, ${r.rawPayload.length} bytes gzipped`);
    expect(r.rawPayload.length).toBeLessThan(GZIP_BUDGET);

    const plain = await app.inject({ url: '/widget.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(body);
    const again = await app.inject({
      url: '/widget.js',
      headers: { 'if-none-match': r.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });
});
