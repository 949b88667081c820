/**
 * What the console's browser tests share: building braid and the console when their build is
 * stale, where screenshots go, and the problems a page must not have (console errors, requests
 * leaving this machine).
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Page, Request } from 'playwright-core'
import { expect } from 'vitest'
import { repoRoot, tempDir } from '../runtime/harness.ts'

/** docs/img/ with BRAID_UPDATE_SCREENSHOTS=1 (for docs/console.md), else a temporary directory. */
export const screenshotDir = process.env['BRAID_UPDATE_SCREENSHOTS'] === '1' ? join(repoRoot, 'docs/img') : tempDir('braid-console-shots-')

/** Newest modification time of the files under `path`, ms. */
function newest (path: string): number {
  if (!existsSync(path)) return 0
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  return Math.max(0, ...readdirSync(path).map(name => newest(join(path, name))))
}

function run (command: string, args: string[], what: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(command, args, { cwd: repoRoot, env, encoding: 'utf8', timeout: 5 * 60_000 })
  if (r.status !== 0) throw new Error(`${what} failed (${command} ${args.join(' ')}):\n${r.stdout}\n${r.stderr}`)
}

/** Compiles braid (tsc) when `dist/` is missing or older than the sources (tests that run the CLI). */
export function ensureServiceBuilt (): void {
  const buildInfo = join(repoRoot, 'dist/.tsbuildinfo')
  if (!existsSync(join(repoRoot, 'dist/cli/main.js')) || !existsSync(buildInfo) || statSync(buildInfo).mtimeMs < newest(join(repoRoot, 'src'))) {
    run('npx', ['tsc', '-p', 'tsconfig.build.json'], 'building braid')
  }
}

/** Builds the console (vite) into dist/console/ when it is missing or older than its sources. */
export function ensureConsoleBuilt (): void {
  const index = join(repoRoot, 'dist/console/index.html')
  const sources = Math.max(newest(join(repoRoot, 'console/src')), newest(join(repoRoot, 'console/index.html')), newest(join(repoRoot, 'console/vite.config.ts')))
  if (!existsSync(index) || statSync(index).mtimeMs < sources) {
    // vitest sets NODE_ENV=test, which would make Vite build the development JSX runtime (a third larger, with source paths).
    run('npx', ['vite', 'build', '--config', 'console/vite.config.ts'], 'building the console', { ...process.env, NODE_ENV: 'production' })
  }
}

export function isLocal (url: string): boolean {
  const u = new URL(url)
  if (u.protocol === 'data:' || u.protocol === 'about:' || u.protocol === 'blob:') return true
  return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
}

/** Console errors, uncaught exceptions and requests to other hosts of the pages it watches. */
export class PageProblems {
  readonly errors: string[] = []
  readonly external: string[] = []

  watch (p: Page): Page {
    p.on('console', message => { if (message.type() === 'error') this.errors.push(`console: ${message.text()} (${message.location().url})`) })
    p.on('pageerror', err => this.errors.push(`page error: ${err.message}`))
    p.on('request', (request: Request) => { if (!isLocal(request.url())) this.external.push(request.url()) })
    return p
  }

  /** No console errors (but those matching `allowed`) and no request to another host since the last check. */
  expectClean (allowed: RegExp[] = []): void {
    const errors = this.errors.filter(e => !allowed.some(a => a.test(e)))
    const external = [...this.external]
    this.errors.length = 0
    this.external.length = 0
    expect(errors, 'console errors').toEqual([])
    expect(external, 'requests leaving this machine').toEqual([])
  }
}

/** The whole page as `console-<name>.png` in the screenshot directory, once animations have settled. */
export async function screenshot (p: Page, name: string): Promise<void> {
  await p.waitForTimeout(300)
  await p.screenshot({ path: join(screenshotDir, `console-${name}.png`), fullPage: true })
}

/** Horizontal overflow of the page, px (0 or less: no sideways scrolling). */
export async function horizontalOverflow (p: Page): Promise<number> {
  // A string: this file is type-checked without the DOM library.
  return Number(await p.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'))
}
