import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { silentLogger } from '../../src/logger.ts'
import { waitFor } from '../runtime/harness.ts'
import { mustValue, parseExposition } from '../runtime/metrics-exposition.ts'
import { createTestDatabase, startSourcePipeline, waitStreaming, writeConfig, type SourcePipeline, type TestDatabase } from '../connectors/postgres/helpers.ts'

let db: TestDatabase
let p: SourcePipeline
let app: FastifyInstance

beforeAll(async () => {
  db = await createTestDatabase()
  await db.query('CREATE TABLE customers (id int PRIMARY KEY, email text)')
  await db.query("INSERT INTO customers VALUES (1, 'a@x'), (2, 'b@x')")
  await db.query('CREATE TABLE legacy (id int PRIMARY KEY, v int, changed int)')
  p = await startSourcePipeline(writeConfig(`
version: 1
projections:
  customers: { topic: t.customers, key: id, fields: { id: null, email: null } }
  legacy: { topic: t.legacy, key: id, fields: { id: null, v: null } }
singleViews:
  customer_sv: { base: customers, key: id, view: { id: customers.id, email: customers.email } }
sources:
  shop:
    kind: postgres
    url: ${db.url}
    tables:
      customers: { topic: t.customers }
  old:
    kind: polling
    url: ${db.url}
    query: SELECT id, v, changed FROM legacy
    incrementalColumn: changed
    key: id
    topic: t.legacy
    intervalMs: 200
`))
  await waitStreaming(p.sources)
  app = await buildApp(p.service, { logger: silentLogger() })
}, 60_000)

afterAll(async () => {
  await app?.close()
  await p?.close()
  await db?.drop()
}, 30_000)

describe('the sources routes', () => {
  it('GET /-/sources should give every source\'s status, and /-/status and /-/metrics should include them', async () => {
    const res = await app.inject({ method: 'GET', url: '/-/sources' })
    expect(res.statusCode).toBe(200)
    const body = res.json() as Record<string, { kind: string, state: string, connection: string }>
    expect(Object.keys(body).sort()).toEqual(['old', 'shop'])
    expect(body['shop']).toMatchObject({ kind: 'postgres', state: 'streaming' })
    expect(body['old']).toMatchObject({ kind: 'polling', state: 'polling' })
    expect(body['shop']?.connection).not.toContain('braid@')
    const one = await app.inject({ method: 'GET', url: '/-/sources/shop' })
    expect(one.json()).toMatchObject({ kind: 'postgres', tables: { 'public.customers': { topic: 't.customers', snapshot: { status: 'done', rows: 2 } } } })
    expect((await app.inject({ method: 'GET', url: '/-/sources/nope' })).statusCode).toBe(404)
    const status = (await app.inject({ method: 'GET', url: '/-/status' })).json() as { sources?: Record<string, unknown> }
    expect(Object.keys(status.sources ?? {}).sort()).toEqual(['old', 'shop'])
    const metrics = parseExposition((await app.inject({ method: 'GET', url: '/-/metrics' })).body)
    expect(mustValue(metrics, 'braid_source_state', { source: 'shop', state: 'streaming' })).toBe(1)
    expect(mustValue(metrics, 'braid_source_state', { source: 'shop', state: 'error' })).toBe(0)
    expect(mustValue(metrics, 'braid_source_events_total', { source: 'shop', table: 'public.customers' })).toBe(2)
    expect(mustValue(metrics, 'braid_source_snapshot_total_rows', { source: 'shop', table: 'public.customers' })).toBe(2)
    expect(mustValue(metrics, 'braid_source_lag_bytes', { source: 'shop' })).toBeGreaterThanOrEqual(0)
    expect(mustValue(metrics, 'braid_source_lag_seconds', { source: 'old' })).toBeGreaterThanOrEqual(0)
    expect(mustValue(metrics, 'braid_source_last_event_timestamp_seconds', { source: 'shop' })).toBeGreaterThan(1_600_000_000)
  })

  it('POST /-/sources/{name}/tables/{table}/resnapshot should answer 202 and the table should be read again', async () => {
    const res = await app.inject({ method: 'POST', url: '/-/sources/shop/tables/customers/resnapshot' })
    expect(res.statusCode).toBe(202)
    expect(res.json()).toMatchObject({ source: 'shop', table: 'public.customers' })
    await waitFor(() => {
      const snap = p.sources.status()['shop']?.tables['public.customers']?.snapshot
      return snap?.reason === 'resnapshot' && snap.status === 'done'
    }, 're-snapshot done', 20_000)
  })

  it('a re-snapshot of an unknown source, an unknown table or a polling source should be refused', async () => {
    expect((await app.inject({ method: 'POST', url: '/-/sources/nope/tables/customers/resnapshot' })).statusCode).toBe(404)
    const table = await app.inject({ method: 'POST', url: '/-/sources/shop/tables/nope/resnapshot' })
    expect(table.statusCode).toBe(400)
    expect(table.json()).toMatchObject({ code: 'BRAID_SOURCE_INVALID', message: expect.stringContaining('captures no table "nope"') })
    const polling = await app.inject({ method: 'POST', url: '/-/sources/old/tables/legacy/resnapshot' })
    expect(polling.statusCode).toBe(400)
    expect(polling.json()).toMatchObject({ code: 'BRAID_SOURCE_INVALID', message: expect.stringContaining('polling source') })
  })
})
