import type { BuildOptions } from 'esbuild';

/**
 * How the console's TypeScript becomes one script and one stylesheet for the browser: esbuild bundles
 * console/ui/main.tsx with Preact (JSX through Preact's automatic runtime), minified. The same options serve
 * `npm start` (built in memory when the API starts, about 100 ms) and `npm run build` (scripts/build.mjs writes
 * dist/console/app.js and app.css with these options, so production never builds at start).
 */
export const consoleBuildOptions = (entry: string): BuildOptions => ({
  entryPoints: { app: entry },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'silent',
});
