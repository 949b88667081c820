import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import { createEmbeddedStore } from '../../src/storage/embedded/index.ts'
import { customerRow, repoRoot, retail, retailConfig, retailMia, runtimeFixtures, tempDir, topics, waitFor } from '../runtime/harness.ts'

/** The environment of the braid processes: the test servers' variables would select Kafka and MongoDB; these tests run the embedded default. */
const embeddedEnv: NodeJS.ProcessEnv = { ...process.env, BRAID_LOG_LEVEL: 'warn', BRAID_KAFKA_BROKERS: '', BRAID_MONGODB_URL: '' }

const main = join(repoRoot, 'dist/cli/main.js')
const lowCode = join(repoRoot, 'test/fixtures/mia/low-code-template')
const children = new Set<ChildProcess>()

/** Newest modification time of the files under `dir`, ms. */
function newest (dir: string): number {
  let max = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return max
}

beforeAll(() => {
  const buildInfo = join(repoRoot, 'dist/.tsbuildinfo')
  if (existsSync(main) && existsSync(buildInfo) && statSync(buildInfo).mtimeMs >= newest(join(repoRoot, 'src'))) return
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`)
}, 120_000)

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})

interface Result { code: number | null, stdout: string, stderr: string }

/** Runs `braid …args` to completion. */
async function braid (...args: string[]): Promise<Result> {
  const child = spawn(process.execPath, [main, ...args], { cwd: repoRoot, env: embeddedEnv })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  children.delete(child)
  return { code, stdout, stderr }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

interface Started {
  child: ChildProcess
  base: string
  output: () => { stdout: string, stderr: string }
  /** Sends SIGTERM and resolves with the exit code. */
  stop: () => Promise<number | null>
}

/** `braid start` as a child process, resolved once `/-/ready` answers 200. */
async function start (config: string, dataDir: string): Promise<Started> {
  const port = await freePort()
  const child = spawn(process.execPath, [main, 'start', config, '--port', String(port), '--data-dir', dataDir], { cwd: repoRoot, env: embeddedEnv })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>(resolve => child.on('close', code => { children.delete(child); resolve(code) }))
  const base = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`braid start exited with ${child.exitCode}:\n${stderr}`)
    try {
      return (await fetch(`${base}/-/ready`)).status === 200
    } catch {
      return false
    }
  }, 'braid start to be ready', 20_000)
  return {
    child,
    base,
    output: () => ({ stdout, stderr }),
    async stop () {
      child.kill('SIGTERM')
      return await exited
    }
  }
}

async function getJson (url: string): Promise<unknown> {
  const res = await fetch(url)
  return res.status === 200 ? await res.json() : undefined
}

async function ingest (base: string, topic: string, messages: unknown[]): Promise<void> {
  const res = await fetch(`${base}/ingest/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(messages) })
  expect(res.status).toBe(202)
}

async function viewOf (base: string, email: string): Promise<Doc | undefined> {
  const docs = await getJson(`${base}/single-views/customer_sv/?email=${encodeURIComponent(email)}`) as Doc[] | undefined
  return docs?.[0]
}

describe('braid start', () => {
  const dataDir = tempDir('braid-e2e-')

  it('serves the pipeline until SIGTERM, then exits 0 after printing its URLs', async () => {
    const braidProcess = await start(retailConfig, dataDir)
    try {
      await ingest(braidProcess.base, topics.tiers, [retail.tier('gold', 'Gold', 10)])
      await ingest(braidProcess.base, topics.customers, [retail.customer(customerRow(1, { email: 'ada@example.com', first_name: 'Ada', tier_code: 'gold' }))])
      await ingest(braidProcess.base, topics.orders, [retail.order(7, 1, '52.54')])
      const view = await waitFor(async () => {
        const v = await viewOf(braidProcess.base, 'ada@example.com')
        return (v?.['orders'] as unknown[] | undefined)?.length === 1 ? v : undefined
      }, 'the view of ada')
      expect(view).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', tier: { code: 'gold', discountPct: 10 }, orders: [{ orderId: 7, total: 52.54 }] })

      // A second braid on the same data directory refuses to start.
      const second = await braid('start', retailConfig, '--port', String(await freePort()), '--data-dir', dataDir)
      expect(second.code).toBe(1)
      expect(second.stderr).toContain('BRAID_DATA_DIR_LOCKED')
    } finally {
      const code = await braidProcess.stop()
      expect(code).toBe(0)
    }
    const { stdout } = braidProcess.output()
    expect(stdout).toContain('braid is running')
    expect(stdout).toContain(`API          ${braidProcess.base}/`)
    expect(stdout).toContain(`single view  ${braidProcess.base}/single-views/customer_sv/`)
    expect(stdout).toContain(`projection   ${braidProcess.base}/projections/customers/`)
    expect(existsSync(join(dataDir, 'braid.pid'))).toBe(false)
  })

  it('keeps the views across a restart on the same data directory', async () => {
    const braidProcess = await start(retailConfig, dataDir)
    try {
      expect(await viewOf(braidProcess.base, 'ada@example.com')).toMatchObject({ firstName: 'Ada', orders: [{ orderId: 7 }] })
      expect(await getJson(`${braidProcess.base}/single-views/customer_sv/count`)).toBe(1)
    } finally {
      expect(await braidProcess.stop()).toBe(0)
    }
  })
})

describe('braid pause, resume and control', () => {
  it('pause a running braid\'s view from the command line (picked up within seconds, persisted), show it, and resume it', async () => {
    const dataDir = tempDir('braid-e2e-control-')
    const braidProcess = await start(retailConfig, dataDir)
    try {
      const paused = await braid('pause', retailConfig, '--single-view', 'customer_sv', '--data-dir', dataDir)
      expect(paused.code).toBe(0)
      expect(paused.stdout).toMatch(/single view\s+customer_sv\s+paused since /)
      await waitFor(async () => ((await getJson(`${braidProcess.base}/-/control`)) as { singleViews: Record<string, { paused: boolean }> }).singleViews['customer_sv']?.paused === true, 'the running braid to pick the pause up')
      await ingest(braidProcess.base, topics.customers, [retail.customer(customerRow(5, { email: 'lin@example.com' }))])
      await new Promise(resolve => setTimeout(resolve, 500))
      expect(await viewOf(braidProcess.base, 'lin@example.com')).toBeUndefined()

      const shown = await braid('control', retailConfig, '--data-dir', dataDir)
      expect(shown.stdout).toMatch(/projection\s+customers\s+running/)
      expect(shown.stdout).toMatch(/single view\s+customer_sv\s+paused/)

      expect((await braid('resume', retailConfig, '--single-view', 'customer_sv', '--data-dir', dataDir)).code).toBe(0)
      await waitFor(async () => viewOf(braidProcess.base, 'lin@example.com'), 'the view after resume')
    } finally {
      expect(await braidProcess.stop()).toBe(0)
    }
  })

  it('exit 2 naming the fix for an unknown name or a missing target', async () => {
    const dataDir = tempDir('braid-e2e-control-')
    const unknown = await braid('pause', retailConfig, '--projection', 'nope', '--data-dir', dataDir)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('no projection "nope"')
    const neither = await braid('resume', retailConfig, '--data-dir', dataDir)
    expect(neither.code).toBe(2)
    expect(neither.stderr).toContain('give exactly one of --projection NAME or --single-view NAME')
  })
})

describe('braid start failing to start', () => {
  it('refuses to bind a non-loopback address without --insecure, before touching the data directory', async () => {
    const dataDir = tempDir('braid-e2e-')
    const result = await braid('start', retailConfig, '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('BRAID_USAGE')
    expect(result.stderr).toContain('--insecure')
    expect(existsSync(join(dataDir, 'store.sqlite'))).toBe(false)
  })

  it('exits 1 when the port is in use, releasing the data directory', async () => {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    const dataDir = tempDir('braid-e2e-')
    try {
      const result = await braid('start', retailConfig, '--port', String(port), '--data-dir', dataDir)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('EADDRINUSE')
      expect(existsSync(join(dataDir, 'braid.pid'))).toBe(false)
    } finally {
      await new Promise(resolve => server.close(resolve))
    }
  })

  it('exits 1 on an invalid configuration, listing its problems', async () => {
    const result = await braid('start', join(runtimeFixtures, 'broken/braid.yaml'), '--port', '0', '--data-dir', tempDir('braid-e2e-'))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('BRAID_CONFIG_INVALID')
    expect(result.stderr).toContain('  - relations.customer_orders.to: unknown projection "invoices"')
  })
})

describe('braid validate', () => {
  it.each([
    ['the retail braid.yaml', retailConfig, 'valid (5 projections, 1 single views: customer_sv)'],
    ['the retail Mia project', retailMia, 'valid (5 projections, 1 single views: customer_sv)'],
    ['the Mia conformance project', lowCode, 'valid (8 projections, 1 single views: sv_customers)']
  ])('exits 0 on %s', async (_name, config, summary) => {
    const result = await braid('validate', config)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(summary)
  })

  it('exits 1 listing every problem of a broken configuration', async () => {
    const result = await braid('validate', join(runtimeFixtures, 'broken/braid.yaml'))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('2 problems')
    expect(result.stderr).toContain('relations.customer_orders.to: unknown projection "invoices"')
    expect(result.stderr).toContain('projections.customers.fields.name: unknown cast function "castToNothing"')
  })

  it('exits 2 on a missing argument or an unknown command', async () => {
    const missing = await braid('validate')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('BRAID_USAGE')
    expect((await braid()).code).toBe(2)
    expect((await braid('frobnicate')).code).toBe(2)
  })

  it('exits 1 with BRAID_CONFIG_NOT_FOUND for a path with no configuration', async () => {
    const result = await braid('validate', join(runtimeFixtures, 'does-not-exist.yaml'))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('BRAID_CONFIG_NOT_FOUND')
  })
})

describe('braid preview', () => {
  const identifier = readFileSync(join(lowCode, 'cases/identifier.json'), 'utf8')

  it('prints the expected view of the Mia conformance case', async () => {
    const result = await braid('preview', lowCode, '--single-view', 'sv_customers', '--fixtures', join(lowCode, 'cases/fixtures.json'), '--identifier', identifier)
    expect(result.code).toBe(0)
    const expected = JSON.parse(readFileSync(join(lowCode, 'cases/expected.json'), 'utf8')) as unknown
    expect(JSON.parse(result.stdout)).toStrictEqual(expected)
    expect(result.stdout).toBe(`${JSON.stringify(JSON.parse(result.stdout), null, 2)}\n`)
    expect(result.stderr).toBe('')
  })

  it('prints null and the reason on stderr when the validator rejects the view', async () => {
    const result = await braid('preview', lowCode, '--single-view', 'sv_customers', '--fixtures', join(runtimeFixtures, 'low-code-no-tax-code.json'), '--identifier', identifier)
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('null\n')
    expect(result.stderr).toContain('validator rejected the view')
  })

  it('exits 2 when the identifier is not JSON or a required option is missing', async () => {
    expect((await braid('preview', lowCode, '--single-view', 'sv_customers', '--fixtures', join(lowCode, 'cases/fixtures.json'), '--identifier', '{bad')).code).toBe(2)
    expect((await braid('preview', lowCode, '--fixtures', join(lowCode, 'cases/fixtures.json'), '--identifier', identifier)).code).toBe(2)
  })
})

describe('braid replay, verify, rebuild and explain', () => {
  const dataDir = tempDir('braid-e2e-')
  const emails = [1, 2, 3].map(id => `customer.${id}@example.com`)

  it('replays an NDJSON file into the log, and the next start builds the views', async () => {
    const file = join(tempDir(), 'customers.ndjson')
    writeFileSync(file, `${[1, 2, 3].map(id => JSON.stringify(retail.customer(customerRow(id)))).join('\n')}\n\n`)
    const replay = await braid('replay', retailConfig, file, '--topic', topics.customers, '--data-dir', dataDir)
    expect(replay.code).toBe(0)
    expect(replay.stderr).toContain(`appended 3 messages to ${topics.customers}`)

    const braidProcess = await start(retailConfig, dataDir)
    try {
      for (const email of emails) await waitFor(async () => viewOf(braidProcess.base, email), `the view of ${email}`)
      expect(await getJson(`${braidProcess.base}/single-views/customer_sv/count`)).toBe(3)
    } finally {
      expect(await braidProcess.stop()).toBe(0)
    }
  })

  it('refuses to replay a file with a malformed message and appends nothing', async () => {
    const file = join(tempDir(), 'bad.ndjson')
    writeFileSync(file, `${JSON.stringify(retail.customer(customerRow(9)))}\n${JSON.stringify({ key: { customer_id: 10 }, value: { op: '?' } })}\n`)
    const replay = await braid('replay', retailConfig, file, '--topic', topics.customers, '--data-dir', dataDir)
    expect(replay.code).toBe(1)
    expect(replay.stderr).toContain('BRAID_INGEST_INVALID')
  })

  it('verify exits 0 when every stored view equals its recomputation', async () => {
    const result = await braid('verify', retailConfig, '--data-dir', dataDir)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('customer_sv: 3 views checked, 0 differences')
  })

  it('verify exits 1 naming the view and field after a stored view was tampered with', async () => {
    const store = createEmbeddedStore({ path: join(dataDir, 'store.sqlite') })
    try {
      const id = keyId({ email: emails[1] }, ['email'])
      const stored = (await store.getMany('customer_sv', [id])).get(id)
      expect(stored).toBeDefined()
      await store.write({ put: [{ collection: 'customer_sv', id, doc: { ...stored, firstName: 'Tampered' } }] })
    } finally {
      await store.close()
    }
    const result = await braid('verify', retailConfig, '--data-dir', dataDir)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`customer_sv {"email":"${emails[1]}"}: different (firstName)`)
    expect(result.stdout).toContain('customer_sv: 3 views checked, 1 differences')
  })

  it('rebuild restores the views, after which verify exits 0', async () => {
    const rebuild = await braid('rebuild', retailConfig, '--data-dir', dataDir)
    expect(rebuild.code).toBe(0)
    expect(rebuild.stderr).toContain('customer_sv: 3 views built (1 written, 0 deleted, 0 failed)')
    const verify = await braid('verify', retailConfig, '--single-view', 'customer_sv', '--data-dir', dataDir)
    expect(verify.code).toBe(0)
    expect(verify.stdout).toContain('0 differences')
  })

  it('rebuild refuses a data directory another braid process holds, saying how to rebuild through it', async () => {
    // A live process (this test's) holds the lock, as a running braid start would.
    const lock = join(dataDir, 'braid.pid')
    writeFileSync(lock, String(process.pid))
    try {
      const rebuild = await braid('rebuild', retailConfig, '--data-dir', dataDir)
      expect(rebuild.code).toBe(1)
      expect(rebuild.stderr).toContain('BRAID_DATA_DIR_LOCKED')
      expect(rebuild.stderr).toContain('POST /-/single-views/{name}/rebuild')
    } finally {
      rmSync(lock, { force: true })
    }
  })

  it('explain prints the view with the projection records it was built from', async () => {
    const result = await braid('explain', retailConfig, '--single-view', 'customer_sv', '--identifier', JSON.stringify({ email: emails[0] }), '--data-dir', dataDir)
    expect(result.code).toBe(0)
    const explained = JSON.parse(result.stdout) as Doc
    expect(explained['identifier']).toEqual({ email: emails[0] })
    expect(explained['view']).toMatchObject({ email: emails[0], customerId: 1 })
    expect(explained['stored']).toMatchObject({ email: emails[0], customerId: 1, __STATE__: 'PUBLIC' })
    const lineage = explained['lineage'] as Doc[]
    expect(lineage).toContainEqual(expect.objectContaining({ projection: 'customers', key: { customerId: 1 }, __STATE__: 'PUBLIC' }))
    expect(lineage.find(l => l['projection'] === 'customers')?.['__internal__kafkaInfo']).toMatchObject({ topic: topics.customers })
  })

  it('verify and explain exit 2 on an unknown single view', async () => {
    expect((await braid('verify', retailConfig, '--single-view', 'nope', '--data-dir', dataDir)).code).toBe(2)
    expect((await braid('explain', retailConfig, '--single-view', 'nope', '--identifier', '{"email":"x"}', '--data-dir', dataDir)).code).toBe(2)
  })
})
