import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { castSchema, projectionSchema, singleViewSchema } from '../../src/api/schema.ts'
import { loadPipeline } from '../../src/config/index.ts'
import { silentLogger } from '../../src/logger.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import { builtinCasts } from '../../src/projections/casts.ts'
import { miaFiles, tempProject } from '../config/temp-project.ts'
import { openPipeline, retailConfig, retailMia, tempDir, type Running } from '../runtime/harness.ts'

const id = { type: 'string', pattern: '^[a-fA-F\\d]{24}$' }
const dateTime = { type: 'string', format: 'date-time' }
const state = { type: 'string', enum: ['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'] }
const nullable = <T extends object>(schema: T): T & { nullable: true } => ({ ...schema, nullable: true })
const string = { type: 'string' }
const integer = { type: 'integer' }
const number = { type: 'number' }
const boolean = { type: 'boolean' }
const projectionMeta = { __STATE__: state, createdAt: dateTime, updatedAt: dateTime, timestamp: dateTime }
const viewMeta = { __STATE__: state, createdAt: dateTime, updatedAt: dateTime }

const retailSchemas: Record<string, unknown> = {
  customers: {
    type: 'object',
    properties: {
      _id: id,
      customerId: integer,
      email: nullable(string),
      firstName: nullable(string),
      lastName: nullable(string),
      phone: nullable(string),
      tierCode: nullable(string),
      registeredAt: nullable(dateTime),
      ...projectionMeta
    },
    required: ['customerId']
  },
  tiers: {
    type: 'object',
    properties: { _id: id, tierCode: string, name: nullable(string), discountPct: nullable(number), ...projectionMeta },
    required: ['tierCode']
  },
  orders: {
    type: 'object',
    properties: {
      _id: id,
      orderId: integer,
      customerId: nullable(integer),
      status: nullable(string),
      total: nullable(number),
      currency: nullable(string),
      placedAt: nullable(dateTime),
      ...projectionMeta
    },
    required: ['orderId']
  },
  order_lines: {
    type: 'object',
    properties: { _id: id, orderId: integer, lineNo: integer, sku: nullable(string), quantity: nullable(integer), unitPrice: nullable(number), ...projectionMeta },
    required: ['orderId', 'lineNo']
  },
  preferences: {
    type: 'object',
    properties: {
      _id: id,
      email: string,
      newsletter: nullable(boolean),
      channels: nullable({ type: 'array', items: { type: 'object' } }),
      changedAt: nullable(dateTime),
      ...projectionMeta
    },
    required: ['email']
  }
}

const customerSvSchema = {
  type: 'object',
  properties: {
    _id: id,
    email: string,
    customerId: integer,
    firstName: nullable(string),
    lastName: nullable(string),
    phone: nullable(string),
    memberSince: nullable(dateTime),
    tier: { type: 'object', properties: { code: nullable(string), name: nullable(string), discountPct: nullable(number) } },
    marketing: { type: 'object', properties: { newsletter: nullable(boolean), channels: nullable({ type: 'array', items: { type: 'object' } }) } },
    orders: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          orderId: integer,
          status: nullable(string),
          total: nullable(number),
          currency: nullable(string),
          placedAt: nullable(dateTime),
          lines: {
            type: 'array',
            items: { type: 'object', properties: { lineNo: integer, sku: nullable(string), quantity: nullable(integer), unitPrice: nullable(number) } }
          }
        }
      }
    },
    ...viewMeta
  },
  required: ['email']
}

describe('GET /{kind}/{name}/schema on the retail example', () => {
  let running: Running
  let app: FastifyInstance

  beforeAll(async () => {
    running = await openPipeline(retailConfig, tempDir(), { start: false })
    app = await buildApp(running.service, { logger: silentLogger() })
  })

  afterAll(async () => {
    await app?.close()
    await running?.close()
  })

  it.each(Object.keys(retailSchemas))('describes the projection %s', async name => {
    const res = await app.inject({ method: 'GET', url: `/projections/${name}/schema` })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.json()).toStrictEqual(retailSchemas[name])
  })

  it('describes customer_sv from its view tree and the projection field types', async () => {
    const res = await app.inject({ method: 'GET', url: '/single-views/customer_sv/schema' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toStrictEqual(customerSvSchema)
    // Properties in document order, _id first: the CSV columns follow it.
    expect(Object.keys(res.json() as object)).toEqual(['type', 'properties', 'required'])
    expect(Object.keys((res.json() as { properties: object }).properties)).toEqual(['_id', 'email', 'customerId', 'firstName', 'lastName', 'phone', 'memberSince', 'tier', 'marketing', 'orders', '__STATE__', 'createdAt', 'updatedAt'])
  })

  it('answers 404 for an unknown view or projection', async () => {
    for (const url of ['/single-views/nope/schema', '/projections/customer_sv/schema', '/single-views/customers/schema']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(404)
      expect(res.json()).toEqual({ error: 'not found' })
    }
  })
})

describe('the schema derivation', () => {
  let retailNative: PipelineDefinition
  let retailFromMia: PipelineDefinition
  let features: PipelineDefinition

  beforeAll(async () => {
    retailNative = await loadPipeline(retailConfig)
    retailFromMia = await loadPipeline(retailMia)
    features = await loadPipeline(resolve(import.meta.dirname, '../fixtures/native/features.yaml'))
  })

  it('gives the same schemas for the retail example written natively and as a Mia project', () => {
    for (const [name, p] of retailNative.projections) {
      const mia = retailFromMia.projections.get(name)
      expect(mia, name).toBeDefined()
      if (mia !== undefined) expect(projectionSchema(mia), name).toStrictEqual(projectionSchema(p))
    }
    const sv = retailFromMia.singleViews.get('customer_sv')
    expect(sv).toBeDefined()
    if (sv !== undefined) expect(singleViewSchema(retailFromMia, sv)).toStrictEqual(customerSvSchema)
  })

  it('types every built-in cast, and leaves identity and custom casts unconstrained', () => {
    const expected: Record<string, unknown> = {
      identity: {},
      castToString: string,
      castToInteger: integer,
      castToFloat: number,
      castStringToBoolean: boolean,
      castUnixTimestampToISOString: dateTime,
      castToDate: dateTime,
      castToObject: { type: 'object' },
      castToArrayOfObject: { type: 'array', items: { type: 'object' } }
    }
    for (const [name, cast] of builtinCasts) {
      const bare = name.replace(/^default(.)/, (_, c: string) => c.toLowerCase()).replace('castUnitTimestamp', 'castUnixTimestamp')
      expect(castSchema(cast), name).toStrictEqual(expected[bare])
    }
    expect(castSchema(value => String(value))).toStrictEqual({})
  })

  it('describes a projection with identity and custom casts', () => {
    const customers = features.projections.get('customers')
    expect(customers).toBeDefined()
    if (customers === undefined) return
    expect(projectionSchema(customers)).toStrictEqual({
      type: 'object',
      properties: { _id: id, customer_id: integer, email: {}, name: {}, tier: {}, ...projectionMeta },
      required: ['customer_id']
    })
  })

  it('describes every kind of view node: from, join, outer references, constants, functions, select, object and nested objects', () => {
    const sv = features.singleViews.get('order_sv')
    expect(sv).toBeDefined()
    if (sv === undefined) return
    expect(singleViewSchema(features, sv)).toStrictEqual({
      type: 'object',
      properties: {
        _id: id,
        id: {},
        total: nullable(number),
        customer: { type: 'object', properties: { email: {}, name: {} } },
        lines: { type: 'array', items: { type: 'object', properties: { sku: {}, orderTotal: nullable(number) } } },
        source: string,
        missing: { nullable: true },
        score: {},
        size: {},
        meta: { type: 'object', properties: { from: string, join: string } },
        nested: { type: 'object', properties: { when: {}, total: nullable(number) } },
        ...viewMeta
      },
      required: ['id']
    })
  })

  it('types a select by its values: their common type (integers and numbers: number), nullable without a default, unconstrained when they differ', async () => {
    const dir = tempDir()
    writeFileSync(resolve(dir, 'braid.yaml'), `version: 1
projections:
  customers: { topic: t.customers, key: id, fields: { id: castToInteger, score: castToFloat, rank: castToFloat, name: castToString } }
singleViews:
  sv:
    base: customers
    key: id
    view:
      id: customers.id
      sameType:
        select:
          - when: { '>': [customers.score, { const: 1 }] }
            value: customers.rank
        default: customers.score
      noDefault:
        select:
          - when: { '>': [customers.score, { const: 1 }] }
            value: { const: high }
      mixed:
        select:
          - when: { '>': [customers.score, { const: 1 }] }
            value: customers.name
        default: customers.score
      integers:
        select:
          - when: { '>': [customers.score, { const: 1 }] }
            value: { const: 2 }
        default: { const: 1.5 }
`)
    const pipeline = await loadPipeline(resolve(dir, 'braid.yaml'))
    const sv = pipeline.singleViews.get('sv')
    expect(sv).toBeDefined()
    if (sv === undefined) return
    expect(singleViewSchema(pipeline, sv).properties).toStrictEqual({
      _id: id,
      id: integer,
      sameType: nullable(number),
      noDefault: nullable(string),
      mixed: {},
      integers: number,
      ...viewMeta
    })
  })
})

describe('the schema of a Mia view', () => {
  it('describes a config block that is not a join as a nullable object, and a join as an array', async () => {
    const dir = tempProject(miaFiles({
      'single-views/sv/aggregation.json': {
        version: '1.0.0',
        config: {
          SV_CONFIG: {
            dependencies: { customers: { type: 'projection', on: '_identifier' }, ORDERS: { type: 'config' }, LATEST: { type: 'config' } },
            mapping: { id: 'customers.id', name: 'customers.name', orders: 'ORDERS', latest: 'LATEST', source: '__string__[shop]', version: '__integer__[2]', flag: '__boolean__[true]' }
          },
          ORDERS: { joinDependency: 'orders', dependencies: { orders: { type: 'projection', on: 'customer_orders' } }, mapping: { id: 'orders.id' } },
          LATEST: { dependencies: { orders: { type: 'projection', on: 'customer_orders' } }, mapping: { id: 'orders.id', customer: 'orders.customerId' } }
        }
      }
    }))
    const pipeline = await loadPipeline(dir)
    const sv = pipeline.singleViews.get('sv')
    expect(sv).toBeDefined()
    if (sv === undefined) return
    expect(singleViewSchema(pipeline, sv)).toStrictEqual({
      type: 'object',
      properties: {
        _id: id,
        id: {},
        name: nullable(string),
        orders: { type: 'array', items: { type: 'object', properties: { id: {} } } },
        latest: nullable({ type: 'object', properties: { id: {}, customer: {} } }),
        source: string,
        version: integer,
        flag: boolean,
        ...viewMeta
      },
      required: ['id']
    })
  })
})
