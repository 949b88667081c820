/**
 * Vite build of the web console: `console/` → `dist/console/`, served by braid at `/console/`.
 * Preact through esbuild's automatic JSX runtime (no framework plugin); everything bundled, no
 * external fonts or scripts.
 * @module
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))
/** The braid the dev server (`npx vite --config console/vite.config.ts`) sends API calls to. */
const braid = process.env['BRAID_URL'] ?? 'http://127.0.0.1:3000'

export default defineConfig({
  root: here,
  base: '/console/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One small bundle: no inlined-asset surprises, no module preload polyfill fetching anything.
    assetsInlineLimit: 0,
    modulePreload: false,
    reportCompressedSize: false
  },
  // Dev server: the console from source at /console/, every other path proxied to braid.
  server: { host: '127.0.0.1', proxy: { '^/(?!console/)': { target: braid, changeOrigin: false } } }
})
