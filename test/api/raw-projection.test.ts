import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { parseExportOptions } from '../../src/api/export.ts'
import { applyRawProjection, FORBIDDEN_VARIABLES, parseRawProjection, rawProjectionFields } from '../../src/api/raw-projection.ts'
import type { DocumentSchema } from '../../src/api/schema.ts'
import { BraidError } from '../../src/errors.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { customerRow, openPipeline, retail, retailConfig, tempDir, topics, type Running } from '../runtime/harness.ts'

const schema: DocumentSchema = {
  type: 'object',
  properties: { _id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer' }, orders: { type: 'array', items: { type: 'object' } } },
  required: []
}

function thrown (fn: () => unknown): BraidError {
  try {
    fn()
  } catch (err) {
    if (err instanceof BraidError) return err
    throw err
  }
  throw new Error('did not throw')
}

describe('_rawp', () => {
  it('raw projection should accept inclusion, exclusion and the allowed expression operators on schema fields', () => {
    expect(parseRawProjection('{"name":1}', schema)).toEqual({ name: 1 })
    expect(parseRawProjection('{"orders":0}', schema)).toEqual({ orders: 0 })
    const big = { big: { $filter: { input: '$orders', as: 'o', cond: { $gt: ['$$o.total', 10] } } }, n: { $size: '$orders' }, first: { $first: '$orders' } }
    expect(parseRawProjection(JSON.stringify(big), schema)).toEqual(big)
  })

  it('raw projection should refuse operators off the list, fields not in the schema and the system variables, in the CRUD Service\'s words', () => {
    expect(thrown(() => parseRawProjection('{"x":{"$toUpper":"$name"}}', schema)).message).toBe('Operator $toUpper is not allowed in raw projection')
    expect(thrown(() => parseRawProjection('{"x":"$secret"}', schema)).message).toBe('Operator $secret is not allowed in raw projection')
    for (const variable of FORBIDDEN_VARIABLES) {
      expect(thrown(() => parseRawProjection(JSON.stringify({ x: { $first: variable } }), schema)).message).toBe(`Operator ${variable} is not allowed in raw projection`)
    }
  })

  it('raw projection should refuse text that is not a JSON object', () => {
    expect(thrown(() => parseRawProjection('{nope', schema)).message).toMatch(/^_rawp is not valid JSON: /)
    expect(thrown(() => parseRawProjection('[1]', schema)).message).toBe('_rawp must be a JSON object (a MongoDB projection)')
  })

  it('raw projection should drop null values and keep only _id when nothing is left', () => {
    expect(parseRawProjection('{"name":null}', schema)).toEqual({ _id: 1 })
  })

  it('raw projection should compute expressions with _id first, and name its CSV columns', () => {
    const doc: Doc = { name: 'Ada', age: 36, orders: [{ total: 5 }, { total: 50 }], _id: 'x1' }
    expect(Object.keys(applyRawProjection(doc, { name: 1 }))).toEqual(['_id', 'name'])
    expect(applyRawProjection(doc, { big: { $filter: { input: '$orders', as: 'o', cond: { $gt: ['$$o.total', 10] } } } })).toEqual({ _id: 'x1', big: [{ total: 50 }] })
    expect(applyRawProjection(doc, { orders: 0, _id: 0 })).toEqual({ name: 'Ada', age: 36 })
    expect(rawProjectionFields({ name: 1, n: { $size: '$orders' } }, ['_id', 'name', 'age'])).toEqual(['_id', 'name', 'n'])
    expect(rawProjectionFields({ _id: 0, name: 1 }, ['_id', 'name', 'age'])).toEqual(['name'])
    expect(rawProjectionFields({ age: 0 }, ['_id', 'name', 'age'])).toEqual(['_id', 'name'])
  })

  it('raw projection should report a projection that cannot be applied as 400 with the reason in details', () => {
    const err = thrown(() => applyRawProjection({ _id: 'x', name: 'Ada' }, { a: 1, b: 0 }))
    expect(err.code).toBe('BRAID_QUERY_INVALID')
    expect(err.message).toBe('_rawp could not be applied (see details.reason)')
    expect(typeof err.details['reason']).toBe('string')
  })
})

describe('_exportOpts', () => {
  it('export options should accept delimiter, header and record_delimiter, and refuse anything else', () => {
    expect(parseExportOptions('{"delimiter":";","header":false,"record_delimiter":"windows"}')).toEqual({ delimiter: ';', header: false, record_delimiter: 'windows' })
    expect(thrown(() => parseExportOptions('{"quoted":true}')).message).toBe('_exportOpts: unsupported option "quoted"; braid supports delimiter, header and record_delimiter')
    expect(thrown(() => parseExportOptions('{"delimiter":""}')).message).toMatch(/^_exportOpts.delimiter must be/)
    expect(thrown(() => parseExportOptions('nope')).message).toMatch(/^_exportOpts is not valid JSON/)
  })
})

describe('the read routes with _rawp, _exportOpts and _useEstimate', () => {
  let running: Running
  let app: FastifyInstance

  beforeAll(async () => {
    running = await openPipeline(retailConfig, tempDir())
    app = await buildApp(running.service, { logger: silentLogger() })
    await running.service.ingest(topics.tiers, [retail.tier('gold', 'Gold', 10)])
    await running.service.ingest(topics.customers, [
      retail.customer(customerRow(1, { email: 'ada@example.com', first_name: 'Ada', tier_code: 'gold' })),
      retail.customer(customerRow(2, { email: 'alan@example.com', first_name: 'Alan', tier_code: 'gold' }))
    ])
    await running.service.ingest(topics.orders, [retail.order(100, 1, '52.54'), retail.order(101, 1, '5.00')])
    await running.service.idle()
  })

  afterAll(async () => {
    await app?.close()
    await running?.close()
  })

  const get = async (url: string, accept?: string): Promise<{ status: number, text: string, body: unknown }> => {
    const res = await app.inject({ url, headers: accept === undefined ? {} : { accept } })
    return { status: res.statusCode, text: res.body, body: res.headers['content-type']?.toString().includes('json') === true && !res.body.includes('\n{') ? res.json() : undefined }
  }
  const rawp = (p: unknown): string => `_rawp=${encodeURIComponent(JSON.stringify(p))}`

  it('GET / applies _rawp to every document, expressions included', async () => {
    const res = await get(`/single-views/customer_sv/?_s=email&${rawp({ email: 1, bigOrders: { $filter: { input: '$orders', as: 'o', cond: { $gt: ['$$o.total', 10] } } } })}`)
    expect(res.status).toBe(200)
    const docs = JSON.parse(res.text) as Doc[]
    expect(docs.map(d => Object.keys(d)[0])).toEqual(['_id', '_id'])
    expect(docs.map(d => Object.keys(d).sort())).toEqual([['_id', 'bigOrders', 'email'], ['_id', 'bigOrders', 'email']])
    expect((docs[0]?.['bigOrders'] as Doc[]).map(o => o['orderId'])).toEqual([100])
    expect(docs[1]?.['bigOrders']).toEqual([])
  })

  it('GET /{id} applies _rawp and _p', async () => {
    const [ada] = JSON.parse((await get('/single-views/customer_sv/?email=ada@example.com')).text) as Doc[]
    const id = String(ada?.['_id'])
    expect(JSON.parse((await get(`/single-views/customer_sv/${id}?${rawp({ orders: 0, tier: 0 })}`)).text)).not.toHaveProperty('orders')
    expect(JSON.parse((await get(`/single-views/customer_sv/${id}?_p=email`)).text)).toEqual({ _id: id, email: 'ada@example.com' })
  })

  it('answers 400 for _rawp with _p, a forbidden operator or variable, in the CRUD Service\'s bodies', async () => {
    const cases: Array<[string, string]> = [
      [`_p=email&${rawp({ email: 1 })}`, 'Use of both _rawp and _p parameter is not allowed'],
      [rawp({ x: { $first: '$$ROOT' } }), 'Operator $$ROOT is not allowed in raw projection'],
      [rawp({ x: { $toUpper: '$email' } }), 'Operator $toUpper is not allowed in raw projection']
    ]
    for (const [query, message] of cases) {
      for (const path of ['/', '/export', '/65f000000000000000000001']) {
        const res = await app.inject(`/single-views/customer_sv${path}?${query}`)
        expect(res.statusCode, `${path}?${query}`).toBe(400)
        expect(res.json()).toEqual({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request', message, details: {} })
      }
    }
  })

  it('exports CSV with _exportOpts and the _rawp columns', async () => {
    const res = await get(`/single-views/customer_sv/export?_s=email&_exportOpts=${encodeURIComponent('{"delimiter":";"}')}&${rawp({ email: 1, n: { $size: '$orders' } })}`, 'text/csv')
    expect(res.status).toBe(200)
    const lines = res.text.trimEnd().split('\n')
    expect(lines[0]).toBe('"_id";"email";"n"')
    expect(lines.slice(1).map(l => l.split(';').slice(1).join(';'))).toEqual(['"ada@example.com";2', '"alan@example.com";0'])
    const headless = await get(`/single-views/customer_sv/export?_p=email&_exportOpts=${encodeURIComponent('{"header":false,"record_delimiter":"windows"}')}`, 'text/csv')
    expect(headless.text.split('\r\n').filter(l => l !== '')).toHaveLength(2)
    expect(headless.text).not.toContain('"_id"')
  })

  it('ignores _exportOpts for ndjson and answers 400 for an unsupported option', async () => {
    const res = await get(`/single-views/customer_sv/export?_exportOpts=${encodeURIComponent('{"delimiter":";"}')}`)
    expect(res.status).toBe(200)
    expect(res.text.trimEnd().split('\n')).toHaveLength(2)
    expect((await app.inject(`/single-views/customer_sv/export?_exportOpts=${encodeURIComponent('{"bom":true}')}`)).statusCode).toBe(400)
  })

  it('counts every document with _useEstimate=true, and answers 400 for a value that is not a boolean', async () => {
    expect((await get('/projections/customers/count?_useEstimate=true&_st=DELETED')).text).toBe('2')
    expect((await get('/projections/customers/count?_st=DELETED')).text).toBe('0')
    const bad = await app.inject('/projections/customers/count?_useEstimate=yes')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toBe('querystring/_useEstimate must be boolean')
  })
})
