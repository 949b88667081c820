/**
 * End to end with `braid start` as a child process on a real PostgreSQL (BRAID_PG_URL), embedded
 * engines: killed with SIGKILL in the middle of a stream of changes and restarted, braid ends with
 * projections equal to the tables and views equal to a full recomputation (`braid verify`); an UPDATE
 * reaches the served single view (latency printed); `braid resnapshot` and `braid sources` work
 * beside the running server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Doc } from '../../../src/model/document.ts'
import { createEmbeddedStore } from '../../../src/storage/embedded/index.ts'
import { repoRoot, tempDir, waitFor } from '../../runtime/harness.ts'
import { createTestDatabase, stripMeta, writeConfig, type TestDatabase } from './helpers.ts'

const main = join(repoRoot, 'dist/cli/main.js')
const children = new Set<ChildProcess>()
let db: TestDatabase

/** The child's environment: none of braid's variables (so the embedded engines, whatever the test run's servers), quiet logs. */
function childEnv (): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BRAID_')))
  return { ...env, BRAID_LOG_LEVEL: 'warn' }
}

function newest (dir: string): number {
  let max = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return max
}

beforeAll(async () => {
  const buildInfo = join(repoRoot, 'dist/.tsbuildinfo')
  if (!(existsSync(main) && existsSync(buildInfo) && statSync(buildInfo).mtimeMs >= newest(join(repoRoot, 'src')))) {
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`)
  }
  db = await createTestDatabase()
}, 180_000)

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await db?.drop()
}, 30_000)

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

interface Braid {
  base: string
  child: ChildProcess
  exited: Promise<number | null>
  output: () => string
}

async function startBraid (config: string, dataDir: string): Promise<Braid> {
  const port = await freePort()
  const child = spawn(process.execPath, [main, 'start', config, '--port', String(port), '--data-dir', dataDir], { cwd: repoRoot, env: childEnv() })
  children.add(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>(resolve => child.on('close', code => { children.delete(child); resolve(code) }))
  const base = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`braid start exited with ${child.exitCode}:\n${output}`)
    try {
      return (await fetch(`${base}/-/ready`)).status === 200
    } catch {
      return false
    }
  }, 'braid start to be ready', 30_000)
  return { base, child, exited, output: () => output }
}

async function braidCli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [main, ...args], { cwd: repoRoot, env: childEnv() })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, stdout, stderr }
}

async function json (url: string): Promise<unknown> {
  const res = await fetch(url)
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
  return await res.json()
}

/** Random changes in small transactions: inserts, updates, FK moves, PK changes, deletes. */
function startWriter (): { stop: () => Promise<number> } {
  let running = true
  let nextOrder = 1000
  const orders = new Set<number>(Array.from({ length: 40 }, (_, i) => i + 1))
  const pick = (): number | undefined => [...orders][Math.floor(Math.random() * orders.size)]
  const customer = (): number => 1 + Math.floor(Math.random() * 10)
  let transactions = 0
  const done = (async () => {
    while (running) {
      await db.query('BEGIN')
      for (let i = 0, n = 1 + Math.floor(Math.random() * 3); i < n; i++) {
        const roll = Math.random()
        const id = pick()
        if (roll < 0.3 || id === undefined) {
          const created = nextOrder++
          await db.query('INSERT INTO orders VALUES ($1, $2, $3, $4)', [created, customer(), (Math.random() * 100).toFixed(2), 'new'])
          orders.add(created)
        } else if (roll < 0.5) {
          await db.query("UPDATE orders SET total = total + 1, status = 'paid' WHERE id = $1", [id])
        } else if (roll < 0.65) {
          await db.query('UPDATE orders SET customer_id = $2 WHERE id = $1', [id, customer()])
        } else if (roll < 0.75) {
          const moved = nextOrder++
          await db.query('UPDATE orders SET id = $2 WHERE id = $1', [id, moved])
          orders.delete(id)
          orders.add(moved)
        } else if (roll < 0.85) {
          await db.query('DELETE FROM orders WHERE id = $1', [id])
          orders.delete(id)
        } else {
          await db.query("UPDATE customers SET name = 'n' || floor(random() * 1000) WHERE id = $1", [customer()])
        }
      }
      await db.query('COMMIT')
      transactions++
      await new Promise(resolve => setTimeout(resolve, 3))
    }
  })()
  return { stop: async () => { running = false; await done; return transactions } }
}

describe('braid start with a PostgreSQL source', () => {
  it('killed with SIGKILL mid-stream and restarted, should end with views equal to a full recompute and no gap', async () => {
    await db.query('CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, name text)')
    await db.query('CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2), status text)')
    await db.query("INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'n' || g FROM generate_series(1, 10) g")
    await db.query("INSERT INTO orders SELECT g, 1 + g % 10, g, 'new' FROM generate_series(1, 40) g")
    const config = writeConfig(`
version: 1
projections:
  customers:
    topic: shop.customers
    key: id
    fields: { id: castToInteger, email: castToString, name: castToString }
  orders:
    topic: shop.orders
    key: id
    fields: { id: castToInteger, customer_id: { as: customerId, cast: castToInteger }, total: castToFloat, status: castToString }
relations:
  customer_orders: { from: customers, to: orders, on: { customerId: id }, cardinality: one-to-many }
singleViews:
  customer_sv:
    base: customers
    key: id
    view:
      id: customers.id
      email: customers.email
      name: customers.name
      orders: { join: orders, via: customer_orders, view: { id: orders.id, total: orders.total, status: orders.status } }
sources:
  shop:
    kind: postgres
    url: ${db.url}
    snapshot: { chunkSize: 10 }
    tables:
      customers: { topic: shop.customers }
      orders: { topic: shop.orders }
`)
    const dataDir = tempDir('braid-pg-e2e-')
    const writer = startWriter()
    let braid = await startBraid(config, dataDir)
    let stopped = false
    try {
      expect(braid.output()).toContain(`${braid.base}/-/sources`)
      await new Promise(resolve => setTimeout(resolve, 1500))
      braid.child.kill('SIGKILL')
      expect(await braid.exited).toBeNull()
      await new Promise(resolve => setTimeout(resolve, 500))
      braid = await startBraid(config, dataDir)
      await new Promise(resolve => setTimeout(resolve, 1000))
      const transactions = await writer.stop()
      expect(transactions).toBeGreaterThan(20)
      const target = (await db.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn as string

      // caught up: the source confirmed past the last write and the pipeline is idle (views whose
      // rebuild the killed process had claimed wait for the claim's 60 s lease to run out)
      await waitFor(async () => {
        const s = await json(`${braid.base}/-/sources/shop`) as { state: string, position: string | null }
        return s.state === 'streaming' && s.position !== null && lsnValue(s.position) >= lsnValue(target)
      }, 'the source caught up', 30_000)
      let lastStatus: unknown
      await waitFor(async () => {
        const st = await json(`${braid.base}/-/status`) as { projections: Record<string, { lag: number }>, singleViews: Record<string, { queued: number }> }
        lastStatus = st
        return Object.values(st.projections).every(p => p.lag === 0) && Object.values(st.singleViews).every(v => v.queued === 0)
      }, 'the pipeline idle', 90_000).catch(async err => { throw new Error(`${String(err)}: ${JSON.stringify(lastStatus)} ${JSON.stringify(await json(`${braid.base}/-/sv-errors`))} ${braid.output()}`) })

      // an UPDATE in PostgreSQL reaches the served single view
      const latencies: number[] = []
      for (let i = 0; i < 10; i++) {
        const email = `latency-${i}@example.com`
        const t0 = Date.now()
        await db.query('UPDATE customers SET email = $1 WHERE id = 1', [email])
        await waitFor(async () => ((await json(`${braid.base}/single-views/customer_sv/?id=1`)) as Doc[])[0]?.['email'] === email, 'the view updated', 10_000)
        latencies.push(Date.now() - t0)
      }
      latencies.sort((a, b) => a - b)
      process.stdout.write(`end to end (UPDATE in PostgreSQL → single view served over HTTP): p50 ${latencies[4]} ms, max ${latencies[9]} ms over ${latencies.length} updates\n`)

      // braid resnapshot and braid sources beside the running server
      const request = await braidCli('resnapshot', config, 'shop', 'orders', '--data-dir', dataDir, '--wait')
      expect(request.code, request.stderr).toBe(0)
      expect(request.stdout).toContain('re-snapshot of public.orders (source shop) requested')
      const listed = await braidCli('sources', config, '--data-dir', dataDir)
      expect(listed.code).toBe(0)
      expect(listed.stdout).toMatch(/public\.orders → shop\.orders: resnapshot snapshot done: \d+\/\d+ rows/)
      expect(listed.stdout).toMatch(/public\.customers → shop\.customers: initial snapshot done: 10\/10 rows/)

      braid.child.kill('SIGTERM')
      expect(await braid.exited).toBe(0)
      stopped = true

      const store = createEmbeddedStore({ path: join(dataDir, 'store.sqlite') })
      try {
        const projection = async (collection: string): Promise<Doc[]> =>
          (await store.find(collection, { __STATE__: 'PUBLIC' })).map(stripMeta).sort((a, b) => Number(a['id']) - Number(b['id']))
        const orders = (await db.query('SELECT id, customer_id AS "customerId", total::float8 AS total, status FROM orders ORDER BY id')).rows as Doc[]
        const customers = (await db.query('SELECT id, email, name FROM customers ORDER BY id')).rows as Doc[]
        expect(isDeepStrictEqual(await projection('orders'), orders)).toBe(true)
        expect(isDeepStrictEqual(await projection('customers'), customers)).toBe(true)
      } finally {
        await store.close()
      }
      const verify = await braidCli('verify', config, '--data-dir', dataDir)
      expect(verify.stdout).toContain('customer_sv: 10 views checked, 0 differences')
      expect(verify.code).toBe(0)
    } finally {
      await writer.stop()
      if (!stopped) braid.child.kill('SIGKILL')
    }
  }, 180_000)
})

function lsnValue (text: string): bigint {
  const [hi, lo] = text.split('/')
  return (BigInt(`0x${hi ?? '0'}`) << 32n) | BigInt(`0x${lo ?? '0'}`)
}
