/**
 * The console's Commands page in a real browser (headless Chromium) against braid with a
 * `commands:` section, executing against a real PostgreSQL (BRAID_PG_URL) whose changes come back
 * through braid's own CDC source. A command written for a column the database does not have yet is
 * rejected: it shows in the recent list and the dead letters with its error; a retry before the fix
 * fails again, a retry after the migration succeeds. The definitions show their target and circuit,
 * a command's page its payload, result, error and waitFor stages. A pipeline without `commands:` gets
 * a plain explanation. Screenshots: console-commands.png, console-command-dead-letters.png and
 * console-command.png (into docs/img/ with BRAID_UPDATE_SCREENSHOTS=1, as console.test.ts does).
 *
 * braid runs in this process (the API and the console on a free port); needs the console build
 * (`npm run build`), rebuilt first when stale.
 */
import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandsOverview, CommandView as ConsoleCommandView } from '../../console/src/types.ts'
import type { CommandView } from '../../src/commands/types.ts'
import type { Doc } from '../../src/model/document.ts'
import { createDatabase, pipelineConfig, startBraid, until, writeConfig, type Braid, type TestDatabase } from '../commands/helpers.ts'
import { launchChromium, type Browser } from './browser.ts'
import { ensureConsoleBuilt, horizontalOverflow, PageProblems, screenshot, screenshotDir } from './harness.ts'

let db: TestDatabase
let braid: Braid
let base = ''
let browser: Browser | undefined
let page: Page
const seen = new PageProblems()

/** Ids of the commands sent in `beforeAll`. */
const sent = { watched: '', poison: '' }

const phone = { type: 'object', required: ['customerId', 'phone'], additionalProperties: false, properties: { customerId: { type: 'integer' }, phone: { type: 'string' } } }

/** braid's API and console on a free port of this machine. */
async function serve (b: Braid): Promise<string> {
  await b.app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(b.app.server.address() as AddressInfo).port}`
}

async function api<T> (path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${base}${path}`, init)
  const text = await res.text()
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${text}`)
  return JSON.parse(text) as T
}

async function send (name: string, payload: Doc, query = ''): Promise<string> {
  const answer = await api<CommandView>(`/commands/${name}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  return answer.id
}

async function command (id: string): Promise<CommandView> {
  return await api<CommandView>(`/commands/${id}`)
}

async function open (p: Page, hash: string): Promise<void> {
  await p.goto('about:blank')
  await p.goto(`${base}/console/#${hash}`)
}

/** The 404 of GET /-/commands on a braid without commands, logged by the browser. */
const notFound = /Failed to load resource: the server responded with a status of 404/

beforeAll(async () => {
  ensureConsoleBuilt()
  db = await createDatabase('braid_console')
  await db.client.query(`CREATE TABLE customers (customer_id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text);
    INSERT INTO customers VALUES (1, 'ada@example.com', '+44 1'), (2, 'alan@example.com', '+44 2')`)
  const config = pipelineConfig({
    retry: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 200 },
    targets: { crm: { postgres: { url: db.url }, changeFeed: { source: 'crm' } } },
    definitions: {
      'set-phone': { target: 'crm', key: 'customerId', payload: phone, sql: 'UPDATE customers SET phone = :phone WHERE customer_id = :customerId' },
      // Deployed before its migration: PostgreSQL rejects it (42703, no such column) until the column exists.
      'verify-phone': { target: 'crm', key: 'customerId', payload: phone, sql: 'UPDATE customers SET phone = :phone, phone_verified_at = now() WHERE customer_id = :customerId RETURNING customer_id' }
    }
  })
  config['sources'] = { crm: { kind: 'postgres', url: db.url, tables: { 'public.customers': { topic: 'crm.public.customers' } } } }
  braid = await startBraid(writeConfig(config))
  base = await serve(braid)
  await until(async () => await api<number>('/single-views/customer_sv/count'), n => n === 2, 30_000, 'the initial snapshot to reach the view')

  sent.watched = await send('set-phone', { customerId: 1, phone: '+44 20 7946 0000' }, '?waitFor=customer_sv')
  await until(async () => await command(sent.watched), c => c.waitFor?.reachedView === true || c.status === 'failed', 30_000, 'set-phone to reach the view')
  sent.poison = await send('verify-phone', { customerId: 2, phone: '+44 20 7946 0001' })
  await until(async () => await command(sent.poison), c => c.status === 'failed', 15_000, 'verify-phone to fail')

  browser = await launchChromium()
  page = seen.watch(await browser.context.newPage())
  mkdirSync(screenshotDir, { recursive: true })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await braid?.close()
  await db?.drop()
})

describe('the console\'s Commands page', () => {
  it('the console\'s types should fit what the API answers', async () => {
    const fromServer: CommandView = await command(sent.watched)
    const forConsole: ConsoleCommandView = fromServer
    expect(forConsole.statusUrl).toBe(`/commands/${sent.watched}`)
    const overview = await api<CommandsOverview>('/-/commands')
    expect(overview.definitions.map(d => d.name).sort()).toEqual(['set-phone', 'verify-phone'])
    expect(overview.targets['crm']?.circuit.state).toBe('closed')
  })

  it('should list the definitions with their target and circuit, and the recent commands with status, attempts, age and error', async () => {
    await open(page, '/commands')
    const definitions = page.locator('[data-testid=command-definitions]')
    await definitions.waitFor()
    expect(await page.locator('nav a[aria-current=page]').textContent()).toBe('Commands')
    for (const name of ['set-phone', 'verify-phone']) {
      const row = definitions.locator(`tr[data-name="${name}"]`)
      expect(await row.textContent()).toContain('crm (postgres)')
      expect(await row.locator('[data-testid=circuit]').textContent()).toContain('closed')
    }
    await definitions.locator('tr[data-name="verify-phone"]').getByRole('button', { name: 'Schema' }).click()
    expect(await definitions.locator('tr.detail').textContent()).toContain('customerId')
    expect(await page.locator('[data-testid=command-counts] [data-status=failed] dd').textContent()).toBe('1')

    const table = page.locator('[data-testid=command-table]')
    await table.waitFor()
    expect(await table.locator('tbody tr').count()).toBe(2)
    const poison = table.locator(`tr[data-id="${sent.poison}"]`)
    expect(await poison.locator('[data-testid=command-status]').textContent()).toBe('failed')
    expect(await poison.textContent()).toContain('BRAID_COMMAND_REJECTED')
    expect(await poison.textContent()).toContain('phone_verified_at')
    expect(await poison.locator('td').first().textContent()).toMatch(/^(just now|\d+ s ago)$/)
    const watched = table.locator(`tr[data-id="${sent.watched}"]`)
    expect(await watched.locator('[data-testid=command-status]').textContent()).toBe('succeeded')
    expect(await watched.locator('td').nth(4).textContent()).toBe('1')
    await screenshot(page, 'commands')

    await page.locator('select[name=status]').selectOption('failed')
    await until(async () => await table.locator('tbody tr').count(), n => n === 1, 10_000, 'the failed commands only')
    expect(page.url()).toContain('status=failed')
    expect(await table.locator(`tr[data-id="${sent.poison}"]`).count()).toBe(1)
    await page.locator('select[name=status]').selectOption('running')
    await page.locator('[data-testid=recent-commands] [data-testid=empty]').waitFor()
    expect(await page.locator('[data-testid=recent-commands] [data-testid=empty]').textContent()).toContain('No running commands')
    seen.expectClean()
  })

  it('a command\'s page should show its payload, result, and waitFor stages', async () => {
    await open(page, `/commands/${sent.watched}`)
    const stages = page.locator('[data-testid=wait-for]')
    await stages.waitFor()
    expect(await stages.getAttribute('data-stage')).toBe('reached')
    expect(await stages.locator('li.done').count()).toBe(4)
    expect(await stages.textContent()).toContain('in the view since')
    expect(await page.locator('h1').textContent()).toContain('set-phone')
    expect(await page.locator('.split').locator('[data-testid=json]').first().textContent()).toContain('+44 20 7946 0000')
    expect(await page.locator('[data-testid=command-result]').textContent()).toContain('UPDATE')
    expect(await page.locator('[data-testid=command-facts]').textContent()).toContain('closed')
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0)
    await screenshot(page, 'command')
    seen.expectClean()
  })

  it('a dead letter retried before the fix should fail again, and succeed once the database is migrated', async () => {
    // From the command's page, before the fix: the outcome is the same rejection.
    await open(page, `/commands/${sent.poison}`)
    const error = page.locator('[data-testid=command-error]')
    await error.waitFor()
    expect(await error.textContent()).toContain('BRAID_COMMAND_REJECTED')
    expect(await error.textContent()).toContain('rejected: the target refused the command')
    expect(await page.locator('[data-testid=command-result]').textContent()).toContain('No result: the command failed.')
    await page.getByRole('button', { name: 'Retry' }).click()
    await page.getByText('Retry: queued again as a new run.').waitFor()
    await until(async () => await command(sent.poison), c => c.status === 'failed' && c.retries === 1, 15_000, 'the first retry to fail')
    // The page follows the new run until it has finished (not stopping at the failed run before it).
    const shown = async (): Promise<[string | null, string | null]> => [await page.locator('[data-testid=command-status]').textContent(), await page.locator('[data-testid=command-facts]').textContent()]
    await until(shown, ([status, facts]) => status === 'failed' && facts?.includes('retried 1×') === true, 10_000, 'the page to show the retry failed')
    expect(await page.locator('[data-testid=command-error]').textContent()).toContain('phone_verified_at')

    // The dead letters tab: the same command; after the migration its retry succeeds.
    await open(page, '/commands?tab=dead-letters')
    const row = page.locator(`[data-testid=dead-letter-commands] tr[data-id="${sent.poison}"]`)
    await row.waitFor()
    expect(await row.textContent()).toContain('verify-phone')
    expect(await row.textContent()).toContain('retried 1×')
    expect(await page.getByRole('tab', { name: 'Dead letters (1)' }).count()).toBe(1)
    await screenshot(page, 'command-dead-letters')
    await db.client.query('ALTER TABLE customers ADD COLUMN phone_verified_at timestamptz')
    await row.getByRole('button', { name: 'Retry' }).click()
    const outcome = page.locator('[data-testid=retry-outcome][data-status=succeeded]')
    await outcome.waitFor({ timeout: 15_000 })
    expect(await outcome.textContent()).toContain('Retry of verify-phone: succeeded.')
    await page.locator('[data-testid=command-dead-letters] [data-testid=empty]').waitFor({ timeout: 10_000 })
    expect(await page.locator('[data-testid=command-dead-letters] [data-testid=empty]').textContent()).toContain('No dead letters')

    const done = await command(sent.poison)
    expect(done).toMatchObject({ status: 'succeeded', retries: 2, result: { statements: [{ command: 'UPDATE', rowCount: 1, rows: [{ customer_id: 2 }] }] } })
    const rows = await db.client.query<{ phone: string, verified: boolean }>('SELECT phone, phone_verified_at IS NOT NULL AS verified FROM customers WHERE customer_id = 2')
    expect(rows.rows).toEqual([{ phone: '+44 20 7946 0001', verified: true }])
    seen.expectClean()
  })

  it('is usable on a narrow screen (390×844): no sideways scrolling', async () => {
    if (browser === undefined) throw new Error('no browser')
    const narrow = seen.watch(await browser.context.newPage())
    try {
      await narrow.setViewportSize({ width: 390, height: 844 })
      for (const hash of ['/commands', '/commands?tab=dead-letters', `/commands/${sent.watched}`]) {
        await open(narrow, hash)
        await narrow.locator('[data-testid^=page-command]').first().waitFor()
        await narrow.locator('table, [data-testid=wait-for]').first().waitFor()
        expect(await horizontalOverflow(narrow), `horizontal overflow on ${hash}`).toBeLessThanOrEqual(0)
      }
    } finally {
      await narrow.close()
    }
    seen.expectClean()
  })

  it('without a commands: section, the page should say so plainly', async () => {
    const config = pipelineConfig({})
    delete config['commands']
    const plain = await startBraid(writeConfig(config))
    try {
      const plainBase = await serve(plain)
      expect((await fetch(`${plainBase}/-/commands`)).status).toBe(404)
      await page.goto('about:blank')
      await page.goto(`${plainBase}/console/#/commands`)
      const empty = page.locator('[data-testid=page-commands] [data-testid=empty]')
      await empty.waitFor()
      expect(await empty.textContent()).toContain('This pipeline has no commands: section, so braid accepts no commands')
    } finally {
      await page.goto('about:blank')
      await plain.close()
    }
    seen.expectClean([notFound])
  })
})
