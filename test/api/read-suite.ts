/**
 * One suite of the CRUD Service read behaviour (every parameter, error path, export format and state
 * filter of /work/shared/reference/crud-service.md), run against any store: `runReadSuite(name,
 * open)` ingests the retail example through the real pipeline on the engines `open` returns and
 * asserts exact bodies, orders and counts through the HTTP API.
 * @module
 */
import { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { projectionSchema, singleViewSchema } from '../../src/api/schema.ts'
import { loadPipeline } from '../../src/config/index.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import type { Engines } from '../../src/runtime/engines.ts'
import { createService } from '../../src/runtime/service.ts'
import { customerRow, retail, retailConfig, topics, type Running } from '../runtime/harness.ts'

/** What a store under test gives the suite. */
export interface ReadStore {
  engines: Engines
  /**
   * Cases (by title) whose behaviour legitimately differs on this store, with the reason: they are
   * reported as skipped with that reason, never silently.
   */
  differences?: Record<string, string>
  /** Removes what the store left behind (a database, a directory), after the engines are closed. */
  cleanUp?: () => Promise<void>
}

/** The retail pipeline, consuming, on the given engines. */
export async function startRetail (engines: Engines): Promise<Running> {
  const pipeline = await loadPipeline(retailConfig)
  const service = createService({ pipeline, engines, logger: silentLogger() })
  await service.start()
  let closed = false
  return {
    pipeline,
    engines,
    service,
    async close () {
      if (closed) return
      closed = true
      await service.stop()
      await engines.close()
    }
  }
}

/** The five named customers; customers 6 to 35 (`customer.N@example.com`, bronze) fill the pages. */
const named = [
  customerRow(1, { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', tier_code: 'gold' }),
  customerRow(2, { email: 'alan@example.com', first_name: 'Alan', last_name: 'Turing', tier_code: 'silver' }),
  customerRow(3, { email: 'grace@example.com', first_name: 'Grace', last_name: 'Hopper', tier_code: 'gold' }),
  customerRow(4, { email: 'linus@example.com', first_name: 'Linus', last_name: 'Torvalds', tier_code: 'bronze' }),
  customerRow(5, { email: 'barbara@example.com', first_name: 'Barbara', last_name: 'Liskov', tier_code: 'silver' })
]
const fillers = Array.from({ length: 30 }, (_, i) => customerRow(i + 6))
const PUBLIC_VIEWS = named.length + fillers.length
const deletedId = '65f000000000000000000001'
const missingId = '65f0000000000000000000ff'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const OBJECT_ID = /^[0-9a-f]{24}$/

/** The body of a 400 answer of the read routes. */
const invalid = (message: string): Doc => ({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', details: {}, message })
const notFound = { error: 'not found' }
const q = (filter: unknown): string => encodeURIComponent(JSON.stringify(filter))

/** Ada's view as the retail pipeline builds it, `_id` and timestamps aside. */
const adaView: Doc = {
  email: 'ada@example.com',
  customerId: 1,
  firstName: 'Ada',
  lastName: 'Lovelace',
  phone: '+39 01',
  memberSince: '2023-11-14T22:13:20.001Z',
  tier: { code: 'gold', name: 'Gold', discountPct: 10 },
  marketing: { newsletter: true, channels: [{ channel: 'email', optIn: true }] },
  orders: [
    { orderId: 100, status: 'placed', total: 52.54, currency: 'EUR', placedAt: '2023-11-14T22:13:20.000Z', lines: [{ lineNo: 1, sku: 'MUG-LOGO', quantity: 2, unitPrice: 12.5 }, { lineNo: 2, sku: 'CAP-NAVY', quantity: 1, unitPrice: 22 }] },
    { orderId: 101, status: 'paid', total: 10, currency: 'EUR', placedAt: '2023-11-14T22:13:20.000Z', lines: [] }
  ],
  __STATE__: 'PUBLIC'
}

/**
 * Defines the read-behaviour suite in a `describe(name)` block: `open` gives fresh engines (called
 * once, in beforeAll); the suite closes them and calls `cleanUp` after.
 */
export function runReadSuite (name: string, open: () => Promise<ReadStore>): void {
  describe(name, () => {
    let store: ReadStore
    let running: Running
    let app: FastifyInstance

    interface Answer { status: number, text: string, body: unknown, contentType: string | undefined }
    const get = async (url: string, accept?: string): Promise<Answer> => {
      const res = await app.inject({ method: 'GET', url, ...(accept === undefined ? {} : { headers: { accept } }) })
      const contentType = res.headers['content-type'] as string | undefined
      const body = contentType?.startsWith('application/json') === true && res.body !== '' ? res.json() as unknown : undefined
      return { status: res.statusCode, text: res.body, body, contentType }
    }
    /** The JSON body of a 200 answer. */
    const ok = async (url: string): Promise<unknown> => {
      const res = await get(url)
      expect(res.status, `${url}: ${res.text}`).toBe(200)
      return res.body
    }
    const emails = async (url: string): Promise<string[]> => (await ok(url) as Doc[]).map(d => String(d['email']))
    const count = async (url: string): Promise<string> => {
      const res = await get(url)
      expect(res.status, `${url}: ${res.text}`).toBe(200)
      return res.text
    }
    const expect400 = async (url: string, message: string): Promise<void> => {
      const res = await get(url)
      expect(res.status, url).toBe(400)
      expect(res.body, url).toEqual(invalid(message))
    }
    /** Skips the running case with the written reason when this store differs there. */
    const differs = (ctx: TestContext): void => {
      const reason = store.differences?.[ctx.task.name]
      if (reason !== undefined) ctx.skip(reason)
    }
    /** A view with `_id`, `createdAt` and `updatedAt` checked for shape and then removed. */
    const stable = (doc: Doc): Doc => {
      const { _id, createdAt, updatedAt, ...rest } = doc
      expect(String(_id)).toMatch(OBJECT_ID)
      expect(String(createdAt)).toMatch(ISO)
      expect(String(updatedAt)).toMatch(ISO)
      return rest
    }
    let adaId: string

    beforeAll(async () => {
      store = await open()
      running = await startRetail(store.engines)
      app = await buildApp(running.service, { logger: silentLogger() })
      const send = async (topic: string, messages: unknown[]): Promise<void> => {
        const res = await app.inject({ method: 'POST', url: `/ingest/${topic}`, payload: messages as Doc[] })
        expect(res.statusCode, res.body).toBe(202)
      }
      await send(topics.tiers, [retail.tier('bronze', 'Bronze', 0), retail.tier('silver', 'Silver', 5), retail.tier('gold', 'Gold', 10)])
      await send(topics.customers, [...named, ...fillers].map(c => retail.customer(c)))
      await send(topics.preferences, [retail.preferences('ada@example.com', true, [{ channel: 'email', optIn: true }]), retail.preferences('grace@example.com', false)])
      await send(topics.orders, [retail.order(100, 1, '52.54'), retail.order(101, 1, '10.00', 'paid'), retail.order(102, 3, '7.50', 'paid')])
      await send(topics.orderLines, [retail.line(100, 1, 'MUG-LOGO', 2, 12.5), retail.line(100, 2, 'CAP-NAVY', 1, 22), retail.line(102, 1, 'PEN', 3, 2.5)])
      await running.service.idle()
      // A virtually deleted view, as a `virtualDelete` view leaves it.
      await running.service.store.write({
        put: [{ collection: 'customer_sv', id: keyId({ email: 'gone@example.com' }, ['email']), doc: { _id: deletedId, email: 'gone@example.com', customerId: 99, __STATE__: 'DELETED', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' } }]
      })
      const [ada] = await ok('/single-views/customer_sv/?email=ada@example.com') as Doc[]
      adaId = String(ada?.['_id'])
    }, 120_000)

    afterAll(async () => {
      await app?.close()
      await running?.close()
      await store?.cleanUp?.()
    }, 60_000)

    describe('GET /single-views/{name}/', () => {
      it('answers the PUBLIC views, 25 by default, each built from every projection', async () => {
        const all = await ok('/single-views/customer_sv/?_l=200') as Doc[]
        expect(all).toHaveLength(PUBLIC_VIEWS)
        expect(all.map(d => d['email']).sort()).toEqual([...named, ...fillers].map(c => c.email).sort())
        expect(all.map(d => d['__STATE__'])).toEqual(Array(PUBLIC_VIEWS).fill('PUBLIC'))
        expect(await ok('/single-views/customer_sv/')).toHaveLength(25)
        expect(stable(all.find(d => d['email'] === 'ada@example.com') as Doc)).toEqual(adaView)
        expect(stable(all.find(d => d['email'] === 'linus@example.com') as Doc)).toEqual({
          email: 'linus@example.com', customerId: 4, firstName: 'Linus', lastName: 'Torvalds', phone: '+39 04', memberSince: '2023-11-14T22:13:20.004Z',
          tier: { code: 'bronze', name: 'Bronze', discountPct: 0 }, marketing: { newsletter: null, channels: null }, orders: [], __STATE__: 'PUBLIC'
        })
      })

      it('answers the same documents on every page, in the same order, for the same query', async () => {
        const first = await ok('/single-views/customer_sv/?_l=200')
        expect(await ok('/single-views/customer_sv/?_l=200')).toEqual(first)
      })

      it('filters with _q equality, nested fields and comparison operators', async () => {
        expect((await emails(`/single-views/customer_sv/?_q=${q({ 'tier.code': 'gold' })}&_s=customerId`))).toEqual(['ada@example.com', 'grace@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ customerId: { $gte: 2, $lt: 5 } })}&_s=customerId`)).toEqual(['alan@example.com', 'grace@example.com', 'linus@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ customerId: { $gt: 33 } })}&_s=-customerId`)).toEqual(['customer.35@example.com', 'customer.34@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ customerId: { $lte: 1 } })}`)).toEqual(['ada@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ customerId: { $eq: 5 } })}`)).toEqual(['barbara@example.com'])
        expect(await count(`/single-views/customer_sv/count?_q=${q({ 'tier.code': { $ne: 'bronze' } })}`)).toBe('4')
      })

      it('filters with _q $in, $nin, $exists, $regex, $not, $and and $or', async () => {
        expect(await emails(`/single-views/customer_sv/?_q=${q({ lastName: { $in: ['Turing', 'Hopper', 'Nobody'] } })}&_s=customerId`)).toEqual(['alan@example.com', 'grace@example.com'])
        expect(await count(`/single-views/customer_sv/count?_q=${q({ 'tier.code': { $nin: ['bronze', 'silver'] } })}`)).toBe('2')
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'orders.lines': { $exists: true } })}&_s=customerId`)).toEqual(['ada@example.com', 'grace@example.com'])
        expect(await count(`/single-views/customer_sv/count?_q=${q({ 'marketing.newsletter': { $exists: true } })}`)).toBe(String(PUBLIC_VIEWS))
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'marketing.newsletter': { $in: [true, false] } })}&_s=customerId`)).toEqual(['ada@example.com', 'grace@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ firstName: { $regex: '^g', $options: 'i' } })}`)).toEqual(['grace@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ firstName: { $regex: '^A' } })}&_s=customerId`)).toEqual(['ada@example.com', 'alan@example.com'])
        expect(await count(`/single-views/customer_sv/count?_q=${q({ customerId: { $not: { $gt: 2 } } })}`)).toBe('2')
        expect(await emails(`/single-views/customer_sv/?_q=${q({ $and: [{ 'tier.code': 'gold' }, { customerId: { $gt: 1 } }] })}`)).toEqual(['grace@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ $or: [{ lastName: 'Liskov' }, { customerId: 1 }] })}&_s=customerId`)).toEqual(['ada@example.com', 'barbara@example.com'])
      })

      it('filters with _q on arrays: $size, dotted paths into array elements', async () => {
        expect(await emails(`/single-views/customer_sv/?_q=${q({ orders: { $size: 2 } })}`)).toEqual(['ada@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ orders: { $size: 1 } })}`)).toEqual(['grace@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'orders.status': { $all: ['paid'] } })}&_s=customerId`)).toEqual(['ada@example.com', 'grace@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'orders.lines.sku': 'PEN' })}`)).toEqual(['grace@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'orders.total': { $gt: 50 } })}`)).toEqual(['ada@example.com'])
      })

      it('filters with _q $all of several values on a path through an array of documents', async ctx => {
        differs(ctx)
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'orders.status': { $all: ['placed', 'paid'] } })}`)).toEqual(['ada@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'orders.status': { $all: ['paid', 'cancelled'] } })}`)).toEqual([])
      })

      it('filters with _q $elemMatch on one array element', async ctx => {
        differs(ctx)
        // Ada has a paid order of 10 and a placed order of 52.54: no single order is both paid and over 50.
        expect(await emails(`/single-views/customer_sv/?_q=${q({ orders: { $elemMatch: { status: 'paid', total: { $gt: 9 } } } })}`)).toEqual(['ada@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ orders: { $elemMatch: { status: 'paid', total: { $gt: 50 } } } })}`)).toEqual([])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'orders.status': 'paid', 'orders.total': { $gt: 50 } })}`)).toEqual(['ada@example.com'])
      })

      it('answers 400 with the CRUD Service body for an invalid _q', async () => {
        const base = '/single-views/customer_sv/?_q='
        const notJson = await get(`${base}%7B`)
        expect(notJson.status).toBe(400)
        expect(notJson.body).toMatchObject({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', details: {} })
        expect(String((notJson.body as Doc)['message'])).toMatch(/^_q is not valid JSON/)
        await expect400(`${base}${q([{ email: 'a' }])}`, '_q must be a JSON object (a MongoDB filter)')
        await expect400(`${base}${q({ $where: 'this.customerId > 1' })}`, 'Unknown operator: $where')
        await expect400(`${base}${q({ $and: [{ email: 'a' }, { $expr: { $gt: ['$customerId', 1] } }] })}`, 'Unknown operator: $expr')
        await expect400(`${base}${q({ customerId: { $mod: [2, 0] } })}`, 'Unsupported operator: $mod')
        await expect400(`${base}${q({ $or: { email: 'a' } })}`, '$or needs an array of filters')
        await expect400(`${base}${q({ nope: 1 })}`, 'Unknown field: nope')
        await expect400(`${base}${q({ $or: [{ email: 'a' }, { tierCode: 'gold' }] })}`, 'Unknown field: tierCode')
      })

      it('filters with field=value, casting the text by the schema type', async () => {
        expect(await emails('/single-views/customer_sv/?customerId=3')).toEqual(['grace@example.com'])
        expect(await emails('/single-views/customer_sv/?tier.code=silver&lastName=Liskov')).toEqual(['barbara@example.com'])
        expect(await emails('/single-views/customer_sv/?tier.discountPct=5&_s=-customerId')).toEqual(['barbara@example.com', 'alan@example.com'])
        expect(await emails('/single-views/customer_sv/?marketing.newsletter=false')).toEqual(['grace@example.com'])
        expect(await emails('/single-views/customer_sv/?orders.orderId=101')).toEqual(['ada@example.com'])
        expect(await emails('/single-views/customer_sv/?memberSince=2023-11-14T22:13:20.002Z')).toEqual(['alan@example.com'])
        expect(await emails('/single-views/customer_sv/?email=nobody@example.com')).toEqual([])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ 'tier.code': 'gold' })}&customerId=3`)).toEqual(['grace@example.com'])
      })

      it('answers 400 for a field=value that cannot be cast or is not in the schema', async () => {
        await expect400('/single-views/customer_sv/?customerId=three', 'querystring/customerId must be integer')
        await expect400('/single-views/customer_sv/?marketing.newsletter=yes', 'querystring/marketing.newsletter must be boolean')
        await expect400('/single-views/customer_sv/?tier.discountPct=lots', 'querystring/tier.discountPct must be number')
        await expect400('/single-views/customer_sv/?memberSince=today', 'querystring/memberSince must match format "date-time"')
        await expect400('/single-views/customer_sv/?__STATE__=GONE', 'querystring/__STATE__ must be equal to one of the allowed values')
        await expect400('/single-views/customer_sv/?nope.deep=1', 'Unknown field: nope.deep')
      })

      it('projects with _p, _id always included, nested fields kept nested, unknown names dropped', async () => {
        expect(await ok('/single-views/customer_sv/?_p=email,tier.code&customerId=1')).toEqual([{ _id: adaId, email: 'ada@example.com', tier: { code: 'gold' } }])
        expect(await ok('/single-views/customer_sv/?_p=customerId,orders.orderId&customerId=1')).toEqual([{ _id: adaId, customerId: 1, orders: [{ orderId: 100 }, { orderId: 101 }] }])
        // As the CRUD Service: unknown names are dropped, and only _id is left when nothing else is.
        expect(await ok('/single-views/customer_sv/?_p=email,nope&customerId=1')).toEqual([{ _id: adaId, email: 'ada@example.com' }])
        expect(await ok('/single-views/customer_sv/?_p=nope&customerId=1')).toEqual([{ _id: adaId }])
      })

      it('projects with _rawp: inclusion, exclusion and expressions', async ctx => {
        differs(ctx)
        expect(await ok(`/single-views/customer_sv/?customerId=1&_rawp=${q({ email: 1, 'tier.name': 1 })}`)).toEqual([{ _id: adaId, email: 'ada@example.com', tier: { name: 'Gold' } }])
        const excluded = await ok(`/single-views/customer_sv/?customerId=1&_rawp=${q({ orders: 0, marketing: 0, tier: 0, createdAt: 0, updatedAt: 0 })}`) as Doc[]
        expect(excluded).toEqual([{ _id: adaId, email: 'ada@example.com', customerId: 1, firstName: 'Ada', lastName: 'Lovelace', phone: '+39 01', memberSince: '2023-11-14T22:13:20.001Z', __STATE__: 'PUBLIC' }])
        const computed = await ok(`/single-views/customer_sv/?_q=${q({ 'tier.code': 'gold' })}&_s=customerId&_rawp=${q({ email: 1, n: { $size: '$orders' }, paid: { $filter: { input: '$orders', as: 'o', cond: { $eq: ['$$o.status', 'paid'] } } } })}`) as Doc[]
        expect(computed.map(d => [d['email'], d['n'], (d['paid'] as Doc[]).map(o => o['orderId'])])).toEqual([['ada@example.com', 2, [101]], ['grace@example.com', 1, [102]]])
        expect(computed.map(d => Object.keys(d))).toEqual([['_id', 'email', 'n', 'paid'], ['_id', 'email', 'n', 'paid']])
      })

      it('answers 400 for _rawp with _p, a forbidden operator or a field not in the schema', async () => {
        await expect400(`/single-views/customer_sv/?_p=email&_rawp=${q({ email: 1 })}`, 'Use of both _rawp and _p parameter is not allowed')
        await expect400(`/single-views/customer_sv/?_rawp=${q({ x: { $toUpper: '$email' } })}`, 'Operator $toUpper is not allowed in raw projection')
        await expect400(`/single-views/customer_sv/?_rawp=${q({ x: { $first: '$$ROOT' } })}`, 'Operator $$ROOT is not allowed in raw projection')
        const notJson = await get('/single-views/customer_sv/?_rawp=%7Bnope')
        expect(notJson.status).toBe(400)
        expect(String((notJson.body as Doc)['message'])).toMatch(/^_rawp is not valid JSON: /)
      })

      it('sorts with _s ascending, descending, nested and on several fields', async () => {
        expect((await emails('/single-views/customer_sv/?_s=customerId&_l=3'))).toEqual(['ada@example.com', 'alan@example.com', 'grace@example.com'])
        expect((await emails('/single-views/customer_sv/?_s=-customerId&_l=3'))).toEqual(['customer.35@example.com', 'customer.34@example.com', 'customer.33@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ customerId: { $lte: 5 } })}&_s=tier.code&_s=-customerId`)).toEqual(['linus@example.com', 'grace@example.com', 'ada@example.com', 'barbara@example.com', 'alan@example.com'])
        expect(await emails(`/single-views/customer_sv/?_q=${q({ customerId: { $lte: 5 } })}&_s=-tier.discountPct,lastName`)).toEqual(['grace@example.com', 'ada@example.com', 'barbara@example.com', 'alan@example.com', 'linus@example.com'])
        await expect400('/single-views/customer_sv/?_s=-nope', 'Unknown field: nope')
      })

      it('pages with _l (1 to 200) and _sk', async () => {
        expect(await emails('/single-views/customer_sv/?_s=customerId&_l=2')).toEqual(['ada@example.com', 'alan@example.com'])
        expect(await emails('/single-views/customer_sv/?_s=customerId&_l=2&_sk=2')).toEqual(['grace@example.com', 'linus@example.com'])
        expect(await emails('/single-views/customer_sv/?_s=customerId&_sk=33')).toEqual(['customer.34@example.com', 'customer.35@example.com'])
        expect(await emails('/single-views/customer_sv/?_s=customerId&_sk=35')).toEqual([])
        expect(await emails('/single-views/customer_sv/?_s=customerId&_sk=0&_l=1')).toEqual(['ada@example.com'])
        expect(await ok('/single-views/customer_sv/?_l=200')).toHaveLength(PUBLIC_VIEWS)
        await expect400('/single-views/customer_sv/?_l=201', '_l must be <= 200')
        await expect400('/single-views/customer_sv/?_l=0', '_l must be >= 1')
        await expect400('/single-views/customer_sv/?_l=2.5', '_l must be an integer, got "2.5"')
        await expect400('/single-views/customer_sv/?_sk=-1', '_sk must be an integer, got "-1"')
      })

      it('selects states with _st: PUBLIC by default, lists, and 400 for an unknown state', async () => {
        expect(await emails('/single-views/customer_sv/?_q=' + q({ customerId: { $gte: 90 } }))).toEqual([])
        expect(await emails('/single-views/customer_sv/?_st=DELETED')).toEqual(['gone@example.com'])
        expect(await ok('/single-views/customer_sv/?_st=DRAFT,TRASH')).toEqual([])
        expect(await emails(`/single-views/customer_sv/?_st=PUBLIC,DELETED&_q=${q({ customerId: { $in: [1, 99] } })}&_s=customerId`)).toEqual(['ada@example.com', 'gone@example.com'])
        expect(await ok('/single-views/customer_sv/?_st=PUBLIC,DELETED&_l=200')).toHaveLength(PUBLIC_VIEWS + 1)
        await expect400('/single-views/customer_sv/?_st=GONE', '_st: "GONE" is not a state; use a comma list of PUBLIC, DRAFT, TRASH, DELETED')
        await expect400('/single-views/customer_sv/count?_st=PUBLIC,gone', '_st: "gone" is not a state; use a comma list of PUBLIC, DRAFT, TRASH, DELETED')
      })

      it('answers 404 {"error":"not found"} for an unknown view or a projection asked as a view', async () => {
        for (const url of ['/single-views/nope/', '/single-views/nope/count', `/single-views/nope/${missingId}`, '/single-views/nope/export', '/single-views/nope/schema', '/single-views/customers/']) {
          const res = await get(url)
          expect(res.status, url).toBe(404)
          expect(res.body, url).toEqual(notFound)
        }
      })
    })

    describe('GET /single-views/{name}/count', () => {
      it('answers a bare integer with the filters of the list', async () => {
        expect(await count('/single-views/customer_sv/count')).toBe(String(PUBLIC_VIEWS))
        expect(await count(`/single-views/customer_sv/count?_q=${q({ 'tier.code': 'gold' })}`)).toBe('2')
        expect(await count('/single-views/customer_sv/count?tier.code=silver')).toBe('2')
        expect(await count('/single-views/customer_sv/count?_st=DELETED')).toBe('1')
        expect(await count('/single-views/customer_sv/count?_st=PUBLIC,DELETED')).toBe(String(PUBLIC_VIEWS + 1))
        expect(await count('/single-views/customer_sv/count?_useEstimate=false&tier.code=silver')).toBe('2')
        // _useEstimate counts the whole collection, every state, ignoring the filters (as the CRUD Service).
        expect(await count('/single-views/customer_sv/count?_useEstimate=true&tier.code=silver')).toBe(String(PUBLIC_VIEWS + 1))
      })

      it('answers 400 for an invalid filter or _useEstimate', async () => {
        await expect400(`/single-views/customer_sv/count?_q=${q({ customerId: { $nearSphere: 1 } })}`, 'Unsupported operator: $nearSphere')
        await expect400('/single-views/customer_sv/count?_useEstimate=yes', 'querystring/_useEstimate must be boolean')
      })
    })

    describe('GET /single-views/{name}/{_id}', () => {
      it('answers the view with that _id, the same document the list answers', async () => {
        const [listed] = await ok('/single-views/customer_sv/?email=ada@example.com') as Doc[]
        const byId = await ok(`/single-views/customer_sv/${adaId}`) as Doc
        expect(byId).toEqual(listed)
        expect(stable(byId)).toEqual(adaView)
        expect(await ok(`/single-views/customer_sv/${adaId}?_p=email,tier.code`)).toEqual({ _id: adaId, email: 'ada@example.com', tier: { code: 'gold' } })
        expect(await ok(`/single-views/customer_sv/${adaId}?_rawp=${q({ n: { $size: '$orders' } })}`)).toEqual({ _id: adaId, n: 2 })
      })

      it('answers 404 {"error":"not found"} for an unknown _id, a DELETED view without _st, or a filter that excludes it', async () => {
        for (const url of [`/single-views/customer_sv/${missingId}`, `/single-views/customer_sv/${deletedId}`, `/single-views/customer_sv/${adaId}?firstName=Alan`, `/single-views/customer_sv/${adaId}?_q=${q({ 'tier.code': 'silver' })}`, `/single-views/customer_sv/${adaId}?_st=DELETED`]) {
          const res = await get(url)
          expect(res.status, url).toBe(404)
          expect(res.body, url).toEqual(notFound)
        }
        expect(await ok(`/single-views/customer_sv/${deletedId}?_st=DELETED`)).toEqual({ _id: deletedId, email: 'gone@example.com', customerId: 99, __STATE__: 'DELETED', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' })
        expect(await ok(`/single-views/customer_sv/${adaId}?firstName=Ada`)).toMatchObject({ _id: adaId })
      })
    })

    describe('GET /single-views/{name}/export', () => {
      const small = `_q=${q({ customerId: { $lte: 3 } })}&_s=customerId&_p=email,customerId,tier.code`
      const rows = (): Doc[] => [
        { email: 'ada@example.com', customerId: 1, tier: { code: 'gold' } },
        { email: 'alan@example.com', customerId: 2, tier: { code: 'silver' } },
        { email: 'grace@example.com', customerId: 3, tier: { code: 'gold' } }
      ]
      const withoutIds = (docs: Doc[]): Doc[] => docs.map(({ _id, ...rest }) => { expect(String(_id)).toMatch(OBJECT_ID); return rest })

      it('answers ndjson by default, every matching document, no page limit', async () => {
        const res = await get(`/single-views/customer_sv/export?${small}`)
        expect(res.status).toBe(200)
        expect(res.contentType).toBe('application/x-ndjson')
        const docs = res.text.split('\n')
        expect(docs.pop()).toBe('')
        expect(withoutIds(docs.map(l => JSON.parse(l) as Doc))).toEqual(rows())
        expect((JSON.parse(docs[0] as string) as Doc)['_id']).toBe(adaId)
        const all = await get('/single-views/customer_sv/export?_s=customerId')
        expect(all.text.trimEnd().split('\n')).toHaveLength(PUBLIC_VIEWS)
        const paged = await get('/single-views/customer_sv/export?_s=customerId&_sk=1&_l=2&_p=email')
        expect(paged.text.trimEnd().split('\n').map(l => (JSON.parse(l) as Doc)['email'])).toEqual(['alan@example.com', 'grace@example.com'])
      })

      it('answers a JSON array for application/json and CSV for text/csv', async () => {
        const json = await get(`/single-views/customer_sv/export?${small}`, 'application/json')
        expect(json.status).toBe(200)
        expect(json.contentType).toBe('application/json')
        expect(withoutIds(JSON.parse(json.text) as Doc[])).toEqual(rows())
        const csv = await get(`/single-views/customer_sv/export?${small}`, 'text/csv')
        expect(csv.status).toBe(200)
        expect(csv.contentType).toBe('text/csv')
        const lines = csv.text.split('\n')
        expect(lines.pop()).toBe('')
        expect(lines[0]).toBe('"_id","email","customerId","tier.code"')
        expect(lines.slice(1).map(l => l.replace(/^"[0-9a-f]{24}",/, ''))).toEqual(['"ada@example.com",1,"gold"', '"alan@example.com",2,"silver"', '"grace@example.com",3,"gold"'])
        const semicolons = await get(`/single-views/customer_sv/export?${small}&_exportOpts=${q({ delimiter: ';', header: false })}`, 'text/csv')
        expect(semicolons.text.split('\n').filter(l => l !== '').map(l => l.replace(/^"[0-9a-f]{24}";/, ''))).toEqual(['"ada@example.com";1;"gold"', '"alan@example.com";2;"silver"', '"grace@example.com";3;"gold"'])
      })

      it('answers 406 for an Accept it cannot produce, after checking the query', async () => {
        for (const accept of ['image/png', 'application/vnd.ms-excel', 'text/csv;q=0']) {
          const res = await get('/single-views/customer_sv/export', accept)
          expect(res.status, accept).toBe(406)
          expect(res.body).toEqual({ statusCode: 406, error: 'Not Acceptable', message: `unsupported file type ${accept.split(';')[0] ?? ''}` })
        }
        const bad = await get('/single-views/customer_sv/export?_l=0', 'image/png')
        expect(bad.status).toBe(400)
        expect(bad.body).toEqual(invalid('_l must be >= 1'))
        await expect400(`/single-views/customer_sv/export?_exportOpts=${q({ bom: true })}`, '_exportOpts: unsupported option "bom"; braid supports delimiter, header and record_delimiter')
      })
    })

    describe('GET /single-views/{name}/schema', () => {
      it('answers the JSON schema derived from the view tree, which every stored view fits', async () => {
        const res = await get('/single-views/customer_sv/schema')
        expect(res.status).toBe(200)
        const sv = running.pipeline.singleViews.get('customer_sv')
        expect(sv).toBeDefined()
        expect(res.body).toEqual(singleViewSchema(running.pipeline, sv as NonNullable<typeof sv>))
        const customers = running.pipeline.projections.get('customers')
        expect((await get('/projections/customers/schema')).body).toEqual(projectionSchema(customers as NonNullable<typeof customers>))
        const validate = new Ajv({ strict: true, validateFormats: false, allErrors: true }).compile(res.body as object)
        const stored = (await get('/single-views/customer_sv/export?_st=PUBLIC,DELETED')).text.trimEnd().split('\n').map(l => JSON.parse(l) as Doc)
        expect(stored).toHaveLength(PUBLIC_VIEWS + 1)
        for (const doc of stored) expect(validate(doc), `${String(doc['email'])}: ${JSON.stringify(validate.errors)}`).toBe(true)
        expect(validate({ ...stored[0], __STATE__: 'GONE' })).toBe(false)
      })
    })

    describe('per-route parameters', () => {
      const routes = {
        list: '/single-views/customer_sv/',
        byId: `/single-views/customer_sv/${deletedId}`,
        count: '/single-views/customer_sv/count',
        export: '/single-views/customer_sv/export',
        projection: '/projections/customers/'
      }
      const undefinedParameter = (name: string): string => `querystring must NOT have additional properties. Property "${name}" is not defined in validation schema`

      it('answers 400 for a parameter the route does not define', async () => {
        const refused: Array<[string, string]> = [
          [routes.list, '_unknown'], [routes.list, '_exportOpts'], [routes.list, '_useEstimate'],
          [routes.byId, '_s'], [routes.byId, '_l'], [routes.byId, '_sk'], [routes.byId, '_exportOpts'],
          [routes.count, '_p'], [routes.count, '_rawp'], [routes.count, '_s'], [routes.count, '_l'], [routes.count, '_sk'],
          [routes.export, '_unknown'], [routes.export, '_useEstimate'],
          [routes.projection, '_unknown'], [routes.projection, '_exportOpts']
        ]
        for (const [url, name] of refused) await expect400(`${url}?${name}=1`, undefinedParameter(name))
      })

      it('accepts every parameter a route defines', async () => {
        expect((await get(`${routes.list}?_q=%7B%7D&_st=PUBLIC&_p=email&_s=email&_l=1&_sk=0`)).status).toBe(200)
        expect((await get(`${routes.byId}?_q=%7B%7D&_st=DELETED&_p=email`)).status).toBe(200)
        expect(await count(`${routes.count}?_q=%7B%7D&_st=PUBLIC&_useEstimate=false`)).toBe(String(PUBLIC_VIEWS))
        expect((await get(`${routes.export}?_q=%7B%7D&_st=PUBLIC&_p=email&_s=email&_l=1&_sk=0&_exportOpts=%7B%7D`)).status).toBe(200)
      })
    })

    describe('GET /projections/{name}/…', () => {
      it('serves the projection records with the same parameters', async () => {
        expect(await ok('/projections/customers/?_s=customerId&_l=2&_p=customerId,email,tierCode')).toEqual([
          { _id: expect.stringMatching(OBJECT_ID) as unknown, customerId: 1, email: 'ada@example.com', tierCode: 'gold' },
          { _id: expect.stringMatching(OBJECT_ID) as unknown, customerId: 2, email: 'alan@example.com', tierCode: 'silver' }
        ])
        expect(await count('/projections/customers/count')).toBe(String(PUBLIC_VIEWS))
        expect(await count('/projections/order_lines/count?orderId=100')).toBe('2')
        expect(await ok(`/projections/orders/?_q=${q({ total: { $gt: 9 } })}&_s=-total&_p=orderId,total`)).toEqual([
          { _id: expect.stringMatching(OBJECT_ID) as unknown, orderId: 100, total: 52.54 },
          { _id: expect.stringMatching(OBJECT_ID) as unknown, orderId: 101, total: 10 }
        ])
        const [gold] = await ok('/projections/tiers/?tierCode=gold') as Doc[]
        expect(await ok(`/projections/tiers/${String(gold?.['_id'])}`)).toEqual(gold)
        const { timestamp, ...record } = stable(gold as Doc)
        expect(String(timestamp)).toMatch(ISO)
        expect(record).toEqual({ tierCode: 'gold', name: 'Gold', discountPct: 10, __STATE__: 'PUBLIC' })
        await expect400('/projections/customers/?tier.code=gold', 'Unknown field: tier.code')
        const unknown = await get('/projections/customer_sv/')
        expect(unknown.status).toBe(404)
        expect(unknown.body).toEqual(notFound)
      })
    })
  })
}
