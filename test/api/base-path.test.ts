import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { customerRow, openPipeline, retail, retailConfig, tempDir, topics, type Running } from '../runtime/harness.ts'

let running: Running
let app: FastifyInstance

/** The retail example with mount paths for customer_sv and the customers projection. */
function retailWithBasePaths (): string {
  const dir = tempDir()
  cpSync(join(dirname(retailConfig), 'functions'), join(dir, 'functions'), { recursive: true })
  const text = readFileSync(retailConfig, 'utf8')
    .replace('  customers:\n    topic: crm.public.customers\n', '  customers:\n    topic: crm.public.customers\n    endpointBasePath: /crm/customers\n')
    .replace('  customer_sv:\n    base: customers', '  customer_sv:\n    endpointBasePath: /customers-sv\n    base: customers')
  expect(text).toContain('endpointBasePath: /crm/customers')
  expect(text).toContain('endpointBasePath: /customers-sv')
  const file = join(dir, 'braid.yaml')
  writeFileSync(file, text)
  return file
}

async function answer (url: string, accept?: string): Promise<{ status: number, contentType: unknown, body: string }> {
  const res = await app.inject({ method: 'GET', url, ...(accept === undefined ? {} : { headers: { accept } }) })
  return { status: res.statusCode, contentType: res.headers['content-type'], body: res.body }
}

beforeAll(async () => {
  running = await openPipeline(retailWithBasePaths(), tempDir())
  app = await buildApp(running.service, { logger: silentLogger() })
  await running.service.ingest(topics.tiers, [retail.tier('gold', 'Gold', 10), retail.tier('bronze', 'Bronze', 0)])
  await running.service.ingest(topics.customers, [1, 2, 3, 4].map(i => retail.customer(customerRow(i, { tier_code: i % 2 === 0 ? 'gold' : 'bronze' }))))
  await running.service.idle()
})

afterAll(async () => {
  await app?.close()
  await running?.close()
})

describe('endpointBasePath', () => {
  it('mounts the read routes of a view and of a projection there, answering as the default mounts do', async () => {
    const [view] = JSON.parse((await answer('/single-views/customer_sv/?customerId=2')).body) as Doc[]
    const [record] = JSON.parse((await answer('/projections/customers/?customerId=3')).body) as Doc[]
    const q = encodeURIComponent('{"tier.code":"gold"}')
    const cases: Array<[string, string]> = [
      ['/single-views/customer_sv', '/customers-sv'],
      ['/projections/customers', '/crm/customers']
    ]
    for (const [base, mounted] of cases) {
      const suffixes = [
        '/', '', '?_s=-customerId&_l=2', `/?_q=${q}`, '/?tierCode=gold', '/count', `/count?_q=${q}`, '/count?_st=DELETED',
        '/export', '/export?_s=customerId&_p=email', '/schema', `/${String(base.startsWith('/single') ? view?.['_id'] : record?.['_id'])}`,
        '/65f0000000000000000000ff', '/?_l=500', '/?_st=GONE'
      ]
      for (const suffix of suffixes) {
        const expected = await answer(`${base}${suffix}`)
        const actual = await answer(`${mounted}${suffix}`)
        expect(actual, `${mounted}${suffix}`).toEqual(expected)
      }
      for (const accept of ['text/csv', 'application/json', 'image/png']) {
        expect(await answer(`${mounted}/export`, accept), `${mounted} ${accept}`).toEqual(await answer(`${base}/export`, accept))
      }
    }
    expect(JSON.parse((await answer('/customers-sv/?_s=customerId')).body)).toHaveLength(4)
    expect((await answer('/crm/customers/count')).body).toBe('4')
  })

  it('adds no route to collections without one, and leaves the default mounts in place', async () => {
    for (const url of ['/customers-sv/lineage?email=customer.1@example.com', '/crm/orders/', '/crm/', '/crm', '/tiers/']) {
      const res = await answer(url)
      expect(res.status, url).toBe(404)
      expect(JSON.parse(res.body), url).toEqual({ error: 'not found' })
    }
    expect((await answer('/single-views/customer_sv/count')).body).toBe('4')
    expect((await answer('/projections/tiers/count')).body).toBe('2')
  })

  it('serves only reads', async () => {
    for (const method of ['POST', 'PATCH', 'DELETE', 'PUT'] as const) {
      const res = await app.inject({ method, url: '/customers-sv/', payload: { email: 'x' } })
      expect(res.statusCode, method).toBe(404)
    }
  })
})
