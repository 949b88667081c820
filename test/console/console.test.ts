/**
 * The web console in a real browser (headless Chromium through playwright-core) against a running
 * `braid start examples/retail/braid.yaml --demo`, as `npm start` runs it. Every page loads without
 * console errors and without a request leaving this machine; a source change shows in the view page
 * within a second; pause/resume, rebuild and verify work; an injected poison message shows on the
 * errors page; with API keys configured, a 401 asks for a token and a 403 is explained. Each page is
 * screenshotted: into docs/img/ for docs/console.md when BRAID_UPDATE_SCREENSHOTS=1, else into a
 * temporary directory (a test run leaves the checkout clean).
 *
 * Needs `npm run build` (the service and the console); a stale or missing build is rebuilt first.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateApiKey, sha256Hash } from '../../src/api/auth/keys.ts'
import { createEmbeddedEventLog } from '../../src/event-log/embedded/index.ts'
import type { Doc } from '../../src/model/document.ts'
import { repoRoot, tempDir, topics } from '../runtime/harness.ts'
import { launchChromium, type Browser } from './browser.ts'
import { ensureConsoleBuilt, ensureServiceBuilt, horizontalOverflow, PageProblems, screenshot, screenshotDir } from './harness.ts'

const main = join(repoRoot, 'dist/cli/main.js')

/** The output of the braid started last (in timeout messages). */
let output = (): string => ''
let base = ''
let dataDir = ''
let browser: Browser | undefined
let page: Page

/** Problems seen by the current page: console errors, uncaught exceptions, requests to other hosts. */
const seen = new PageProblems()

// ------------------------------------------------------------------ setup

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

async function until<T> (check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}\nbraid output:\n${output().slice(-3000)}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

interface Braid {
  child: ChildProcess
  base: string
  dataDir: string
  output: () => string
}

const started: Braid[] = []

/**
 * `braid start <config> --demo` as `npm start` runs it (on the embedded engines, whatever servers the
 * test run points at), resolved once it prints the console URL and the demo's 50 customers are built.
 */
async function startBraid (config: string, headers: Record<string, string> = {}): Promise<Braid> {
  const dir = tempDir('braid-console-e2e-')
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, BRAID_LOG_LEVEL: 'warn' }
  for (const name of ['BRAID_KAFKA_BROKERS', 'BRAID_MONGODB_URL', 'BRAID_PG_URL']) delete env[name]
  const child = spawn(process.execPath, [main, 'start', config, '--demo', '--port', String(port), '--data-dir', dir], { cwd: repoRoot, env })
  let text = ''
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString() })
  const handle: Braid = { child, base: '', dataDir: dir, output: () => text }
  started.push(handle)
  output = () => text
  handle.base = await until(async () => {
    if (child.exitCode !== null) throw new Error(`braid exited with ${child.exitCode}`)
    return /console\s+(http:\/\/\S+)\/console\//.exec(text)?.[1]
  }, 'braid to print the console URL', 30_000)
  await until(async () => {
    const res = await fetch(`${handle.base}/single-views/customer_sv/count`, { headers })
    return res.ok && Number(await res.text()) >= 50
  }, 'the demo snapshot (50 customer views)', 30_000)
  return handle
}

async function stopBraid (b: Braid): Promise<void> {
  if (b.child.exitCode !== null || b.child.signalCode !== null) return
  b.child.kill('SIGTERM')
  await new Promise(resolve => {
    const t = setTimeout(() => { b.child.kill('SIGKILL'); resolve(undefined) }, 10_000)
    b.child.once('exit', () => { clearTimeout(t); resolve(undefined) })
  })
}

beforeAll(async () => {
  ensureServiceBuilt()
  ensureConsoleBuilt()
  const demo = await startBraid(join(repoRoot, 'examples/retail/braid.yaml'))
  base = demo.base
  dataDir = demo.dataDir
  browser = await launchChromium()
  page = await newPage()
  mkdirSync(screenshotDir, { recursive: true })
}, 600_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(started.map(stopBraid))
})

// ------------------------------------------------------------------ helpers

async function newPage (): Promise<Page> {
  if (browser === undefined) throw new Error('no browser')
  return seen.watch(await browser.context.newPage())
}

/** Loads a console route afresh (a full page load, not a hash change). */
async function open (p: Page, hash: string): Promise<void> {
  await p.goto('about:blank')
  await p.goto(`${base}/console/#${hash}`)
}

/** No console errors (but those matching `allowed`) and no request to another host since the last check. */
function expectClean (allowed: RegExp[] = []): void {
  seen.expectClean(allowed)
}

async function api<T> (path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${base}${path}`, init)
  const text = await res.text()
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${text}`)
  return (text === '' ? undefined : JSON.parse(text)) as T
}

async function ingest (topic: string, messages: unknown[]): Promise<void> {
  await api(`/ingest/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(messages) })
}

/** A position beyond anything the demo generator reaches, so the ordering guard lets the change in. */
let lsn = 10_000_000_000

/** The Debezium update of a stored customer (projection field names back to source columns). */
function customerUpdate (c: Doc, changes: Doc): unknown {
  const after = {
    customer_id: c['customerId'],
    email: c['email'],
    first_name: c['firstName'],
    last_name: c['lastName'],
    phone: c['phone'],
    tier_code: c['tierCode'],
    created_at: Date.parse(String(c['registeredAt'])),
    ...changes
  }
  return { key: { customer_id: c['customerId'] }, value: { op: 'u', before: null, after, source: { connector: 'postgresql', lsn: ++lsn, ts_ms: Date.now() }, ts_ms: Date.now() } }
}

const failedResource = /Failed to load resource: the server responded with a status of (400|401|404)/

// ------------------------------------------------------------------ tests

describe('the web console against braid start --demo', () => {
  it('serves the console at the URL braid start prints, with no request leaving this machine', async () => {
    expect(output()).toMatch(/console\s+http:\/\/127\.0\.0\.1:\d+\/console\//)
    await open(page, '/pipeline')
    await page.locator('[data-testid=pipeline-graph]').waitFor()
    expect(await page.title()).toBe('braid console')
    expectClean()
  })

  it('pipeline: draws systems → topics → projections → the view with live numbers, and node details on click', async () => {
    await open(page, '/pipeline')
    const graph = page.locator('[data-testid=pipeline-graph]')
    await graph.waitFor()
    expect(await graph.locator('g[data-node]').count()).toBe(1 + 5 + 5 + 1)
    // Live numbers: rates per second once two status polls have come in; the demo keeps them above 0.
    await until(async () => /\d(\.\d)?\/s/.test(await graph.locator('g[data-node="pr:customers"]').textContent() ?? ''), 'a live rate on the customers node')
    await until(async () => /^(0\.[1-9]|0\.0*[1-9]|[1-9])/.test(await page.locator('[data-testid=rate-in]').textContent() ?? ''), 'a non-zero input rate')
    await expect.poll(async () => graph.locator('g[data-node="sv:customer_sv"]').textContent()).toMatch(/freshness p99 \d/)
    await graph.locator('g[data-node="sv:customer_sv"]').click()
    const details = page.locator('[data-testid=node-details]')
    await details.waitFor()
    expect(await details.textContent()).toContain('Single view customer_sv')
    expect(await details.textContent()).toMatch(/freshness/)
    await screenshot(page, 'pipeline')
    expectClean()
  })

  it('single views: lists, searches by key and _q, shows the live feed, and shows errors and empty results clearly', async () => {
    await open(page, '/views/customer_sv')
    const table = page.locator('[data-testid=documents]')
    await table.waitFor()
    expect(await table.locator('tbody tr').count()).toBe(25)
    await page.locator('[data-testid=feed] li').first().waitFor({ timeout: 15_000 })
    await page.locator('[data-testid=live][data-state=open]').waitFor()
    await screenshot(page, 'single-views')

    const [one] = await api<Doc[]>('/single-views/customer_sv/?_l=1&_s=email')
    const email = String(one?.['email'])
    await page.locator('input[name="key-email"]').fill(email)
    await page.getByRole('button', { name: 'Search' }).click()
    await until(async () => await table.locator('tbody tr').count() === 1, 'one row for the key')
    expect(await table.textContent()).toContain(email)

    await page.locator('input[name="key-email"]').fill('')
    await page.locator('input[name="q"]').fill('{"noSuchField": 1}')
    await page.getByRole('button', { name: 'Search' }).click()
    const error = page.locator('[data-testid=error]')
    await error.waitFor()
    expect(await error.textContent()).toContain('Unknown field: noSuchField')

    await page.locator('input[name="q"]').fill('{"email": "nobody@nowhere.example"}')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.locator('[data-testid=empty]').waitFor()
    expect(await page.locator('[data-testid=empty]').textContent()).toContain('No document matches')

    await page.locator('input[name="q"]').fill('not json')
    await page.getByRole('button', { name: 'Search' }).click()
    expect(await page.locator('.field-error').textContent()).toContain('_q is not a JSON object')
    expectClean([failedResource])
  })

  it('view page: shows the document and its lineage, and a source change within a second', async () => {
    const [customer] = await api<Doc[]>('/projections/customers/?_l=1&_s=customerId')
    if (customer === undefined) throw new Error('no customer in the demo')
    const [view] = await api<Doc[]>(`/single-views/customer_sv/?email=${encodeURIComponent(String(customer['email']))}`)
    if (view === undefined) throw new Error('no view for the first customer')
    await open(page, `/views/customer_sv/doc/${encodeURIComponent(String(view['_id']))}`)
    await page.locator('[data-testid=json]').first().waitFor()
    await page.locator('[data-testid=live][data-state=open]').waitFor()
    const lineage = page.locator('[data-testid=lineage-table]')
    await lineage.waitFor()
    expect(await lineage.textContent()).toContain('customers')
    expect(await lineage.textContent()).toMatch(/crm\.public\.customers \[\d+\] @ \d+/)

    const phone = `+39 06 ${Date.now() % 10_000_000}`
    const started = Date.now()
    await ingest(topics.customers, [customerUpdate(customer, { phone })])
    await page.getByText(phone).first().waitFor({ timeout: Math.max(1, 1000 - (Date.now() - started)) })
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThanOrEqual(1000)
    await page.locator('[data-testid=updated]').waitFor()
    await screenshot(page, 'view')
    expectClean()
  })

  it('projections: lists them, browses documents, and reports unmapped fields', async () => {
    await open(page, '/projections')
    await page.locator('[data-testid=page-projections] tbody tr').first().waitFor()
    expect(await page.locator('[data-testid=page-projections] tbody tr').count()).toBe(5)
    expectClean()

    const [customer] = await api<Doc[]>('/projections/customers/?_l=1&_s=-customerId')
    if (customer === undefined) throw new Error('no customer')
    await ingest(topics.customers, [customerUpdate(customer, { loyalty_tier_legacy: 'L2' })])
    await open(page, '/projections/customers')
    await page.locator('[data-testid=documents] tbody tr').first().waitFor()
    expect(await page.locator('[data-testid=mapping]').textContent()).toContain('registeredAt')
    await until(async () => (await page.locator('[data-testid=unmapped]').textContent() ?? '').includes('loyalty_tier_legacy'), 'the unmapped field in the report', 15_000)
    expect(await page.locator('[data-testid=unmapped]').textContent()).toContain('not in the mapping')
    await screenshot(page, 'projections')
    expectClean()
  })

  it('errors: shows an injected poison message with its reason code, and dismisses it', async () => {
    // A producer writing garbage to the topic, as a broken connector would: straight into braid's log.
    const log = createEmbeddedEventLog({ path: join(dataDir, 'log.sqlite') })
    try {
      await log.append(topics.customers, [{ key: '{"customer_id":424242}', value: '{"op":"u","after": this is not JSON', timestamp: Date.now(), headers: {} }])
    } finally {
      await log.close()
    }
    await open(page, '/errors')
    const row = page.locator('[data-testid=dead-letter-table] tbody tr', { hasText: 'BRAID_DECODE_FAILED' })
    await row.first().waitFor({ timeout: 15_000 })
    expect(await row.first().textContent()).toContain('customers')
    await row.first().getByRole('button', { name: 'Message' }).click()
    await page.locator('tr.detail').getByText('this is not JSON', { exact: false }).first().waitFor()
    await screenshot(page, 'errors')

    const id = await row.first().getAttribute('data-id')
    await row.first().getByRole('button', { name: 'Dismiss' }).click()
    await page.getByText('Dismiss: done.').waitFor()
    await until(async () => await page.locator(`[data-testid=dead-letter-table] tr[data-id="${id}"]`).count() === 0, 'the dismissed letter to leave the pending list')
    const dismissed = await api<Doc[]>('/-/dead-letters?status=dismissed')
    expect(dismissed.map(d => d['_id'])).toContain(id)

    await page.getByRole('tab', { name: 'View build errors' }).click()
    await page.locator('[data-testid=sv-errors]').waitFor()
    await page.locator('[data-testid=sv-errors] [data-testid=empty], [data-testid=sv-error-table]').first().waitFor()
    expectClean()
  })

  it('control: pauses and resumes a projection and a view', async () => {
    await open(page, '/control')
    const projectionRow = page.locator('[data-testid=control-projections] tr[data-name="customers"]')
    await projectionRow.waitFor()
    expect(await projectionRow.locator('[data-testid=paused-state]').textContent()).toBe('running')
    await projectionRow.getByRole('button', { name: 'Pause' }).click()
    await until(async () => await projectionRow.locator('[data-testid=paused-state]').textContent() === 'paused', 'the projection shown paused')
    expect((await api<{ projections: Record<string, { paused: boolean }> }>('/-/control')).projections['customers']?.paused).toBe(true)
    await until(async () => (await api<{ projections: Record<string, { paused?: boolean }> }>('/-/status')).projections['customers']?.paused === true, '/-/status to show the pause')
    await projectionRow.getByRole('button', { name: 'Resume' }).click()
    await until(async () => await projectionRow.locator('[data-testid=paused-state]').textContent() === 'running', 'the projection shown running')
    expect((await api<{ projections: Record<string, { paused: boolean }> }>('/-/control')).projections['customers']?.paused).toBe(false)

    const viewRow = page.locator('[data-testid=control-views] tr[data-name="customer_sv"]')
    await viewRow.getByRole('button', { name: 'Pause' }).click()
    await until(async () => await viewRow.locator('[data-testid=paused-state]').textContent() === 'paused', 'the view shown paused')
    expect((await api<{ singleViews: Record<string, { paused: boolean }> }>('/-/control')).singleViews['customer_sv']?.paused).toBe(true)
    await viewRow.getByRole('button', { name: 'Resume' }).click()
    await until(async () => await viewRow.locator('[data-testid=paused-state]').textContent() === 'running', 'the view shown running')
    expect((await api<{ singleViews: Record<string, { paused: boolean }> }>('/-/control')).singleViews['customer_sv']?.paused).toBe(false)
    expectClean()
  })

  it('control: rebuilds a view with a progress bar, then verifies it and shows the result', async () => {
    await open(page, '/control')
    const viewRow = page.locator('[data-testid=control-views] tr[data-name="customer_sv"]')
    await viewRow.getByRole('button', { name: 'Rebuild' }).click()
    const rebuild = page.locator('[data-testid=jobs] li[data-kind=rebuild]').first()
    await rebuild.waitFor()
    expect(await rebuild.locator('progress').count()).toBe(1)
    await rebuild.and(page.locator('[data-state=succeeded]')).waitFor({ timeout: 60_000 })
    const summary = await rebuild.locator('[data-testid=job-result]').textContent()
    expect(summary).toMatch(/^\d+ \w+(, \d+ \w+)*\.$/)
    expect(summary).toContain(' 0 failed')
    const max = Number(await rebuild.locator('progress').getAttribute('max'))
    expect(max).toBeGreaterThanOrEqual(50)
    expect(Number(await rebuild.locator('progress').getAttribute('value'))).toBe(max)

    await viewRow.getByRole('button', { name: 'Verify' }).click()
    const verify = page.locator('[data-testid=jobs] li[data-kind=verify]').first()
    await verify.waitFor()
    await verify.and(page.locator('[data-state=succeeded]')).waitFor({ timeout: 60_000 })
    expect(await verify.locator('[data-testid=job-result]').textContent()).toMatch(/\d+ views checked: (no differences|\d+ differences?)/)
    await screenshot(page, 'control')
    expectClean()
  })

  it('ER schema: draws the relations between the projections, with cardinalities', async () => {
    await open(page, '/er')
    const graph = page.locator('[data-testid=er-graph]')
    await graph.waitFor()
    expect(await graph.locator('g[data-node]').count()).toBe(5)
    const relations = page.locator('[data-testid=relations] tbody tr')
    expect(await relations.count()).toBe(4)
    expect(await page.locator('[data-testid=relations]').textContent()).toContain('customers 1 : N orders')
    // Cardinalities read left to right across each line of the diagram.
    expect((await graph.locator('.edge-label').allTextContents()).sort()).toEqual(['1 : 1', '1 : N', '1 : N', 'N : 1'])
    await screenshot(page, 'er-schema')
    expectClean()
  })

  it('is usable on a narrow screen (390×844): no sideways scrolling of the page', async () => {
    const narrow = await newPage()
    try {
      await narrow.setViewportSize({ width: 390, height: 844 })
      for (const hash of ['/pipeline', '/views/customer_sv', '/errors', '/control', '/er']) {
        await open(narrow, hash)
        await narrow.locator('[data-testid^=page-]').first().waitFor()
        await narrow.waitForTimeout(200)
        expect(await horizontalOverflow(narrow), `horizontal overflow on ${hash}`).toBeLessThanOrEqual(0)
      }
      await open(narrow, '/views/customer_sv')
      await narrow.locator('[data-testid=documents]').waitFor()
      await screenshot(narrow, 'narrow')
    } finally {
      await narrow.close()
    }
    expectClean()
  })

  it('views with updateEvents key and none: the feed shows key-only changes and the view page reads the view again; no feed without events', async () => {
    /** The retail example with customer_sv's updateEvents set. */
    const variant = async (updateEvents: string): Promise<Braid> => {
      const dir = tempDir(`braid-console-${updateEvents}-`)
      cpSync(join(repoRoot, 'examples/retail'), dir, { recursive: true })
      const config = join(dir, 'braid.yaml')
      const text = readFileSync(config, 'utf8')
      if (!text.includes('\n  customer_sv:\n')) throw new Error('the retail example no longer declares customer_sv as expected')
      writeFileSync(config, text.replace('\n  customer_sv:\n', `\n  customer_sv:\n    updateEvents: ${updateEvents}\n`))
      return await startBraid(config)
    }
    const [keyOnly, none] = await Promise.all([variant('key'), variant('none')])
    const p = await newPage()
    try {
      await p.goto(`${keyOnly.base}/console/#/views/customer_sv`)
      await p.locator('[data-testid=feed] li').first().waitFor({ timeout: 15_000 })
      const first = p.locator('[data-testid=feed] li').first()
      expect(await first.textContent()).toMatch(/^(INSERT|UPDATE|DELETE) \{"email":"[^"]+"\}/)
      // Without the document there is no _id to link to.
      expect(await first.locator('a').count()).toBe(0)

      const [customer] = await (await fetch(`${keyOnly.base}/projections/customers/?_l=1&_s=customerId`)).json() as Doc[]
      if (customer === undefined) throw new Error('no customer in the demo')
      const [view] = await (await fetch(`${keyOnly.base}/single-views/customer_sv/?email=${encodeURIComponent(String(customer['email']))}`)).json() as Doc[]
      if (view === undefined) throw new Error('no view for the first customer')
      await p.goto(`${keyOnly.base}/console/#/views/customer_sv/doc/${encodeURIComponent(String(view['_id']))}`)
      await p.locator('[data-testid=json]').first().waitFor()
      await p.locator('[data-testid=live][data-state=open]').waitFor()
      const phone = `+39 02 ${Date.now() % 10_000_000}`
      const res = await fetch(`${keyOnly.base}/ingest/${topics.customers}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([customerUpdate(customer, { phone })]) })
      expect(res.status).toBe(202)
      await p.getByText(phone).first().waitFor({ timeout: 10_000 })
      await p.locator('[data-testid=updated]').waitFor()

      await p.goto(`${none.base}/console/#/views/customer_sv`)
      await p.locator('[data-testid=documents] tbody tr').first().waitFor()
      expect(await p.locator('[data-testid=no-feed]').textContent()).toContain('updateEvents: none')
      expect(await p.locator('[data-testid=live]').count()).toBe(0)
      expectClean()
    } finally {
      await p.close()
    }
  })

  it('with API keys configured: asks for a token on 401, sends it on every call (live feed included), and shows a 403 clearly', async () => {
    // The retail example with an api.auth section: an admin key and a read-only key.
    const dir = tempDir('braid-console-auth-')
    cpSync(join(repoRoot, 'examples/retail'), dir, { recursive: true })
    const admin = generateApiKey()
    const reader = generateApiKey()
    const config = join(dir, 'braid.yaml')
    appendFileSync(config, [
      '',
      'api:',
      '  auth:',
      '    apiKeys:',
      `      - { name: console-admin, hash: "${sha256Hash(admin)}", scopes: [admin, "read:*"] }`,
      `      - { name: console-reader, hash: "${sha256Hash(reader)}", scopes: ["read:*"] }`,
      ''
    ].join('\n'))
    const secured = await startBraid(config, { authorization: `Bearer ${admin}` })
    expect((await fetch(`${secured.base}/-/status`)).status).toBe(401)
    expect((await fetch(`${secured.base}/console/`)).status).toBe(200)

    const p = await newPage()
    const sent = new Map<string, string | undefined>()
    p.on('request', request => { sent.set(new URL(request.url()).pathname, request.headers()['authorization']) })
    try {
      await p.goto(`${secured.base}/console/#/views/customer_sv`)
      const prompt = p.locator('[data-testid=token-prompt]')
      await prompt.waitFor()
      expect(await prompt.textContent()).toContain('requires authentication')
      await prompt.locator('input[name=token]').fill('bk_not-a-valid-key')
      await prompt.getByRole('button', { name: 'Sign in' }).click()
      await until(async () => (await prompt.textContent() ?? '').includes('Token rejected'), 'the rejected-token prompt')
      await prompt.locator('input[name=token]').fill(admin)
      await prompt.getByRole('button', { name: 'Sign in' }).click()
      await p.locator('[data-testid=documents] tbody tr').first().waitFor()
      await p.locator('[data-testid=live][data-state=open]').waitFor()
      expect(await prompt.count()).toBe(0)
      for (const path of ['/-/pipeline', '/-/status', '/single-views/customer_sv/', '/single-views/customer_sv/changes']) {
        expect(sent.get(path), path).toBe(`Bearer ${admin}`)
      }
      expect(await p.evaluate("sessionStorage.getItem('braid.console.token')")).toBe(admin)
      await p.goto(`${secured.base}/console/#/control`)
      await p.locator('[data-testid=control-views]').waitFor()
      expect(await prompt.count()).toBe(0)
    } finally {
      await p.close()
    }

    // A key without the admin scope: the read pages work, the admin ones say why they cannot.
    const q = await newPage()
    try {
      await q.goto(`${secured.base}/console/#/views/customer_sv`)
      const prompt = q.locator('[data-testid=token-prompt]')
      await prompt.locator('input[name=token]').fill(reader)
      await prompt.getByRole('button', { name: 'Sign in' }).click()
      await q.locator('[data-testid=documents] tbody tr').first().waitFor()
      await q.goto(`${secured.base}/console/#/errors`)
      const error = q.locator('[data-testid=error]').first()
      await error.waitFor()
      expect(await error.textContent()).toContain('403')
      expect(await error.textContent()).toContain('admin scope')
    } finally {
      await q.close()
      await stopBraid(secured)
    }
    expectClean([/Failed to load resource: the server responded with a status of (401|403)/])
  })
})
