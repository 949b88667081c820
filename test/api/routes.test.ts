import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { projectionSchema, singleViewSchema } from '../../src/api/schema.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import { SystemCollection } from '../../src/runtime/collections.ts'
import { version } from '../../src/version.ts'
import { customerRow, debezium, openPipeline, readTopic, retail, retailConfig, runtimeFixtures, tempDir, topicSize, topics, type CustomerRow, type Running } from '../runtime/harness.ts'

let running: Running
let app: FastifyInstance

const customers = [
  customerRow(1, { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', tier_code: 'gold' }),
  customerRow(2, { email: 'alan@example.com', first_name: 'Alan', last_name: 'Turing', tier_code: 'silver' }),
  customerRow(3, { email: 'grace@example.com', first_name: 'Grace', last_name: 'Hopper', tier_code: 'gold' }),
  customerRow(4, { email: 'linus@example.com', first_name: 'Linus', last_name: 'Torvalds', tier_code: 'bronze' }),
  customerRow(5, { email: 'barbara@example.com', first_name: 'Barbara', last_name: 'Liskov', tier_code: 'silver' })
]

async function get (url: string): Promise<{ status: number, body: unknown, text: string, contentType: string | undefined }> {
  const res = await app.inject({ method: 'GET', url })
  return { status: res.statusCode, body: res.body === '' ? undefined : res.json(), text: res.body, contentType: res.headers['content-type'] as string | undefined }
}

async function post (url: string, payload?: unknown): Promise<{ status: number, body: Doc }> {
  const res = await app.inject({ method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as Doc }) })
  return { status: res.statusCode, body: res.json() }
}

/** The error shape of every non-404 error answer. */
function expectError (body: unknown, statusCode: number, code: string): Doc {
  expect(body).toMatchObject({ statusCode, code, error: statusCode === 404 ? 'Not Found' : 'Bad Request' })
  expect(typeof (body as Doc)['message']).toBe('string')
  return body as Doc
}

const emails = (body: unknown): string[] => (body as Doc[]).map(d => String(d['email']))

describe('the HTTP API before the pipeline starts', () => {
  it('answers healthz at once and ready with 503 until the service consumes, then 200', async () => {
    const r = await openPipeline(retailConfig, tempDir(), { start: false })
    const early = await buildApp(r.service, { logger: silentLogger() })
    try {
      const health = await early.inject({ method: 'GET', url: '/-/healthz' })
      expect(health.statusCode).toBe(200)
      expect(health.json()).toMatchObject({ status: 'OK', name: 'braid' })
      const before = await early.inject({ method: 'GET', url: '/-/ready' })
      expect(before.statusCode).toBe(503)
      expect(before.json()).toMatchObject({ status: 'KO', name: 'braid' })
      await r.service.start()
      const after = await early.inject({ method: 'GET', url: '/-/ready' })
      expect(after.statusCode).toBe(200)
      expect(after.json()).toMatchObject({ status: 'OK', name: 'braid', details: { started: true, store: { ok: true }, eventLog: { ok: true } } })
      await r.service.stop()
      expect((await early.inject({ method: 'GET', url: '/-/ready' })).statusCode).toBe(503)
    } finally {
      await early.close()
      await r.close()
    }
  })

  it('answers check-up with 503 and a message until the service consumes, then 200', async () => {
    const r = await openPipeline(retailConfig, tempDir(), { start: false })
    const early = await buildApp(r.service, { logger: silentLogger() })
    try {
      const before = await early.inject({ method: 'GET', url: '/-/check-up' })
      expect(before.statusCode).toBe(503)
      expect(before.json()).toEqual({ status: 'KO', name: 'braid', version, message: 'the pipeline is not consuming its topics' })
      await r.service.start()
      const after = await early.inject({ method: 'GET', url: '/-/check-up' })
      expect(after.statusCode).toBe(200)
      expect(after.json()).toEqual({ status: 'OK', name: 'braid', version })
      await r.service.stop()
    } finally {
      await early.close()
      await r.close()
    }
  })

  it('lists the views, projections and ingest topics at /', async () => {
    const r = await openPipeline(retailConfig, tempDir(), { start: false })
    const early = await buildApp(r.service, { logger: silentLogger() })
    try {
      const index = await early.inject({ method: 'GET', url: '/' })
      expect(index.statusCode).toBe(200)
      const body = index.json() as { singleViews: Doc[], projections: Doc[] }
      expect(body.singleViews).toEqual([{ name: 'customer_sv', url: '/single-views/customer_sv/' }])
      expect(body.projections).toContainEqual({ name: 'orders', topic: 'shop.public.orders', url: '/projections/orders/', ingest: '/ingest/shop.public.orders' })
      expect(body.projections).toHaveLength(5)
    } finally {
      await early.close()
      await r.close()
    }
  })
})

describe('the HTTP API on the retail pipeline', () => {
  let deletedId: string

  beforeAll(async () => {
    running = await openPipeline(retailConfig, tempDir())
    app = await buildApp(running.service, { logger: silentLogger() })
    const send = async (topic: string, messages: unknown[]): Promise<void> => {
      const res = await post(`/ingest/${topic}`, messages)
      expect(res.status).toBe(202)
      expect(res.body).toEqual({ appended: messages.length })
    }
    await send(topics.tiers, [retail.tier('bronze', 'Bronze', 0), retail.tier('silver', 'Silver', 5), retail.tier('gold', 'Gold', 10)])
    await send(topics.customers, customers.map(c => retail.customer(c)))
    await send(topics.preferences, [retail.preferences('ada@example.com', true, [{ channel: 'email', optIn: true }])])
    await send(topics.orders, [retail.order(100, 1, '52.54'), retail.order(101, 1, '10.00', 'paid')])
    await send(topics.orderLines, [retail.line(100, 1, 'MUG-LOGO', 2, 12.5), retail.line(100, 2, 'CAP-NAVY', 1, 22)])
    await running.service.idle()
    // A virtually deleted view, as a `virtualDelete` view leaves it.
    const _id = '65f000000000000000000001'
    deletedId = _id
    await running.service.store.write({
      put: [{ collection: 'customer_sv', id: keyId({ email: 'gone@example.com' }, ['email']), doc: { _id, email: 'gone@example.com', customerId: 99, __STATE__: 'DELETED', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' } }]
    })
  })

  afterAll(async () => {
    await app?.close()
    await running?.close()
  })

  describe('POST /ingest/{topic}', () => {
    it('answers 400 BRAID_INGEST_INVALID when the body is not an array', async () => {
      const res = await post(`/ingest/${topics.customers}`, { key: 1, value: 2 })
      expect(res.status).toBe(400)
      expectError(res.body, 400, 'BRAID_INGEST_INVALID')
    })

    it('rejects the whole batch with a reason per malformed message and appends nothing', async () => {
      const sizeBefore = await topicSize(running.service.log, topics.customers)
      const messages = [
        retail.customer(customerRow(50)),
        { key: { customer_id: 51 }, value: { op: 'x', after: customerRow(51) } },
        retail.customer(customerRow(52)),
        { key: null, value: { op: 'c', before: null, after: { ...customerRow(53), customer_id: null } } },
        { key: { customer_id: 54 }, value: 'not json' }
      ]
      const res = await post(`/ingest/${topics.customers}`, messages)
      expect(res.status).toBe(400)
      const body = expectError(res.body, 400, 'BRAID_INGEST_INVALID')
      expect(body['message']).toContain('nothing was appended')
      const reasons = (body['details'] as { messages: Array<{ index: number, code: string, reason: string }> }).messages
      expect(reasons.map(m => [m.index, m.code])).toEqual([[1, 'BRAID_DECODE_FAILED'], [3, 'BRAID_KEY_MISSING'], [4, 'BRAID_DECODE_FAILED']])
      expect(reasons[0]?.reason).toContain('op')
      expect(reasons[1]?.reason).toContain('customer_id')
      expect(await topicSize(running.service.log, topics.customers)).toBe(sizeBefore)
      await running.service.idle()
      expect(await running.service.store.count('customers', { customerId: { $in: [50, 52] } })).toBe(0)
    })

    it('rejects messages that are not objects or have no value, naming their index', async () => {
      const sizeBefore = await topicSize(running.service.log, topics.customers)
      const res = await post(`/ingest/${topics.customers}`, [retail.customer(customerRow(60)), 'text', { key: { customer_id: 61 } }])
      expect(res.status).toBe(400)
      const body = expectError(res.body, 400, 'BRAID_INGEST_INVALID')
      expect((body['details'] as { messages: Array<{ index: number }> }).messages.map(m => m.index)).toEqual([1, 2])
      expect(await topicSize(running.service.log, topics.customers)).toBe(sizeBefore)
    })

    it.each([['yesterday'], [-5], [1e20], ['99999999999999999999']])('rejects the timestamp %s, which no date can hold', async timestamp => {
      const sizeBefore = await topicSize(running.service.log, topics.customers)
      const res = await post(`/ingest/${topics.customers}`, [{ ...retail.customer(customerRow(62)), timestamp }])
      expect(res.status).toBe(400)
      const body = expectError(res.body, 400, 'BRAID_INGEST_INVALID')
      expect((body['details'] as { messages: unknown[] }).messages).toMatchObject([{ index: 0, reason: 'timestamp must be epoch milliseconds or an ISO-8601 date' }])
      expect(await topicSize(running.service.log, topics.customers)).toBe(sizeBefore)
    })

    it('accepts timestamps as epoch milliseconds, digit strings and ISO dates', async () => {
      const rows = [customerRow(63), customerRow(64), customerRow(65)]
      const res = await post(`/ingest/${topics.customers}`, [
        { ...retail.customer(rows[0] as CustomerRow), timestamp: 1_700_000_000_000 },
        { ...retail.customer(rows[1] as CustomerRow), timestamp: '1700000000001' },
        { ...retail.customer(rows[2] as CustomerRow), timestamp: '2023-11-14T22:13:20.002Z' }
      ])
      expect(res.status).toBe(202)
      const appended = (await readTopic(running.service.log, topics.customers)).slice(-3)
      expect(appended.map(r => r.timestamp)).toEqual([1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002])
      await running.service.idle()
      // Leave the five customers of the other tests.
      await post(`/ingest/${topics.customers}`, rows.map(r => retail.deleteCustomer(r)))
      await running.service.idle()
      expect(await running.service.store.count('customer_sv', { customerId: { $in: [63, 64, 65] } })).toBe(0)
    })

    it('answers 404 BRAID_UNKNOWN_TOPIC listing the configured topics for a topic no projection consumes', async () => {
      const res = await post('/ingest/crm.public.unknown', [retail.customer(customerRow(70))])
      expect(res.status).toBe(404)
      const body = expectError(res.body, 404, 'BRAID_UNKNOWN_TOPIC')
      expect(body['message']).toContain(topics.customers)
    })

    it('answers 400 on a body that is not JSON', async () => {
      const res = await app.inject({ method: 'POST', url: `/ingest/${topics.customers}`, payload: '[{', headers: { 'content-type': 'application/json' } })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' })
    })
  })

  describe('GET /single-views/{name}/', () => {
    it('answers a JSON array of the PUBLIC views without internal fields', async () => {
      const res = await get('/single-views/customer_sv/')
      expect(res.status).toBe(200)
      expect(res.contentType).toMatch(/^application\/json/)
      expect(emails(res.body).sort()).toEqual(customers.map(c => c.email).sort())
      const ada = (res.body as Doc[]).find(d => d['email'] === 'ada@example.com')
      expect(ada).toMatchObject({
        email: 'ada@example.com',
        customerId: 1,
        firstName: 'Ada',
        tier: { code: 'gold', name: 'Gold', discountPct: 10 },
        marketing: { newsletter: true, channels: [{ channel: 'email', optIn: true }] },
        __STATE__: 'PUBLIC'
      })
      expect(ada?.['orders']).toEqual([
        { orderId: 100, status: 'placed', total: 52.54, currency: 'EUR', placedAt: '2023-11-14T22:13:20.000Z', lines: [{ lineNo: 1, sku: 'MUG-LOGO', quantity: 2, unitPrice: 12.5 }, { lineNo: 2, sku: 'CAP-NAVY', quantity: 1, unitPrice: 22 }] },
        { orderId: 101, status: 'paid', total: 10, currency: 'EUR', placedAt: '2023-11-14T22:13:20.000Z', lines: [] }
      ])
      for (const doc of res.body as Doc[]) expect(Object.keys(doc).filter(k => k.startsWith('__internal__'))).toEqual([])
    })

    it('filters with _q', async () => {
      const res = await get(`/single-views/customer_sv/?_q=${encodeURIComponent('{"tier.code":"gold"}')}`)
      expect(res.status).toBe(200)
      expect(emails(res.body).sort()).toEqual(['ada@example.com', 'grace@example.com'])
      const ranged = await get(`/single-views/customer_sv/?_q=${encodeURIComponent('{"customerId":{"$gte":4}}')}`)
      expect(emails(ranged.body).sort()).toEqual(['barbara@example.com', 'linus@example.com'])
    })

    it('answers 400 BRAID_QUERY_INVALID for an invalid _q', async () => {
      const res = await get(`/single-views/customer_sv/?_q=${encodeURIComponent('{"$where":"1"}')}`)
      expect(res.status).toBe(400)
      expectError(res.body, 400, 'BRAID_QUERY_INVALID')
      const notJson = await get('/single-views/customer_sv/?_q=%7B')
      expect(notJson.status).toBe(400)
      expectError(notJson.body, 400, 'BRAID_QUERY_INVALID')
    })

    it('filters with field=value, matching numbers given as text', async () => {
      expect(emails((await get('/single-views/customer_sv/?customerId=2')).body)).toEqual(['alan@example.com'])
      expect(emails((await get('/single-views/customer_sv/?tier.code=silver&lastName=Liskov')).body)).toEqual(['barbara@example.com'])
      expect(emails((await get('/single-views/customer_sv/?email=nobody@example.com')).body)).toEqual([])
    })

    it('sorts with _s', async () => {
      expect(emails((await get('/single-views/customer_sv/?_s=-customerId')).body)).toEqual(['barbara@example.com', 'linus@example.com', 'grace@example.com', 'alan@example.com', 'ada@example.com'])
      expect(emails((await get('/single-views/customer_sv/?_s=tier.code&_s=-customerId')).body)).toEqual(['linus@example.com', 'grace@example.com', 'ada@example.com', 'barbara@example.com', 'alan@example.com'])
    })

    it('pages with _l and _sk', async () => {
      expect(emails((await get('/single-views/customer_sv/?_s=customerId&_l=2')).body)).toEqual(['ada@example.com', 'alan@example.com'])
      expect(emails((await get('/single-views/customer_sv/?_s=customerId&_l=2&_sk=2')).body)).toEqual(['grace@example.com', 'linus@example.com'])
      expect(emails((await get('/single-views/customer_sv/?_s=customerId&_sk=4')).body)).toEqual(['barbara@example.com'])
      const tooMany = await get('/single-views/customer_sv/?_l=201')
      expect(tooMany.status).toBe(400)
      expect(expectError(tooMany.body, 400, 'BRAID_QUERY_INVALID')['message']).toBe('_l must be <= 200')
    })

    it('projects fields with _p', async () => {
      const res = await get('/single-views/customer_sv/?_p=email,tier.code&customerId=1')
      expect(res.status).toBe(200)
      const [doc] = res.body as Doc[]
      expect(doc).toMatchObject({ email: 'ada@example.com', tier: { code: 'gold' } })
      expect(Object.keys(doc ?? {}).sort()).toEqual(['_id', 'email', 'tier'])
      expect(Object.keys((doc?.['tier'] ?? {}) as Doc)).toEqual(['code'])
    })

    it('shows DELETED views only with _st', async () => {
      expect(emails((await get('/single-views/customer_sv/')).body)).not.toContain('gone@example.com')
      expect(emails((await get('/single-views/customer_sv/?_st=DELETED')).body)).toEqual(['gone@example.com'])
      expect(emails((await get('/single-views/customer_sv/?_st=PUBLIC,DELETED&_l=200')).body)).toHaveLength(6)
      const bad = await get('/single-views/customer_sv/?_st=GONE')
      expect(bad.status).toBe(400)
      expectError(bad.body, 400, 'BRAID_QUERY_INVALID')
    })

    it('answers 404 not found for an unknown view', async () => {
      for (const url of ['/single-views/nope/', '/single-views/nope/count', '/single-views/nope/65f000000000000000000001', '/single-views/customers/']) {
        const res = await get(url)
        expect(res.status, url).toBe(404)
        expect(res.body, url).toEqual({ error: 'not found' })
      }
    })
  })

  describe('GET /single-views/{name}/count', () => {
    it('answers a bare integer with the same filters', async () => {
      const all = await get('/single-views/customer_sv/count')
      expect(all.status).toBe(200)
      expect(all.text).toBe('5')
      expect((await get(`/single-views/customer_sv/count?_q=${encodeURIComponent('{"tier.code":"gold"}')}`)).text).toBe('2')
      expect((await get('/single-views/customer_sv/count?tier.code=silver')).text).toBe('2')
      expect((await get('/single-views/customer_sv/count?_st=DELETED')).text).toBe('1')
      expect((await get('/single-views/customer_sv/count?_useEstimate=false&tier.code=silver')).text).toBe('2')
      // _useEstimate counts the whole collection, every state, ignoring the filters (as the CRUD Service).
      expect((await get('/single-views/customer_sv/count?_useEstimate=true&tier.code=silver')).text).toBe('6')
    })

    it('answers 400 for an invalid filter', async () => {
      const res = await get(`/single-views/customer_sv/count?_q=${encodeURIComponent('{"a":{"$nearSphere":1}}')}`)
      expect(res.status).toBe(400)
      expectError(res.body, 400, 'BRAID_QUERY_INVALID')
    })
  })

  describe('GET /single-views/{name}/{_id}', () => {
    it('answers the view with that _id', async () => {
      const [grace] = (await get('/single-views/customer_sv/?email=grace@example.com')).body as Doc[]
      const id = String(grace?.['_id'])
      expect(id).toMatch(/^[0-9a-f]{24}$/)
      const res = await get(`/single-views/customer_sv/${id}`)
      expect(res.status).toBe(200)
      expect(res.body).toEqual(grace)
    })

    it('answers 404 {"error":"not found"} for an unknown _id', async () => {
      const res = await get('/single-views/customer_sv/65f0000000000000000000ff')
      expect(res.status).toBe(404)
      expect(res.body).toEqual({ error: 'not found' })
    })

    it('hides a DELETED view unless _st=DELETED', async () => {
      expect((await get(`/single-views/customer_sv/${deletedId}`)).status).toBe(404)
      const res = await get(`/single-views/customer_sv/${deletedId}?_st=DELETED`)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ _id: deletedId, email: 'gone@example.com', __STATE__: 'DELETED' })
    })

    it('applies the other filters to the document', async () => {
      const [grace] = (await get('/single-views/customer_sv/?email=grace@example.com')).body as Doc[]
      const id = String(grace?.['_id'])
      expect((await get(`/single-views/customer_sv/${id}?firstName=Grace`)).status).toBe(200)
      expect((await get(`/single-views/customer_sv/${id}?firstName=Ada`)).status).toBe(404)
    })
  })

  describe('GET /projections/{name}/…', () => {
    it('serves projection records with the same read routes', async () => {
      const list = await get('/projections/customers/?_s=customerId&_l=2')
      expect(list.status).toBe(200)
      expect((list.body as Doc[]).map(d => d['customerId'])).toEqual([1, 2])
      expect((list.body as Doc[])[0]).toMatchObject({ customerId: 1, email: 'ada@example.com', firstName: 'Ada', tierCode: 'gold', registeredAt: '2023-11-14T22:13:20.001Z', __STATE__: 'PUBLIC' })
      for (const doc of list.body as Doc[]) expect(Object.keys(doc).filter(k => k.startsWith('__internal__'))).toEqual([])
      expect((await get('/projections/customers/count')).text).toBe('5')
      expect((await get('/projections/order_lines/count?orderId=100')).text).toBe('2')
      const tier = (await get('/projections/tiers/?tierCode=gold')).body as Doc[]
      expect(tier).toHaveLength(1)
      const byId = await get(`/projections/tiers/${String(tier[0]?.['_id'])}`)
      expect(byId.status).toBe(200)
      expect(byId.body).toMatchObject({ tierCode: 'gold', name: 'Gold', discountPct: 10 })
    })

    it('has no write routes', async () => {
      for (const method of ['POST', 'PATCH', 'DELETE', 'PUT'] as const) {
        const res = await app.inject({ method, url: '/projections/customers/', payload: { customerId: 9 } })
        expect(res.statusCode, method).toBe(404)
      }
      expect((await get('/projections/customers/count')).text).toBe('5')
    })

    it('answers 404 for an unknown projection', async () => {
      const res = await get('/projections/customer_sv/')
      expect(res.status).toBe(404)
      expect(res.body).toEqual({ error: 'not found' })
    })
  })

  describe('GET /-/status', () => {
    it('reports readiness, per-projection counters and lag, and per-view counters', async () => {
      const res = await get('/-/status')
      expect(res.status).toBe(200)
      const status = res.body as Doc
      expect(status).toMatchObject({ ready: true, store: 'embedded', eventLog: 'embedded' })
      const projections = status['projections'] as Record<string, Doc>
      expect(Object.keys(projections).sort()).toEqual(['customers', 'order_lines', 'orders', 'preferences', 'tiers'])
      // The five customers, and three more created then deleted by the timestamp test.
      expect(projections['customers']).toMatchObject({ topic: topics.customers, consumed: 11, applied: 11, lag: 0, deadLettered: 0 })
      expect(projections['tiers']).toMatchObject({ consumed: 3, applied: 3 })
      const views = status['singleViews'] as Record<string, Doc>
      expect(views['customer_sv']).toMatchObject({ queued: 0, failed: 0 })
      expect(Number(views['customer_sv']?.['written'])).toBeGreaterThanOrEqual(5)
    })
  })

  describe('GET /single-views/{name}/lineage', () => {
    it('lists the projection records a view was built from', async () => {
      const res = await get('/single-views/customer_sv/lineage?email=ada@example.com')
      expect(res.status).toBe(200)
      const body = res.body as Doc
      expect(body['identifier']).toEqual({ email: 'ada@example.com' })
      expect(body['view']).toMatchObject({ email: 'ada@example.com', tier: { code: 'gold' } })
      expect(body['stored']).toMatchObject({ email: 'ada@example.com', __STATE__: 'PUBLIC' })
      const lineage = body['lineage'] as Doc[]
      const keys = lineage.map(l => `${String(l['projection'])} ${JSON.stringify(l['key'])}`).sort()
      expect(keys).toEqual([
        'customers {"customerId":1}',
        'order_lines {"orderId":100,"lineNo":1}',
        'order_lines {"orderId":100,"lineNo":2}',
        'orders {"orderId":100}',
        'orders {"orderId":101}',
        'preferences {"email":"ada@example.com"}',
        'tiers {"tierCode":"gold"}'
      ])
    })

    it('takes the identifier as JSON too', async () => {
      const res = await get(`/single-views/customer_sv/lineage?identifier=${encodeURIComponent('{"email":"linus@example.com"}')}`)
      expect(res.status).toBe(200)
      expect((res.body as Doc)['view']).toMatchObject({ customerId: 4 })
    })

    it('answers 400 without an identifier and 404 for an unknown view', async () => {
      const missing = await get('/single-views/customer_sv/lineage')
      expect(missing.status).toBe(400)
      expectError(missing.body, 400, 'BRAID_QUERY_INVALID')
      const unknown = await get('/single-views/nope/lineage?email=a')
      expect(unknown.status).toBe(404)
      expect(unknown.body).toEqual({ error: 'not found' })
    })
  })

  describe('dead letters', () => {
    it('lists a message the pipeline could not decode and replays it onto its topic', async () => {
      const log = running.service.log
      const empty = await get('/-/dead-letters')
      expect(empty.body).toEqual([])
      // A producer writing to the topic directly (not through POST /ingest, which validates first).
      await log.append(topics.customers, [{ key: '{"customer_id":77}', value: '{"op":"c","after":', headers: { origin: 'test' } }])
      await running.service.idle()
      const listed = await get('/-/dead-letters')
      expect(listed.status).toBe(200)
      const [letter] = listed.body as Doc[]
      expect(listed.body).toHaveLength(1)
      expect(letter).toMatchObject({ topic: topics.customers, projection: 'customers', key: '{"customer_id":77}', value: '{"op":"c","after":', code: 'BRAID_DECODE_FAILED', status: 'pending', headers: { origin: 'test' } })
      expect(typeof letter?.['reason']).toBe('string')
      expect(typeof letter?.['offset']).toBe('number')

      const sizeBefore = await topicSize(log, topics.customers)
      const replay = await post(`/-/dead-letters/${String(letter?.['_id'])}/replay`)
      expect(replay.status).toBe(202)
      expect(replay.body).toEqual({ replayed: letter?.['_id'] })
      expect(await topicSize(log, topics.customers)).toBe(sizeBefore + 1)
      const appended = (await readTopic(log, topics.customers)).at(-1)
      expect(appended).toMatchObject({ key: '{"customer_id":77}', value: '{"op":"c","after":' })
      expect(appended?.headers['braid-replayed-from']).toBe(letter?.['_id'])

      // Still undecodable: dead-lettered again, the first one marked replayed.
      await running.service.idle()
      const after = (await get('/-/dead-letters')).body as Doc[]
      expect(after).toHaveLength(2)
      expect(after.find(d => d['_id'] === letter?.['_id'])).toMatchObject({ status: 'replayed' })
      expect(after.find(d => d['_id'] !== letter?.['_id'])).toMatchObject({ status: 'pending', offset: sizeBefore })
      expect((await get('/-/dead-letters?status=pending')).body).toHaveLength(1)
      expect((await get('/-/dead-letters?_l=1')).body).toHaveLength(1)
    })

    it('answers 404 when replaying an unknown dead letter', async () => {
      const res = await app.inject({ method: 'POST', url: '/-/dead-letters/nope/replay' })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toEqual({ error: 'not found' })
    })
  })

  describe('GET /-/sv-errors', () => {
    it('lists failed view builds, most recently updated first', async () => {
      expect((await get('/-/sv-errors')).body).toEqual([])
      const record = (n: number, updatedAt: string): { collection: string, id: string, doc: Doc } => {
        const _id = `customer_sv|AGGREGATION|{"email":"e${n}@example.com"}`
        return { collection: SystemCollection.svErrors, id: keyId({ _id }, ['_id']), doc: { _id, type: 'customer_sv', identifier: { email: `e${n}@example.com` }, errorType: 'BRAID_AGGREGATION_FAILED', errorMessage: 'boom', resolutionMethod: 'AGGREGATION', attempts: n, createdAt: updatedAt, updatedAt, __STATE__: 'PUBLIC' } }
      }
      await running.service.store.write({ put: [record(1, '2024-01-01T00:00:00.000Z'), record(2, '2024-02-01T00:00:00.000Z')] })
      const res = await get('/-/sv-errors')
      expect(res.status).toBe(200)
      expect((res.body as Doc[]).map(d => d['attempts'])).toEqual([2, 1])
      expect((await get('/-/sv-errors?attempts=1')).body).toHaveLength(1)
      expect((await get('/-/sv-errors?_l=1')).body).toHaveLength(1)
      await running.service.store.write({ delete: [record(1, '').id, record(2, '').id].map(id => ({ collection: SystemCollection.svErrors, id })) })
    })
  })

  describe('query checks against the schema', () => {
    const routes = ['/single-views/customer_sv/', '/single-views/customer_sv/count', '/single-views/customer_sv/export', '/single-views/customer_sv/65f000000000000000000001', '/projections/customers/']

    it('answers 400 Unknown field for a _q, _s or field=value field not in the schema', async () => {
      const cases: Array<[string, string]> = [
        [`_q=${encodeURIComponent('{"nope":1}')}`, 'Unknown field: nope'],
        [`_q=${encodeURIComponent('{"$or":[{"email":"a"},{"tierCode":"gold"}]}')}`, 'Unknown field: tierCode'],
        ['nope.deep=1', 'Unknown field: nope.deep']
      ]
      for (const url of routes) {
        for (const [query, message] of cases) {
          if (url.startsWith('/projections/') && query.includes('tierCode')) continue
          const res = await get(`${url}?${query}`)
          expect(res.status, `${url}?${query}`).toBe(400)
          expect(res.body).toEqual({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', details: {}, message })
        }
      }
      const sort = await get('/single-views/customer_sv/?_s=-nope')
      expect(sort.body).toEqual({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', details: {}, message: 'Unknown field: nope' })
      const projection = await get('/projections/customers/?tier.code=gold')
      expect(projection.body).toEqual({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', details: {}, message: 'Unknown field: tier.code' })
    })

    it('casts field=value by the schema type, and answers 400 when the value cannot be cast', async () => {
      expect(emails((await get('/single-views/customer_sv/?customerId=3')).body)).toEqual(['grace@example.com'])
      expect(emails((await get('/single-views/customer_sv/?orders.orderId=101')).body)).toEqual(['ada@example.com'])
      expect(emails((await get('/single-views/customer_sv/?marketing.newsletter=true')).body)).toEqual(['ada@example.com'])
      expect(emails((await get('/single-views/customer_sv/?orders.placedAt=2023-11-14T22:13:20.000Z')).body)).toEqual(['ada@example.com'])
      expect((await get('/single-views/customer_sv/count?_st=PUBLIC,DELETED&__STATE__=DELETED')).text).toBe('1')
      expect((await get('/projections/customers/count?customerId=2')).text).toBe('1')
      const cases: Array<[string, string]> = [
        ['customerId=three', 'querystring/customerId must be integer'],
        ['marketing.newsletter=yes', 'querystring/marketing.newsletter must be boolean'],
        ['tier.discountPct=lots', 'querystring/tier.discountPct must be number'],
        ['createdAt=today', 'querystring/createdAt must match format "date-time"'],
        ['__STATE__=GONE', 'querystring/__STATE__ must be equal to one of the allowed values']
      ]
      for (const [query, message] of cases) {
        const res = await get(`/single-views/customer_sv/?${query}`)
        expect(res.status, query).toBe(400)
        expect(res.body).toEqual({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', details: {}, message })
      }
    })

    it('answers 400 for a query parameter the CRUD Service does not define', async () => {
      for (const url of routes) {
        for (const name of ['_unknown', ...(url.endsWith('/export') ? [] : ['_exportOpts'])]) {
          const res = await get(`${url}?${name}=1`)
          expect(res.status, `${url}?${name}`).toBe(400)
          expect(res.body).toEqual({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', details: {}, message: `querystring must NOT have additional properties. Property "${name}" is not defined in validation schema` })
        }
      }
      expect((await get('/single-views/customer_sv/?_q=%7B%7D&_st=PUBLIC&_p=email&_s=email&_l=1&_sk=0')).status).toBe(200)
      // The system collections keep accepting any parameter.
      expect((await get('/-/sv-errors?_unknown=1')).status).toBe(200)
    })
  })

  describe('GET /-/schemas', () => {
    const expected = (): Array<{ name: string, schema: unknown }> => {
      const pipeline = running.service.pipeline
      return [
        ...[...pipeline.singleViews.values()].map(sv => ({ name: sv.collection, schema: singleViewSchema(pipeline, sv) })),
        ...[...pipeline.projections.values()].map(p => ({ name: p.collection, schema: projectionSchema(p) }))
      ]
    }

    it('answers the schema of every view and projection as a JSON array by default', async () => {
      for (const accept of [undefined, 'application/json', '*/*', 'text/html;q=0.1, application/*']) {
        const res = await app.inject({ method: 'GET', url: '/-/schemas', ...(accept === undefined ? {} : { headers: { accept } }) })
        expect(res.statusCode, accept).toBe(200)
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
        expect(res.json()).toEqual(expected())
      }
      const res = await get('/-/schemas')
      const names = (res.body as Array<{ name: string }>).map(s => s.name)
      expect(names).toEqual(['customer_sv', 'customers', 'tiers', 'orders', 'order_lines', 'preferences'])
      expect((res.body as Array<{ schema: Doc }>)[1]?.schema).toEqual((await get('/projections/customers/schema')).body)
    })

    it('answers one { name, schema } per line for application/x-ndjson', async () => {
      const res = await app.inject({ method: 'GET', url: '/-/schemas', headers: { accept: 'text/csv;q=0.5, application/x-ndjson' } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('application/x-ndjson')
      expect(res.body).toBe(expected().map(s => `${JSON.stringify(s)}\n`).join(''))
    })

    it('answers 406 for any other type', async () => {
      for (const accept of ['image/png', 'text/csv', 'application/json;q=0']) {
        const res = await app.inject({ method: 'GET', url: '/-/schemas', headers: { accept } })
        expect(res.statusCode, accept).toBe(406)
        expect(res.json()).toEqual({ statusCode: 406, error: 'Not Acceptable', message: `unsupported file type ${accept.split(';')[0]}` })
      }
    })
  })

  it('answers 404 {"error":"not found"} for an unknown route', async () => {
    const res = await get('/nowhere')
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ error: 'not found' })
  })

  it('serves the collection root without the trailing slash too', async () => {
    const res = await get('/single-views/customer_sv?_l=1')
    expect(res.status).toBe(200)
    expect(res.body).toHaveLength(1)
  })

})

describe('the lineage of a view keyed by a number', () => {
  it('finds the view from ?field=value as the read routes do, the text being read as a number', async () => {
    const r = await openPipeline(join(runtimeFixtures, 'chained/braid.yaml'), tempDir())
    const numeric = await buildApp(r.service, { logger: silentLogger() })
    try {
      await r.service.ingest('club.members', [debezium({ id: 1 }, 'c', null, { id: 1, name: 'Ada', team_id: 7 })])
      await r.service.idle()
      const read = await numeric.inject({ method: 'GET', url: '/single-views/member_sv/?id=1' })
      expect(read.json()).toMatchObject([{ id: 1, name: 'Ada' }])
      const res = await numeric.inject({ method: 'GET', url: '/single-views/member_sv/lineage?id=1' })
      expect(res.statusCode).toBe(200)
      const body = res.json() as Doc
      expect(body['identifier']).toEqual({ id: 1 })
      expect(body['view']).toEqual({ id: 1, name: 'Ada', teamId: 7 })
      expect(body['lineage']).toMatchObject([{ projection: 'members', key: { id: 1 } }])
      const missing = (await numeric.inject({ method: 'GET', url: '/single-views/member_sv/lineage?id=2' })).json() as Doc
      expect(missing).toMatchObject({ view: null, stored: null, reason: 'base record missing', lineage: [] })
    } finally {
      await numeric.close()
      await r.close()
    }
  })
})
