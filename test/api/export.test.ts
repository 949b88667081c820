import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { csvCell, negotiateExport } from '../../src/api/export.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc, Filter } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import type { BraidService } from '../../src/runtime/types.ts'
import type { FindOptions, Store } from '../../src/storage/store.ts'
import { customerRow, openPipeline, retail, retailConfig, tempDir, topics, type Running } from '../runtime/harness.ts'

const CUSTOMERS = 2500
const tierOf = (id: number): string => ['bronze', 'silver', 'gold'][id % 3] as string

let running: Running
let app: FastifyInstance

interface Answer { status: number, text: string, contentType: string | undefined, headers: Record<string, unknown> }

async function get (url: string, accept?: string): Promise<Answer> {
  const res = await app.inject({ method: 'GET', url, ...(accept === undefined ? {} : { headers: { accept } }) })
  return { status: res.statusCode, text: res.body, contentType: res.headers['content-type'] as string | undefined, headers: res.headers }
}

const ndjson = (text: string): Doc[] => {
  expect(text === '' || text.endsWith('\n')).toBe(true)
  return text.split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Doc)
}
const q = (filter: Filter): string => encodeURIComponent(JSON.stringify(filter))
const ids = (docs: Doc[]): number[] => docs.map(d => Number(d['customerId']))
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** RFC 4180 reader: rows of cells (quotes removed, `""` read as `"`). */
function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted) {
      if (c !== '"') cell += c
      else if (text[i + 1] === '"') {
        cell += '"'
        i++
      } else quoted = false
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
    } else cell += c
  }
  expect(row).toEqual([])
  return rows
}

beforeAll(async () => {
  running = await openPipeline(retailConfig, tempDir())
  app = await buildApp(running.service, { logger: silentLogger() })
  const send = async (topic: string, messages: unknown[]): Promise<void> => {
    const res = await app.inject({ method: 'POST', url: `/ingest/${topic}`, payload: messages as Doc[] })
    expect(res.statusCode).toBe(202)
  }
  await send(topics.tiers, [retail.tier('bronze', 'Bronze', 0), retail.tier('silver', 'Silver', 5), retail.tier('gold', 'Gold', 10)])
  const rows = range(1, CUSTOMERS).map(id => customerRow(id, { tier_code: tierOf(id) }))
  rows[0] = customerRow(1, { first_name: 'Ada "The Countess"', last_name: 'Lovelace, Byron', phone: 'line 1\nline 2', tier_code: 'gold' })
  await send(topics.customers, rows.map(r => retail.customer(r)))
  await send(topics.preferences, [
    retail.preferences('customer.1@example.com', true, [{ channel: 'email', optIn: true }]),
    retail.preferences('customer.2@example.com', false)
  ])
  await send(topics.orders, [retail.order(100, 1, '52.54')])
  await running.service.idle(60_000)
  await running.service.store.write({
    put: [{ collection: 'customer_sv', id: keyId({ email: 'gone@example.com' }, ['email']), doc: { _id: '65f000000000000000000001', email: 'gone@example.com', customerId: 99999, __STATE__: 'DELETED', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' } }]
  })
}, 120_000)

afterAll(async () => {
  await app?.close()
  await running?.close()
})

describe('GET /{kind}/{name}/export: the format by Accept', () => {
  const small = `?_q=${q({ customerId: { $lte: 3 } })}&_s=customerId`
  const expected = async (): Promise<Doc[]> => JSON.parse((await get(`/single-views/customer_sv/${small}`)).text) as Doc[]

  it.each([
    ['no Accept', 'ndjson', undefined],
    ['an empty Accept', 'ndjson', ''],
    ['*/*', 'ndjson', '*/*'],
    ['application/x-ndjson', 'ndjson', 'application/x-ndjson'],
    ['application/*', 'ndjson', 'application/*'],
    ['application/json', 'json', 'application/json'],
    ['application/json with a charset', 'json', 'application/json; charset=utf-8'],
    ['text/csv', 'csv', 'text/csv'],
    ['text/*', 'csv', 'text/*'],
    ['the CRUD Service example: csv;q=0.7, ndjson, */*', 'ndjson', 'text/csv;q=0.7, application/x-ndjson, */*'],
    ['the highest weight', 'csv', 'application/json;q=0.5, text/csv;q=0.9'],
    ['the first of equal weights', 'json', 'application/json, text/csv'],
    ['the more specific of equal weights', 'csv', '*/*, text/csv'],
    ['a supported type after an unsupported preferred one', 'json', 'image/jpeg, application/json;q=0.1'],
    ['a type refused with q=0', 'json', 'text/csv;q=0, application/json;q=0.2'],
    ['upper case', 'csv', 'TEXT/CSV'],
    ['a header without any media range', 'ndjson', 'nonsense']
  ])('%s gives %s', async (_what, format, accept) => {
    const res = await get(`/single-views/customer_sv/export${small}`, accept)
    expect(res.status).toBe(200)
    const docs = await expected()
    expect(docs.map(d => d['customerId'])).toEqual([1, 2, 3])
    if (format === 'ndjson') {
      expect(res.contentType).toBe('application/x-ndjson')
      expect(ndjson(res.text)).toEqual(docs)
    } else if (format === 'json') {
      expect(res.contentType).toBe('application/json')
      expect(JSON.parse(res.text)).toEqual(docs)
    } else {
      expect(res.contentType).toBe('text/csv')
      const rows = parseCsv(res.text)
      expect(rows[0]?.[0]).toBe('_id')
      expect(rows.slice(1).map(r => r[0])).toEqual(docs.map(d => d['_id']))
    }
  })

  it.each([
    ['image/jpeg', 'image/jpeg'],
    ['application/xml, text/html;q=0.9', 'application/xml'],
    ['text/html;q=0.9, application/xml', 'application/xml'],
    ['application/vnd.ms-excel', 'application/vnd.ms-excel'],
    ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ['text/csv;q=0', 'text/csv']
  ])('Accept %s gives 406 naming %s', async (accept, type) => {
    for (const base of ['/single-views/customer_sv', '/projections/customers']) {
      const res = await app.inject({ method: 'GET', url: `${base}/export`, headers: { accept } })
      expect(res.statusCode).toBe(406)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      expect(res.json()).toEqual({ statusCode: 406, error: 'Not Acceptable', message: `unsupported file type ${type}` })
    }
  })

  it('checks the query before the Accept header, and answers 404 for an unknown collection', async () => {
    const bad = await get('/single-views/customer_sv/export?_st=GONE', 'image/png')
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.text)).toMatchObject({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request' })
    const unknown = await get('/single-views/nope/export')
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.text)).toEqual({ error: 'not found' })
  })

  it('negotiateExport picks by weight, then specificity, then order', () => {
    expect(negotiateExport(undefined)).toEqual({ format: 'ndjson' })
    expect(negotiateExport('text/csv;q=0.2, application/json;q=0.3')).toEqual({ format: 'json' })
    expect(negotiateExport('text/csv;q=abc')).toEqual({ format: 'csv' })
    expect(negotiateExport('text/csv;q=5, application/json;q=0.9')).toEqual({ format: 'csv' })
    expect(negotiateExport('image/png;q=0.9, image/gif')).toEqual({ unsupported: 'image/gif' })
  })
})

describe('GET /{kind}/{name}/export: CSV', () => {
  it('quotes every string, doubles quotes, keeps commas and newlines inside quotes and writes objects as JSON', async () => {
    const res = await get('/single-views/customer_sv/export?customerId=1&_p=email,firstName,lastName,phone,marketing.channels,tier', 'text/csv')
    expect(res.status).toBe(200)
    const [view] = ndjson((await get('/single-views/customer_sv/export?customerId=1')).text)
    const id = String(view?.['_id'])
    expect(res.text).toBe(
      '"_id","email","firstName","lastName","phone","marketing.channels","tier"\n' +
      `"${id}","customer.1@example.com","Ada ""The Countess""","Lovelace, Byron","line 1\nline 2","[{""channel"":""email"",""optIn"":true}]","{""code"":""gold"",""name"":""Gold"",""discountPct"":10}"\n`
    )
    expect(parseCsv(res.text)[1]).toEqual([id, 'customer.1@example.com', 'Ada "The Countess"', 'Lovelace, Byron', 'line 1\nline 2', '[{"channel":"email","optIn":true}]', '{"code":"gold","name":"Gold","discountPct":10}'])
  })

  it('writes numbers bare, booleans as 1 or empty, null and missing values empty, and arrays of a dotted column as JSON', async () => {
    const res = await get(`/single-views/customer_sv/export?_q=${q({ customerId: { $lte: 3 } })}&_s=customerId&_p=customerId,marketing.newsletter,tier.discountPct,orders.total,nothing`, 'text/csv')
    const rows = res.text.split('\n').map(line => line.replace(/^"[0-9a-f]{24}",/, '<id>,'))
    expect(rows).toEqual([
      '"_id","customerId","marketing.newsletter","tier.discountPct","orders.total","nothing"',
      '<id>,1,1,10,"[52.54]",',
      '<id>,2,,10,"[]",',
      '<id>,3,,0,"[]",',
      ''
    ])
  })

  it('has the schema fields as columns by default, _id first', async () => {
    const res = await get('/projections/customers/export?customerId=2', 'text/csv')
    const [header, row] = parseCsv(res.text)
    expect(header).toEqual(['_id', 'customerId', 'email', 'firstName', 'lastName', 'phone', 'tierCode', 'registeredAt', '__STATE__', 'createdAt', 'updatedAt', 'timestamp'])
    const [record] = ndjson((await get('/projections/customers/export?customerId=2')).text)
    expect(row).toEqual(header?.map(c => record?.[c] === undefined ? '' : String(record[c])))
    const view = parseCsv((await get('/single-views/customer_sv/export?customerId=2', 'text/csv')).text)
    expect(view[0]).toEqual(['_id', 'email', 'customerId', 'firstName', 'lastName', 'phone', 'memberSince', 'tier', 'marketing', 'orders', '__STATE__', 'createdAt', 'updatedAt'])
  })

  it('writes a header only when nothing matches', async () => {
    const res = await get('/projections/tiers/export?tierCode=platinum&_p=name', 'text/csv')
    expect(res.status).toBe(200)
    expect(res.text).toBe('"_id","name"\n')
  })

  it('writes every row of a multi-page export, readable back', async () => {
    const res = await get('/projections/customers/export?_p=customerId,firstName,lastName,phone&_s=customerId', 'text/csv')
    const rows = parseCsv(res.text)
    expect(rows).toHaveLength(CUSTOMERS + 1)
    expect(rows.slice(1).map(r => Number(r[1]))).toEqual(range(1, CUSTOMERS))
    expect(rows[1]?.slice(2)).toEqual(['Ada "The Countess"', 'Lovelace, Byron', 'line 1\nline 2'])
    expect(rows[CUSTOMERS]?.slice(2)).toEqual([`First${CUSTOMERS}`, `Last${CUSTOMERS}`, `+39 0${CUSTOMERS}`])
  })

  it('csvCell renders each JSON type', () => {
    expect(csvCell('a"b')).toBe('"a""b"')
    expect(csvCell('')).toBe('""')
    expect(csvCell(-1.5)).toBe('-1.5')
    expect(csvCell(true)).toBe('1')
    expect(csvCell(false)).toBe('')
    expect(csvCell(null)).toBe('')
    expect(csvCell(undefined)).toBe('')
    expect(csvCell({ a: [1, 'x'] })).toBe('"{""a"":[1,""x""]}"')
  })
})

describe('GET /{kind}/{name}/export: filters, paging and size', () => {
  it('exports every document, over several pages, as many as /count counts', async () => {
    const count = Number((await get('/single-views/customer_sv/count')).text)
    expect(count).toBe(CUSTOMERS)
    const res = await get('/single-views/customer_sv/export')
    expect(res.status).toBe(200)
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(res.headers['content-length']).toBeUndefined()
    const docs = ndjson(res.text)
    expect(docs).toHaveLength(count)
    expect(new Set(ids(docs)).size).toBe(count)
    expect(new Set(docs.map(d => d['__STATE__']))).toEqual(new Set(['PUBLIC']))
    const json = JSON.parse((await get('/single-views/customer_sv/export', 'application/json')).text) as Doc[]
    expect(json).toEqual(docs)
    const projection = ndjson((await get('/projections/customers/export')).text)
    expect(projection).toHaveLength(Number((await get('/projections/customers/count')).text))
    for (const doc of projection) expect(Object.keys(doc).filter(k => k.startsWith('__internal__'))).toEqual([])
  })

  it.each([
    ['field=value', 'tier.code=gold'],
    ['_q', `_q=${q({ 'tier.code': { $in: ['gold', 'silver'] }, customerId: { $gt: 1000 } })}`],
    ['_q and field=value', `_q=${q({ $or: [{ customerId: { $lt: 10 } }, { customerId: { $gt: 2490 } }] })}&tier.code=bronze`],
    ['_st', '_st=DELETED'],
    ['_st with several states', '_st=PUBLIC,DELETED']
  ])('exports as many documents as /count counts with %s', async (_what, params) => {
    const count = Number((await get(`/single-views/customer_sv/count?${params}`)).text)
    expect(count).toBeGreaterThan(0)
    const docs = ndjson((await get(`/single-views/customer_sv/export?${params}`)).text)
    expect(docs).toHaveLength(count)
    const sorted = ndjson((await get(`/single-views/customer_sv/export?${params}&_s=-customerId`)).text)
    expect(ids(sorted)).toEqual(ids(docs).sort((a, b) => b - a))
  })

  it('sorts with _s across pages', async () => {
    const desc = ndjson((await get('/single-views/customer_sv/export?_s=-customerId')).text)
    expect(ids(desc)).toEqual(range(1, CUSTOMERS).reverse())
    const byTier = ndjson((await get(`/single-views/customer_sv/export?_s=tier.code,-customerId&_q=${q({ customerId: { $gt: 100 } })}`)).text)
    const expected = range(101, CUSTOMERS).sort((a, b) => tierOf(a).localeCompare(tierOf(b)) || b - a)
    expect(ids(byTier)).toEqual(expected)
  })

  it('has no page limit, and pages with _l and _sk', async () => {
    const all = ndjson((await get('/single-views/customer_sv/export')).text)
    expect(ids(ndjson((await get('/single-views/customer_sv/export?_l=1500&_sk=700')).text))).toEqual(ids(all.slice(700, 2200)))
    expect(ids(ndjson((await get('/single-views/customer_sv/export?_l=2300')).text))).toEqual(ids(all.slice(0, 2300)))
    expect(ids(ndjson((await get('/single-views/customer_sv/export?_sk=2498')).text))).toEqual(ids(all.slice(2498)))
    expect(ndjson((await get('/single-views/customer_sv/export?_sk=5000')).text)).toEqual([])
    expect(ids(ndjson((await get('/single-views/customer_sv/export?_s=customerId&_l=5&_sk=10')).text))).toEqual([11, 12, 13, 14, 15])
    expect(ids(ndjson((await get('/single-views/customer_sv/export?_s=-customerId&_l=1200&_sk=900')).text))).toEqual(range(401, 1600).reverse())
    expect(ndjson((await get('/single-views/customer_sv/export?_l=1')).text)).toHaveLength(1)
  })

  it('answers 400 for an invalid _l or _sk', async () => {
    for (const params of ['_l=0', '_l=abc', '_l=-1', '_sk=-1', '_sk=x']) {
      const res = await get(`/single-views/customer_sv/export?${params}`)
      expect(res.status, params).toBe(400)
      expect(JSON.parse(res.text), params).toMatchObject({ statusCode: 400, code: 'BRAID_QUERY_INVALID' })
    }
  })

  it('selects fields with _p, with and without _s', async () => {
    for (const sort of ['', '&_s=customerId']) {
      const docs = ndjson((await get(`/single-views/customer_sv/export?_p=email,tier.code${sort}`)).text)
      expect(docs).toHaveLength(CUSTOMERS)
      for (const doc of docs) expect(Object.keys(doc).sort()).toEqual(['_id', 'email', 'tier'])
      expect(docs.find(d => d['email'] === 'customer.1@example.com')?.['tier']).toEqual({ code: 'gold' })
    }
  })
})

describe('GET /{kind}/{name}/schema against the documents', () => {
  it.each([
    ['/single-views/customer_sv'], ['/projections/customers'], ['/projections/tiers'], ['/projections/orders'], ['/projections/preferences'], ['/projections/order_lines']
  ])('every document of %s fits its schema', async base => {
    const schema = JSON.parse((await get(`${base}/schema`)).text) as object
    const validate = new Ajv({ strict: true, validateFormats: false, allErrors: true }).compile(schema)
    const docs = ndjson((await get(`${base}/export?_st=PUBLIC,DELETED`)).text)
    for (const doc of docs) {
      if (!validate(doc)) expect.fail(`${JSON.stringify(doc)}: ${JSON.stringify(validate.errors)}`)
    }
    const broken = { ...docs[0], _id: 'not an id', __STATE__: 'GONE' }
    expect(validate(broken)).toBe(false)
  })
})

describe('GET /{kind}/{name}/: streamed JSON array', () => {
  it('answers application/json in the CRUD Service layout', async () => {
    const res = await get(`/single-views/customer_sv/?_s=customerId&_l=2&_p=customerId`)
    expect(res.status).toBe(200)
    expect(res.contentType).toBe('application/json')
    const docs = JSON.parse(res.text) as Doc[]
    expect(res.text).toBe(`[\n${JSON.stringify(docs[0])}\n,\n${JSON.stringify(docs[1])}\n]\n`)
    expect(ids(docs)).toEqual([1, 2])
  })

  it('answers an empty array when nothing matches, and ignores Accept', async () => {
    const res = await get('/single-views/customer_sv/?email=nobody@example.com', 'text/csv')
    expect(res.status).toBe(200)
    expect(res.contentType).toBe('application/json')
    expect(res.text).toBe('[\n\n]\n')
  })

  it('keeps its default of 25 and its maximum of 200', async () => {
    expect(JSON.parse((await get('/single-views/customer_sv/')).text)).toHaveLength(25)
    expect(JSON.parse((await get('/single-views/customer_sv/?_l=200')).text)).toHaveLength(200)
    expect((await get('/single-views/customer_sv/?_l=201')).status).toBe(400)
  })
})

// ---------------------------------------------------------------- how the store is read

interface StoreCalls {
  scans: Array<{ batchSize: number | undefined, pages: number, finished: boolean }>
  finds: FindOptions[]
  /** Delay before every scan page after the first, ms. */
  delay: number
}

/** The service with its store wrapped to record scan and find calls. */
function spied (service: BraidService): { service: BraidService, calls: StoreCalls } {
  const calls: StoreCalls = { scans: [], finds: [], delay: 0 }
  const inner = service.store
  const store = new Proxy(inner, {
    get (target, prop) {
      if (prop === 'scan') {
        return async function * (collection: string, filter: Filter, batchSize?: number): AsyncGenerator<Doc[]> {
          const entry = { batchSize, pages: 0, finished: false }
          calls.scans.push(entry)
          try {
            for await (const page of target.scan(collection, filter, batchSize)) {
              if (entry.pages > 0 && calls.delay > 0) await new Promise(resolve => setTimeout(resolve, calls.delay))
              entry.pages++
              yield page
            }
          } finally {
            entry.finished = true
          }
        }
      }
      if (prop === 'find') {
        return async (collection: string, filter: Filter, options?: FindOptions) => {
          calls.finds.push(options ?? {})
          return await target.find(collection, filter, options)
        }
      }
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  }) as Store
  const wrapped = new Proxy(service, {
    get (target, prop) {
      if (prop === 'store') return store
      const value = Reflect.get(target, prop, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
  return { service: wrapped, calls }
}

describe('GET /{kind}/{name}/export: reading the store in pages', () => {
  let spyApp: FastifyInstance
  let calls: StoreCalls

  beforeAll(async () => {
    const s = spied(running.service)
    calls = s.calls
    spyApp = await buildApp(s.service, { logger: silentLogger() })
  })

  afterAll(async () => {
    await spyApp?.close()
  })

  it('scans in pages of 1000 without _s, and never loads the whole collection with find', async () => {
    calls.scans.length = 0
    calls.finds.length = 0
    const res = await spyApp.inject({ method: 'GET', url: '/single-views/customer_sv/export' })
    expect(ndjson(res.body)).toHaveLength(CUSTOMERS)
    expect(calls.finds).toEqual([])
    expect(calls.scans).toEqual([{ batchSize: 1000, pages: 3, finished: true }])
  })

  it('reads no more than _sk + _l documents without _s', async () => {
    calls.scans.length = 0
    await spyApp.inject({ method: 'GET', url: '/single-views/customer_sv/export?_l=10&_sk=5' })
    expect(calls.scans).toEqual([{ batchSize: 15, pages: 1, finished: true }])
  })

  it('pages through find with skip and limit with _s', async () => {
    calls.scans.length = 0
    calls.finds.length = 0
    const res = await spyApp.inject({ method: 'GET', url: '/single-views/customer_sv/export?_s=customerId&_sk=100' })
    expect(ids(ndjson(res.body))).toEqual(range(101, CUSTOMERS))
    expect(calls.scans).toEqual([])
    expect(calls.finds.map(f => [f.skip, f.limit])).toEqual([[100, 1000], [1100, 1000], [2100, 1000]])
    expect(calls.finds.every(f => JSON.stringify(f.sort) === '{"customerId":1}')).toBe(true)
    calls.finds.length = 0
    await spyApp.inject({ method: 'GET', url: '/single-views/customer_sv/export?_s=customerId&_l=1500' })
    expect(calls.finds.map(f => [f.skip, f.limit])).toEqual([[0, 1000], [1000, 500]])
  })

  it('stops reading when the client goes away', async () => {
    calls.scans.length = 0
    calls.delay = 200
    await spyApp.listen({ port: 0, host: '127.0.0.1' })
    try {
      const { port } = spyApp.server.address() as AddressInfo
      const firstChunk = await new Promise<string>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/single-views/customer_sv/export' }, (res: IncomingMessage) => {
          res.once('data', (chunk: Buffer) => {
            req.destroy()
            resolve(chunk.toString('utf8'))
          })
        })
        req.on('error', err => { if (!req.destroyed) reject(err) })
        req.end()
      })
      expect(firstChunk.length).toBeGreaterThan(0)
      const scan = calls.scans[0]
      await new Promise(resolve => setTimeout(resolve, 600))
      expect(scan?.finished).toBe(true)
      expect(scan?.pages).toBeLessThan(3)
    } finally {
      calls.delay = 0
    }
  })
})

describe('HEAD /{kind}/{name}/export', () => {
  it('answers the status and content type without reading past the first page', async () => {
    const { service, calls } = spied(running.service)
    const headApp = await buildApp(service, { logger: silentLogger() })
    try {
      const res = await headApp.inject({ method: 'HEAD', url: '/single-views/customer_sv/export', headers: { accept: 'text/csv' } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('text/csv')
      expect(res.body).toBe('')
      expect(calls.scans).toEqual([{ batchSize: 1000, pages: 1, finished: true }])
      expect((await headApp.inject({ method: 'HEAD', url: '/single-views/customer_sv/export?_l=x' })).statusCode).toBe(400)
      expect((await headApp.inject({ method: 'HEAD', url: '/single-views/customer_sv/export', headers: { accept: 'image/png' } })).statusCode).toBe(406)
    } finally {
      await headApp.close()
    }
  })
})
