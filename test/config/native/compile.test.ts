import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkPipeline, loadPipeline } from '../../../src/config/index.ts'
import type { PipelineDefinition, SingleViewDefinition } from '../../../src/model/single-view.ts'
import { tempProject } from '../temp-project.ts'

const features = resolve(import.meta.dirname, '../../fixtures/native/features.yaml')
const functions = resolve(import.meta.dirname, '../../fixtures/native/functions')

let loaded: PipelineDefinition | undefined
async function pipeline (): Promise<PipelineDefinition> {
  loaded ??= await loadPipeline(features)
  return loaded
}
async function view (): Promise<SingleViewDefinition> {
  const sv = (await pipeline()).singleViews.get('order_sv')
  if (sv === undefined) throw new Error('no order_sv')
  return sv
}

const shop = (singleViews: string, relations = '  customer_orders: { from: customers, to: orders, on: { customerId: id }, cardinality: one-to-many }\n'): string => `version: 1
projections:
  customers: { topic: t.customers, key: id, fields: { id: null, email: null, kind: null } }
  orders: { topic: t.orders, key: id, fields: { id: null, customerId: null } }
relations:
${relations}singleViews:
${singleViews}`

describe('the native front door', () => {
  it('native projections should compile with their formats, field shorthands and options', async () => {
    const p = await pipeline()
    expect(p.system).toBe('shop')
    const customers = p.projections.get('customers')
    expect(customers).toMatchObject({
      collection: 'pr_customers',
      topic: 'shop.customers',
      prUpdateTopic: 'shop.customers.pr-update',
      format: { type: 'debezium' },
      sourceKey: ['customer_id'],
      key: ['customer_id'],
      softDelete: false,
      system: 'shop'
    })
    expect(customers?.fields.map(f => [f.source, f.target, f.castName])).toEqual([
      ['customer_id', 'customer_id', 'castToInteger'],
      ['email', 'email', 'identity'],
      ['full_name', 'name', 'titleCase'],
      ['tier', 'tier', 'identity']
    ])
    expect(customers?.fields[2]?.cast('ada lovelace', 'full_name')).toBe('Ada Lovelace')
    expect(p.projections.get('orders')).toMatchObject({ format: { type: 'golden-gate', usePosAsCounter: false }, system: 'webshop', key: ['orderId'], collection: 'orders', softDelete: true })
    const lines = p.projections.get('lines')
    expect(lines?.format).toMatchObject({ type: 'custom', adapterFile: resolve(functions, 'adapter.js') })
    expect(typeof lines?.format.adapter).toBe('function')
  })

  it('a native relation should give an ER edge of its name and a reverse edge named <name>__reverse', async () => {
    const edges = [...(await pipeline()).er.edges.values()]
    expect(edges).toEqual([
      { name: 'customer_orders', from: 'customers', to: 'orders', condition: { customerId: 'customer_id' }, oneToMany: true },
      { name: 'customer_orders__reverse', from: 'orders', to: 'customers', condition: { customer_id: 'customerId' }, oneToMany: false },
      { name: 'order_lines', from: 'orders', to: 'lines', condition: { orderId: 'orderId', kind: '__string__[product]' }, oneToMany: true },
      { name: 'order_lines__reverse', from: 'lines', to: 'orders', condition: { orderId: 'orderId' }, oneToMany: false }
    ])
  })

  it('a native view should follow a relation in reverse when its enclosing record is the relation target', async () => {
    const sv = await view()
    expect(sv.root.dependencies).toEqual([
      { kind: 'projection', name: 'o', projection: 'orders', link: { kind: 'identifier', queryMapping: { orderId: '_identifier.id' } }, onStates: ['PUBLIC', 'DRAFT'] },
      { kind: 'projection', name: 'buyer', projection: 'customers', link: { kind: 'condition', condition: 'customer_orders__reverse', useAlias: 'o' }, onStates: ['PUBLIC'] },
      { kind: 'config', name: 'lines' }
    ])
    expect(sv.blocks.get('lines')).toEqual({
      name: 'lines',
      joinDependency: 'lines',
      dependencies: [{ kind: 'projection', name: 'lines', projection: 'lines', link: { kind: 'condition', condition: 'order_lines', useAlias: 'o' }, onStates: ['PUBLIC'] }],
      mapping: [['sku', { kind: 'field', dependency: 'lines', path: 'sku' }], ['orderTotal', { kind: 'field', dependency: 'o', path: 'total' }]]
    })
    expect(sv).toMatchObject({ baseDependency: 'o', baseProjection: 'orders', key: { id: 'id' }, identifierFields: ['id'] })
  })

  it('a native view should compile const, fn, select, object and nested-object nodes', async () => {
    const mapping = Object.fromEntries((await view()).root.mapping)
    expect(mapping['customer']).toEqual({ kind: 'object', fields: [['email', { kind: 'field', dependency: 'buyer', path: 'email' }], ['name', { kind: 'field', dependency: 'buyer', path: 'name' }]] })
    expect(mapping['lines']).toEqual({ kind: 'config', config: 'lines' })
    expect(mapping['source']).toEqual({ kind: 'constant', value: 'webshop' })
    expect(mapping['missing']).toEqual({ kind: 'constant', value: null })
    expect(mapping['score']).toEqual({ kind: 'function', name: 'functions/score' })
    expect(mapping['size']).toEqual({
      kind: 'select',
      select: {
        options: [
          { when: { op: '>=', left: { kind: 'field', dependency: 'o', path: 'total' }, right: { kind: 'constant', value: 100 } }, value: { kind: 'constant', value: 'large' } },
          { when: { op: '==', left: { kind: 'function', name: 'functions/is-vip' }, right: { kind: 'constant', value: true } }, value: { kind: 'constant', value: 'vip' } },
          { when: { op: '!=', left: { kind: 'field', dependency: 'buyer', path: 'email' }, right: { kind: 'constant', value: null } }, value: { kind: 'field', dependency: 'buyer', path: 'email' } }
        ],
        default: { kind: 'constant', value: 'small' }
      }
    })
    expect(mapping['meta']).toEqual({ kind: 'object', fields: [['from', { kind: 'constant', value: 'native' }], ['join', { kind: 'constant', value: 'no' }]] })
    expect(mapping['nested']).toEqual({ kind: 'object', fields: [['when', { kind: 'field', dependency: 'o', path: 'orderId' }], ['total', { kind: 'field', dependency: 'o', path: 'total' }]] })
  })

  it('a native view should load its functions, validator, patch rules and manual strategies', async () => {
    const sv = await view()
    expect([...sv.functions.keys()]).toEqual(['functions/score', 'functions/is-vip'])
    expect(await sv.functions.get('functions/score')?.(undefined, undefined, new Map([['o', { total: 7 }]]))).toBe(7)
    expect(await sv.validator?.(undefined, { id: 1 })).toBe(true)
    expect(sv.patchRules.map(r => [r.projection, r.actionName])).toEqual([['customers', './functions/patch-customer.js']])
    expect([...sv.manualStrategies.keys()]).toEqual(['lines'])
    expect(sv).toMatchObject({ upsert: 'update', delete: 'virtualDelete', collection: 'orders_view', svUpdateTopic: 'shop.order_sv.sv-update' })
  })

  it('a native view key may be one field, a list of fields, or view fields mapped to base fields', async () => {
    for (const [key, expected] of [['email', { email: 'email' }], ['[id, email]', { id: 'id', email: 'email' }], ['{ mail: email }', { mail: 'mail' }]] as const) {
      const dir = tempProject({ 'braid.yaml': shop(`  sv:\n    base: customers\n    key: ${key}\n    view: { id: customers.id, email: customers.email, mail: customers.email }\n`) })
      const result = await checkPipeline(dir)
      expect(result.problems).toEqual([])
      expect(result.pipeline?.singleViews.get('sv')?.key).toEqual(expected)
    }
  })

  it('a native view should pick the reverse edge when asked with <relation>__reverse', async () => {
    const relations = '  manager: { from: customers, to: customers, on: { id: kind } }\n'
    const dir = tempProject({
      'braid.yaml': shop('  sv:\n    base: customers\n    key: id\n    view:\n      id: customers.id\n      boss: { from: customers, as: boss, via: manager, view: { id: boss.id } }\n      report: { from: customers, as: report, via: manager__reverse, view: { id: report.id } }\n', relations)
    })
    const result = await checkPipeline(dir)
    expect(result.problems).toEqual([])
    const deps = result.pipeline?.singleViews.get('sv')?.root.dependencies.map(d => d.kind === 'projection' && d.link.kind === 'condition' ? d.link.condition : d.name)
    expect(deps).toEqual(['customers', 'manager', 'manager__reverse'])
  })

  it('a native relation with constants cannot be followed in reverse', async () => {
    const relations = '  gold_customers: { from: orders, to: customers, on: { id: customerId, kind: { const: gold } } }\n'
    const dir = tempProject({ 'braid.yaml': shop('  sv:\n    base: customers\n    key: id\n    view:\n      id: customers.id\n      orders: { join: orders, via: gold_customers, view: { id: orders.id } }\n', relations) })
    expect((await checkPipeline(dir)).problems).toEqual([
      'singleViews.sv.view.orders.via: relation "gold_customers" compares "customers" fields with constants, so it cannot be followed from "customers" to "orders"'
    ])
  })

  it('a native select value cannot declare related records', async () => {
    const dir = tempProject({ 'braid.yaml': shop('  sv:\n    base: customers\n    key: id\n    view:\n      id: customers.id\n      x:\n        select:\n          - when: { "==": [customers.kind, null] }\n            value: { join: orders, via: customer_orders, view: { id: orders.id } }\n') })
    expect((await checkPipeline(dir)).problems).toEqual([
      'singleViews.sv.view.x.select[0].value: a select value cannot be a join or a from: declare the related record outside the select and reference its fields'
    ])
  })

  it('a native custom format needs its adapter file, and an adapter needs the custom type', async () => {
    const dir = tempProject({
      'braid.yaml': 'version: 1\nprojections:\n  a: { topic: a, key: id, fields: { id: null }, format: { type: custom } }\n  b: { topic: b, key: id, fields: { id: null }, format: { type: db2, custom: ./x.js } }\n'
    })
    expect((await checkPipeline(dir)).problems).toEqual([
      'projections.a.format.custom: is required with type custom: the adapter file',
      'projections.b.format.type: must be custom (or left out) with a custom adapter; got "db2"',
      'projections.b.format.custom: cannot load x.js: file not found'
    ])
  })
})
