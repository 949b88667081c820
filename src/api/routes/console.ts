/**
 * The web console at `/console/`: serves the Vite build (`dist/console/`, made by `npm run build`).
 * `index.html` for the console's own paths (hash routing, so only `/console/` in practice), hashed
 * assets with a year of caching, a Content-Security-Policy that keeps the page on this origin (no
 * fonts, scripts or calls elsewhere). The files are public: the page asks for a token itself when the
 * API answers 401.
 * @module
 */
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { Access } from '../auth/scopes.ts'

export interface ConsoleOptions {
  /**
   * Folder of the built console (with `index.html`). Default: `dist/console` of this package, found
   * next to the compiled routes (`dist/api/routes/` → `dist/console/`) or, when running from the
   * sources, under `dist/` of the repository.
   */
  root?: string
}

/** Base path of the console. */
export const CONSOLE_PATH = '/console/'

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2'
}

/** Everything from this origin only: no inline script or style, no other host (a violation is a console error the browser tests see). */
export const consoleContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'"
].join('; ')

/** The default build folder (see ConsoleOptions.root). */
export function defaultConsoleRoot (): string {
  const here = fileURLToPath(new URL('.', import.meta.url))
  const compiled = resolve(here, '../../console')
  if (existsSync(join(compiled, 'index.html'))) return compiled
  return resolve(here, '../../../dist/console')
}

/**
 * `GET /console` (redirect), `GET /console/` (index.html) and `GET /console/*` (built files; 404
 * otherwise). When the console is not built, `/console/` answers 503 with how to build it.
 */
export function registerConsoleRoutes (app: FastifyInstance, options: ConsoleOptions = {}): void {
  const root = resolve(options.root ?? defaultConsoleRoot())
  // The page and its assets hold no data: they load without credentials, then ask for a token.
  const open = { config: { scope: Access.open } }

  app.get('/console', open, async (_request, reply) => reply.redirect(CONSOLE_PATH, 301))

  app.get('/console/', open, async (_request, reply) => sendIndex(reply, root))

  app.get<{ Params: { '*': string } }>('/console/*', open, async (request, reply) => {
    const relative = request.params['*']
    if (relative === '' || relative === 'index.html') return sendIndex(reply, root)
    const file = safePath(root, relative)
    if (file === null) return reply.code(404).send({ error: 'not found' })
    let size: number
    try {
      const s = await stat(file)
      if (!s.isFile()) return reply.code(404).send({ error: 'not found' })
      size = s.size
    } catch {
      return reply.code(404).send({ error: 'not found' })
    }
    const body = await readFile(file)
    // Vite names assets by content hash: they never change under the same name.
    const immutable = relative.startsWith('assets/')
    return reply
      .header('content-type', contentTypes[extname(file)] ?? 'application/octet-stream')
      .header('content-length', size)
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(body)
  })
}

async function sendIndex (reply: FastifyReply, root: string): Promise<FastifyReply> {
  let html: Buffer
  try {
    html = await readFile(join(root, 'index.html'))
  } catch {
    reply.log.warn({ route: CONSOLE_PATH }, 'the console is not built')
    return reply.code(503).type('text/plain; charset=utf-8').send(
      `The braid console is not built (no index.html in ${root}).\n` +
      'Build it with `npm run build` (or `npx vite build --config console/vite.config.ts`), then reload this page.\n'
    )
  }
  return reply
    .header('content-type', contentTypes['.html'])
    .header('cache-control', 'no-cache')
    .header('content-security-policy', consoleContentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .send(html)
}

/** The file under `root` that `relative` names, or null when it would leave root or names a dotfile. */
function safePath (root: string, relative: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(relative)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.split(/[\\/]/).some(part => part.startsWith('.'))) return null
  const file = resolve(root, decoded)
  return file.startsWith(root + sep) ? file : null
}
