import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AppError } from '../lib/errors.js';
import { consoleBuildOptions } from './bundle.js';

/**
 * The operator console at /console/: one HTML page, one script, one stylesheet. From the source tree the script
 * is bundled here at start (esbuild, in memory); from `npm run build` it is read from dist/console/. Both are
 * found at `../console/` from this module: console/ in the source tree, dist/console/ beside dist/app/.
 * Everything the page does goes through the API (session cookie + X-CSRF-Token) and /v1/console/ws.
 */
interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const HERE = fileURLToPath(new URL('../console/', import.meta.url));

async function bundle(): Promise<{ js: Buffer; css: Buffer }> {
  const prebuilt = join(HERE, 'app.js');
  if (existsSync(prebuilt)) {
    return { js: readFileSync(prebuilt), css: readFileSync(join(HERE, 'app.css')) };
  }
  // Imported only in the source tree: production reads the prebuilt files and never loads esbuild.
  const { build } = await import('esbuild');
  const out = await build({
    ...consoleBuildOptions(join(HERE, 'ui', 'main.tsx')),
    write: false,
    outdir: 'out',
  });
  const file = (ext: string) => Buffer.from(out.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '');
  return { js: file('.js'), css: file('.css') };
}

const asset = (body: Buffer | string, type: string): Asset => {
  const b = Buffer.from(body);
  return { body: b, type, etag: `"${createHash('sha256').update(b).digest('base64url').slice(0, 22)}"` };
};

const page = (js: Asset, css: Asset) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Console</title>
<link rel="stylesheet" href="/console/app.css?v=${css.etag.slice(1, 9)}">
<script defer src="/console/app.js?v=${js.etag.slice(1, 9)}"></script>
</head>
<body><div id="app"></div><noscript>The console needs JavaScript.</noscript></body>
</html>
`;

/**
 * Same-origin only: scripts and styles from this server, fetch and WebSocket to it, never framed (a framed
 * console could be click-jacked into taking or closing work).
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

export const consoleUi: FastifyPluginAsync = async (app) => {
  const { js, css } = await bundle();
  const assets = new Map<string, Asset>([
    ['app.js', asset(js, 'text/javascript; charset=utf-8')],
    ['app.css', asset(css, 'text/css; charset=utf-8')],
  ]);
  const html = asset(page(assets.get('app.js')!, assets.get('app.css')!), 'text/html; charset=utf-8');

  const send = (reply: FastifyReply, a: Asset, ifNoneMatch: string | undefined) => {
    reply
      .header('content-type', a.type)
      .header('etag', a.etag)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'same-origin');
    return ifNoneMatch === a.etag ? reply.code(304).send() : reply.send(a.body);
  };
  const hide = { schema: { hide: true } };

  app.get('/console', hide, (_req, reply) => reply.redirect('/console/'));
  app.get('/console/', hide, (req, reply) => send(reply, html, req.headers['if-none-match']));
  app.get<{ Params: { file: string } }>('/console/:file', hide, (req, reply) => {
    const a = assets.get(req.params.file);
    if (!a)
      throw new AppError('NOT_FOUND', `url: /console/${req.params.file} not found`, { fields: ['url'] });
    return send(reply, a, req.headers['if-none-match']);
  });
};
