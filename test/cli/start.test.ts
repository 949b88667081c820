import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateApiKey, sha256Hash } from '../../src/api/auth/keys.ts'
import { repoRoot, tempDir, waitFor } from '../runtime/harness.ts'
import { ensureBuilt, mainJs as main } from './build.ts'

const children = new Set<ChildProcess>()

beforeAll(ensureBuilt, 120_000)

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

/** The retail example with an `api:` section, in a temporary copy. */
function retailWith (api: string): string {
  const dir = tempDir()
  cpSync(join(repoRoot, 'examples/retail'), dir, { recursive: true })
  const file = join(dir, 'braid.yaml')
  writeFileSync(file, `${readFileSync(file, 'utf8')}\napi:\n${api}`)
  return file
}

function start (...args: string[]): { child: ChildProcess, out: () => string, err: () => string } {
  let out = ''
  let err = ''
  // The embedded engines: no server of the test environment.
  const { BRAID_KAFKA_BROKERS: _k, BRAID_MONGODB_URL: _m, BRAID_PG_URL: _p, ...env } = process.env
  const child = spawn(process.execPath, [main, 'start', ...args], { cwd: repoRoot, env: { ...env, BRAID_LOG_LEVEL: 'warn' } })
  children.add(child)
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  return { child, out: () => out, err: () => err }
}

describe('braid start with api.auth', () => {
  it('binds a non-loopback address without --insecure, keeps the probes open and asks credentials elsewhere', async () => {
    const key = generateApiKey()
    const config = retailWith(`  auth:\n    apiKeys:\n      - { name: ops, hash: '${sha256Hash(key)}', scopes: ['read:*'] }\n`)
    const braid = start(config, '--host', '0.0.0.0', '--port', '0', '--data-dir', tempDir())
    const port = await waitFor(() => /API {10}http:\/\/[^:]+:(\d+)\//.exec(braid.out())?.[1] ?? (braid.child.exitCode === null ? undefined : Promise.reject(new Error(braid.err()))), 'the start banner', 30_000)
    try {
      expect(braid.out()).toContain('  auth         1 API key; /-/healthz and /-/ready are open')
      const base = `http://127.0.0.1:${port}`
      expect((await fetch(`${base}/-/healthz`)).status).toBe(200)
      const denied = await fetch(`${base}/single-views/customer_sv/count`)
      expect(denied.status).toBe(401)
      expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="braid"')
      expect((await fetch(`${base}/single-views/customer_sv/count`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    } finally {
      braid.child.kill('SIGTERM')
      await new Promise(resolve => braid.child.once('exit', resolve))
    }
    expect(braid.err()).not.toContain(key)
  })

  it('refuses to start when the api section has a problem, naming it', async () => {
    const config = retailWith('  auth:\n    jwt: { hs256Secret: { env: BRAID_TEST_NO_SUCH_VARIABLE } }\n')
    const braid = start(config, '--port', '0', '--data-dir', tempDir())
    const code = await new Promise<number | null>(resolve => braid.child.once('exit', resolve))
    expect(code).toBe(1)
    expect(braid.err()).toContain('BRAID_CONFIG_INVALID')
    expect(braid.err()).toContain('api.auth.jwt.hs256Secret.env: the environment variable BRAID_TEST_NO_SUCH_VARIABLE is not set')
  })

  it('still refuses a non-loopback address without auth unless --insecure, saying how to fix it', async () => {
    const braid = start(join(repoRoot, 'examples/retail/braid.yaml'), '--host', '0.0.0.0', '--port', '0', '--data-dir', tempDir())
    const code = await new Promise<number | null>(resolve => braid.child.once('exit', resolve))
    expect(code).toBe(2)
    expect(braid.err()).toContain('Configure api.auth (API keys or JWT, see docs/api.md), or pass --insecure')
  })
})
