/**
 * Headless Chromium for the console's browser tests: the Debian `chromium` package (installed with
 * apt-get when missing, saying so), driven by playwright-core. Failing to install or launch it fails
 * the tests with the reason — never a skip.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

const candidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium']

/**
 * Flags that keep Chromium quiet on a closed network: without the background-networking ones it
 * keeps trying to reach Google services.
 */
export const chromiumFlags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-dev-shm-usage',
  '--metrics-recording-only',
  '--no-default-browser-check'
]

function found (): string | undefined {
  const fromEnv = process.env['BRAID_CHROMIUM']
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`BRAID_CHROMIUM=${fromEnv} does not exist; unset it or point it at a Chromium binary`)
    return fromEnv
  }
  return candidates.find(p => existsSync(p))
}

/** The Chromium binary, installing the Debian package when none is found. */
export function ensureChromium (): string {
  const existing = found()
  if (existing !== undefined) return existing
  process.stderr.write('[console tests] Chromium not found: installing the Debian package "chromium" (apt-get install -y chromium)…\n')
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const run = (args: string[]): { ok: boolean, output: string } => {
    const [cmd, ...rest] = asRoot ? args : ['sudo', '-n', ...args]
    const r = spawnSync(cmd as string, rest, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 })
    return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error === undefined ? '' : String(r.error)}` }
  }
  let install = run(['apt-get', 'install', '-y', '--no-install-recommends', 'chromium'])
  if (!install.ok) {
    // Stale package lists are the usual reason: refresh them once.
    run(['apt-get', 'update'])
    install = run(['apt-get', 'install', '-y', '--no-install-recommends', 'chromium'])
  }
  const binary = found()
  if (!install.ok || binary === undefined) {
    const ci = process.env['CI'] === 'true' ? ' (CI: the browser tests cannot run without it)' : ''
    throw new Error(`could not install Chromium${ci}. Install it with "apt-get install -y chromium" (Debian/Ubuntu) or set BRAID_CHROMIUM to a Chromium binary.\n${install.output.slice(-2000)}`)
  }
  process.stderr.write(`[console tests] installed ${binary}\n`)
  return binary
}

export interface Browser {
  context: BrowserContext
  close: () => Promise<void>
}

/** Headless Chromium with a fresh profile; closed (and the profile removed) by `close`. */
export async function launchChromium (viewport = { width: 1280, height: 800 }): Promise<Browser> {
  const executablePath = ensureChromium()
  const profile = mkdtempSync(join(tmpdir(), 'braid-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: chromiumFlags, viewport, timeout: 60_000 })
  } catch (err) {
    rmSync(profile, { recursive: true, force: true })
    throw new Error(`could not launch Chromium (${executablePath}): ${err instanceof Error ? err.message : String(err)}`)
  }
  return {
    context,
    async close () {
      await context.close().catch(() => {})
      rmSync(profile, { recursive: true, force: true })
    }
  }
}
