import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

/**
 * GET /widget.js: the embeddable widget (widget/), one minified IIFE with no dependencies. `npm run build` writes
 * it to dist/public/widget.js and production serves that file; from sources (npm start, tests) it is bundled with
 * esbuild once, when the server starts. Sites embed a fixed URL, so it is cached briefly and revalidated by ETag;
 * gzip is done once, not per request.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
/** From a chunk in dist/app/ (the build), and from connectors/livechat/ (sources). */
const BUILT = join(HERE, '..', 'public', 'widget.js');
export const WIDGET_ENTRY = join(HERE, '..', '..', 'widget', 'main.ts');

export interface WidgetScript {
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

export async function bundleWidget(): Promise<string> {
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: [WIDGET_ENTRY],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2019',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

export async function loadWidgetScript(): Promise<WidgetScript> {
  const text = existsSync(BUILT) ? readFileSync(BUILT, 'utf8') : await bundleWidget();
  const body = Buffer.from(text);
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  };
}

export function serveWidgetScript(app: FastifyInstance): void {
  const script = loadWidgetScript();
  // An unhandled rejection before the first request would end the process; the request reports it instead.
  script.catch(() => undefined);
  app.get('/widget.js', { schema: { hide: true } }, async (request, reply) => {
    const s = await script;
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300, stale-while-revalidate=86400')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('vary', 'Accept-Encoding')
      .header('etag', s.etag);
    if (request.headers['if-none-match'] === s.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').send(s.gzip);
    }
    return reply.send(s.body);
  });
}
