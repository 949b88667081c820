import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PipelineDescription as ConsolePipeline, UnmappedField } from '../../console/src/types.ts'
import { buildApp } from '../../src/api/app.ts'
import { describePipeline, type PipelineDescription } from '../../src/api/routes/pipeline.ts'
import { silentLogger } from '../../src/logger.ts'
import { customerRow, openPipeline, retail, retailConfig, tempDir, topics, waitFor, type Running } from '../runtime/harness.ts'

let running: Running
let app: FastifyInstance

beforeAll(async () => {
  running = await openPipeline(retailConfig, tempDir())
  app = await buildApp(running.service, { logger: silentLogger() })
})

afterAll(async () => {
  await app?.close()
  await running?.close()
})

describe('GET /-/pipeline', () => {
  it('describes systems, topics, projections, views and relations of the retail example', async () => {
    const res = await app.inject({ method: 'GET', url: '/-/pipeline' })
    expect(res.statusCode).toBe(200)
    const body = res.json<PipelineDescription>()
    expect(body.system).toBe('retail')
    expect(body.systems).toEqual([{ name: 'retail', projections: ['customers', 'tiers', 'orders', 'order_lines', 'preferences'] }])
    expect(body.topics.find(t => t.name === topics.customers)).toEqual({ name: topics.customers, projections: ['customers'] })
    const customers = body.projections.find(p => p.name === 'customers')
    expect(customers).toMatchObject({ topic: topics.customers, format: 'debezium', key: ['customerId'], softDelete: true })
    expect(customers?.fields).toContainEqual({ source: 'created_at', target: 'registeredAt', cast: 'castUnixTimestampToISOString' })
    const view = body.singleViews[0]
    expect(view).toMatchObject({ name: 'customer_sv', key: { email: 'email' }, baseProjection: 'customers', validator: true, patches: ['tiers'] })
    expect([...view?.reads ?? []].sort()).toEqual(['customers', 'order_lines', 'orders', 'preferences', 'tiers'])
    expect(view?.blocks.map(b => b.join ?? null)).toEqual([null, 'orders', 'order_lines'])
    expect(view?.blocks[0]?.fields).toContainEqual({ name: 'memberSince', from: 'customers.registeredAt' })
    expect(view?.blocks[0]?.fields).toContainEqual({ name: 'orders', from: 'block orders' })
    expect(body.relations).toContainEqual({ name: 'customer_orders', from: 'customers', to: 'orders', oneToMany: true, condition: { customerId: 'customerId' } })
  })

  it('is the description the console reads (a compile-time check that the shapes agree)', () => {
    const forConsole: ConsolePipeline = describePipeline(running.pipeline)
    expect(forConsole.projections).toHaveLength(5)
  })
})

describe('GET /-/unmapped-fields', () => {
  it('counts source fields the mapping does not list, per projection, without their values', async () => {
    const row = { ...customerRow(1), loyalty_points: 'secret-value-42' }
    await running.service.ingest(topics.customers, [retail.customer(row), retail.customer({ ...customerRow(2), loyalty_points: 'x' })])
    const report = await waitFor(async () => {
      const res = await app.inject({ method: 'GET', url: '/-/unmapped-fields?projection=customers' })
      const list = res.json<UnmappedField[]>()
      return list.length > 0 ? { res, list } : undefined
    }, 'the unmapped-field report')
    expect(report.res.statusCode).toBe(200)
    expect(report.list).toEqual([expect.objectContaining({ projection: 'customers', field: 'loyalty_points', type: 'UNKNOWN_FIELD', count: 2 })])
    expect(report.res.body).not.toContain('secret-value-42')
    const all = await app.inject({ method: 'GET', url: '/-/unmapped-fields' })
    expect(all.json<UnmappedField[]>().map(u => u.field)).toContain('loyalty_points')
  })

  it('answers 404 for an unknown projection', async () => {
    const res = await app.inject({ method: 'GET', url: '/-/unmapped-fields?projection=nope' })
    expect(res.statusCode).toBe(404)
  })
})
