/**
 * The polling source against a real server (BRAID_PG_URL): new and changed rows within an interval,
 * paging, deletes found by the key scan, restart from the persisted cursor, query problems.
 */
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Doc } from '../../../src/model/document.ts'
import { readTopic, tempDir, waitFor } from '../../runtime/harness.ts'
import { createTestDatabase, projectionRows, startSourcePipeline, waitStreaming, writeConfig, type TestDatabase } from './helpers.ts'

let db: TestDatabase
beforeAll(async () => { db = await createTestDatabase() }, 30_000)
afterAll(async () => { await db?.drop() }, 30_000)

const intervalMs = 300

function config (table: string, extra = ''): string {
  return writeConfig(`
version: 1
projections:
  products:
    topic: t.${table}
    key: id
    fields: { id: castToInteger, name: castToString, price: castToFloat }
sources:
  legacy:
    kind: polling
    url: ${db.url}
    query: SELECT id, name, price, updated_at FROM ${table};
    incrementalColumn: updated_at
    key: id
    topic: t.${table}
    intervalMs: ${intervalMs}
    batchSize: 25
${extra}`)
}

async function tableRows (table: string): Promise<Doc[]> {
  return (await db.query(`SELECT id, name, price::float8 AS price FROM ${table} ORDER BY id`)).rows as Doc[]
}

describe('polling source', () => {
  it('should pick up inserts and updates within an interval and find deletes with the key scan', async () => {
    await db.query('CREATE TABLE products (id int PRIMARY KEY, name text, price numeric(8,2), updated_at timestamptz NOT NULL DEFAULT clock_timestamp())')
    await db.query("INSERT INTO products (id, name, price) SELECT g, 'p' || g, g FROM generate_series(1, 110) g")
    const p = await startSourcePipeline(config('products', '    deleteScan: { everyMs: 1000 }\n'))
    try {
      await waitStreaming(p.sources)
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'products', 'id'), await tableRows('products')), 'every row polled (in pages of 25)')

      await db.query("INSERT INTO products (id, name, price) VALUES (500, 'new', 9.5)")
      await db.query("UPDATE products SET name = 'renamed', updated_at = clock_timestamp() WHERE id = 3")
      const changedAt = Date.now()
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'products', 'id'), await tableRows('products')), 'insert and update polled', intervalMs + 5000)
      const tookMs = Date.now() - changedAt
      process.stdout.write(`polling: insert and update visible in the projection after ${tookMs} ms (interval ${intervalMs} ms)\n`)

      await db.query('DELETE FROM products WHERE id IN (4, 5)')
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'products', 'id'), await tableRows('products')), 'deletes found by the key scan', 10_000)
      const deleted = await p.engines.store.find('products', { id: 4 })
      expect(deleted[0]?.['__STATE__']).toBe('DELETED')

      const status = p.sources.status()['legacy']
      expect(status).toMatchObject({ kind: 'polling', state: 'polling', lastError: null, warnings: [] })
      expect(status?.lastEventAt).not.toBeNull()
      expect(status?.lagSeconds).toBeLessThan(10)
      expect(status?.position).toBeNull()
    } finally {
      await p.close()
    }
  }, 60_000)

  it('should resume after the persisted cursor on restart, without reading old rows again', async () => {
    await db.query('CREATE TABLE gadgets (id int PRIMARY KEY, name text, price numeric(8,2), updated_at timestamptz NOT NULL DEFAULT clock_timestamp())')
    await db.query("INSERT INTO gadgets (id, name, price) SELECT g, 'g' || g, g FROM generate_series(1, 30) g")
    const file = config('gadgets')
    const dataDir = tempDir('braid-poll-restart-')
    let p = await startSourcePipeline(file, dataDir)
    await waitFor(async () => (await projectionRows(p, 'products', 'id')).length === 30, 'first poll')
    expect((await readTopic(p.engines.log, 't.gadgets')).length).toBe(30)
    expect(p.sources.status()['legacy']?.warnings.join(' ')).toMatch(/no deleteScan/)
    await p.close()

    await db.query("UPDATE gadgets SET price = 99, updated_at = clock_timestamp() WHERE id = 7")
    p = await startSourcePipeline(file, dataDir)
    try {
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'products', 'id'), await tableRows('gadgets')), 'the change made while stopped')
      await new Promise(resolve => setTimeout(resolve, intervalMs * 2))
      expect((await readTopic(p.engines.log, 't.gadgets')).length).toBe(31)
    } finally {
      await p.close()
    }
  }, 60_000)

  it('a query that does not run, or lacks the incremental or key column, should be BRAID_SOURCE_INVALID', async () => {
    await expect(startSourcePipeline(config('no_such_table'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_INVALID',
      message: expect.stringMatching(/the polling query does not run: relation "no_such_table" does not exist/)
    })
    await db.query('CREATE TABLE partial (id int PRIMARY KEY, name text, price numeric)')
    await expect(startSourcePipeline(config('partial'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_INVALID',
      message: expect.stringMatching(/the polling query does not run: column "updated_at" does not exist/)
    })
    const file = writeConfig(`
version: 1
projections:
  products: { topic: t.x, key: id, fields: { id: null } }
sources:
  legacy:
    kind: polling
    url: ${db.url}
    query: SELECT id FROM partial
    incrementalColumn: id
    key: [id, name]
    topic: t.x
`)
    await expect(startSourcePipeline(file)).rejects.toMatchObject({
      code: 'BRAID_SOURCE_INVALID',
      message: expect.stringContaining('the polling query has no column "name"')
    })
  }, 30_000)
})
