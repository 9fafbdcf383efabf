/**
 * `npm run build`: compiles the service ahead of time into dist/, so production starts with
 * `node dist/app/main.js` and never compiles TypeScript at start. One ES-module bundle from app/main.ts with its
 * dependencies (loading one file instead of a thousand from node_modules is most of a start's cost), split into
 * chunks at the composition root's per-role dynamic imports, so a router still never loads the connectors' IMAP,
 * MIME and SMTP libraries. The migrations' SQL is copied where crm-core/db/migrate.ts looks for it from a chunk
 * (dist/app/../migrations); the operator console is bundled into dist/console/. Type checking is `npm run
 * lint`'s job (tsc --noEmit); esbuild only strips the types.
 */
import { cpSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { consoleBuildOptions } from '../console/bundle.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist');
/**
 * Left to node_modules at run time: files they read from their own package directory (PGlite's WASM, the
 * Swagger UI's static assets, @fastify/swagger's package.json) and native add-ons nobody installs (pg-native).
 */
const EXTERNAL = ['@electric-sql/pglite', '@fastify/swagger', '@fastify/swagger-ui', 'pg-native', 'esbuild'];

const started = Date.now();
rmSync(OUT, { recursive: true, force: true });
const result = await build({
  // The worker threads are entries of their own, sharing chunks with main.js: the embedded database's
  // (crm-core/db/pglite.ts starts dist/app/pglite-worker.js) and the router's (app/router-thread.ts starts
  // dist/app/router-worker.js).
  entryPoints: {
    main: join(ROOT, 'app', 'main.ts'),
    'pglite-worker': join(ROOT, 'crm-core', 'db', 'pglite-worker.ts'),
    'router-worker': join(ROOT, 'app', 'router-worker.ts'),
  },
  outdir: join(OUT, 'app'),
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  // Bundled CommonJS packages call require() for Node's built-ins; an ES module has none of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
cpSync(join(ROOT, 'crm-core', 'migrations'), join(OUT, 'migrations'), { recursive: true });
// The operator console's script and stylesheet (console/serve.ts reads them from dist/console/ instead of
// bundling at start), with the very options `npm start` bundles it with (this script runs under tsx for that).
await build({
  ...consoleBuildOptions(join(ROOT, 'console', 'ui', 'main.tsx')),
  outdir: join(OUT, 'console'),
  logLevel: 'warning',
});
// The live chat's embeddable script, served at /widget.js (connectors/livechat/widget-script.ts reads it here).
await build({
  entryPoints: [join(ROOT, 'widget', 'main.ts')],
  outfile: join(OUT, 'public', 'widget.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2019',
  legalComments: 'none',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
console.log(
  `build: ${Object.keys(result.metafile.inputs).length} modules -> ${files.length} files in ${relative(process.cwd(), OUT) || OUT} (${Date.now() - started} ms)`,
);
