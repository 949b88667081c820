import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import type { ProjectionChange } from '../../src/model/projection.ts'
import type { AggregationFunction, IdentifierFunction, SingleViewDefinition, StrategyFunction } from '../../src/model/single-view.ts'
import { affectedIdentifiers, type AffectedView, type ReadOnlyDb } from '../../src/single-view/index.ts'
import type { EmbeddedStore } from '../../src/storage/embedded/index.ts'
import { customersView, fixtures, foodEr, foodProjections } from './food-delivery.ts'
import {
  base, block, config, configDep, constant, context, counting, createStore, dep, field, load, selectDep, view, when, type CountingStore
} from './helpers.ts'
import { shopDocs, shopEr, shopProjections } from './shop.ts'

let plain: EmbeddedStore
let store: CountingStore

beforeEach(async () => {
  plain = await createStore(shopProjections)
  await load(plain, shopProjections, shopDocs)
  store = counting(plain)
})

afterEach(async () => {
  await plain.close()
})

/** customers ⇒ profile (1:1), ORDERS (join) ⇒ LINES (join) ⇒ products (1:1), DETAILS (_select people/companies), PARTNER (alias). */
function shopView (extra: Partial<SingleViewDefinition> = {}): SingleViewDefinition {
  const def = view({
    key: { customerId: 'id' },
    baseDependency: 'customers',
    root: block('SV_CONFIG', [
      base('customers'),
      dep('profiles', 'customer_to_profile'),
      dep('PARTNER', 'customer_to_partner', { projection: 'customers' }),
      selectDep('DETAILS', {
        options: [{ when: when(field('customers.kind'), '==', constant('person')), value: { projection: 'people', condition: 'customer_to_person' } }],
        default: { projection: 'companies', condition: 'customer_to_company' }
      }),
      configDep('ORDERS')
    ], { name: 'customers.name', orders: config('ORDERS') }),
    blocks: [
      block('ORDERS', [dep('orders', 'customer_to_orders'), configDep('LINES')], { id: 'orders.orderId', lines: config('LINES') }, 'orders'),
      block('LINES', [dep('lines', 'order_to_lines'), dep('products', 'line_to_product')], { product: 'products.name' }, 'lines')
    ]
  })
  return { ...def, ...extra }
}

function change (projection: string, before: Doc | null, after: Doc | null, eventTime = 1000): ProjectionChange {
  return { projection, id: 'x', before, after, eventTime }
}

async function affected (def: SingleViewDefinition, changes: ProjectionChange[], extra = {}): Promise<Map<string, AffectedView>> {
  return await affectedIdentifiers(def, shopEr, changes, context(store, extra))
}

function ids (m: Map<string, AffectedView>): string[] {
  return [...m.values()].map(a => a.identifier['id'] as string).sort()
}

describe('affectedIdentifiers (derived from the aggregation)', () => {
  it('a change of the base projection maps directly, before and after', async () => {
    const m = await affected(shopView(), [change('customers', { id: 'c3', name: 'Cyd' }, { id: 'c4', name: 'Cyd' })])
    expect(ids(m)).toContain('c3')
    expect(ids(m)).toContain('c4')
    expect(m.get('["c3"]')).toMatchObject({ identifier: { id: 'c3' }, eventTime: 1000, origin: { projection: 'customers', before: { id: 'c3' }, after: { id: 'c4' } } })
  })

  it('a child change walks up to the base identifier', async () => {
    const m = await affected(shopView(), [change('profiles', null, { profileId: 'p3', customerId: 'c2', bio: 'new' })])
    expect(ids(m)).toEqual(['c2'])
  })

  it('a grandchild change walks up two levels with one query per level', async () => {
    const m = await affected(shopView(), [change('lines', null, { orderId: 'o3', lineNo: 2, productId: 'y' })])
    expect(ids(m)).toEqual(['c2'])
    expect(store.calls.find).toBe(2)
  })

  it('a change three levels down reaches every view containing it', async () => {
    const m = await affected(shopView(), [change('products', { productId: 'x', price: 100 }, { productId: 'x', price: 90 })])
    expect(ids(m)).toEqual(['c1'])
  })

  it('a foreign-key move rebuilds both the old and the new parent', async () => {
    const m = await affected(shopView(), [change('orders', { _id: 'r3', orderId: 'o3', customerId: 'c2' }, { _id: 'r3', orderId: 'o3', customerId: 'c3' })])
    expect(ids(m)).toEqual(['c2', 'c3'])
    const grandchild = await affected(shopView(), [change('lines', { _id: 'l1', orderId: 'o1', lineNo: 1 }, { _id: 'l1', orderId: 'o3', lineNo: 1 })])
    expect(ids(grandchild)).toEqual(['c1', 'c2'])
  })

  it('a hard delete triggers through the document before the change', async () => {
    const m = await affected(shopView(), [change('profiles', { profileId: 'p3', customerId: 'c2' }, null)])
    expect(ids(m)).toEqual(['c2'])
  })

  it('states are ignored on the way up', async () => {
    await plain.write({ put: [{ collection: 'orders', id: '["o3"]', doc: { orderId: 'o3', customerId: 'c2', __STATE__: 'DELETED' } }] })
    const m = await affected(shopView(), [change('lines', null, { orderId: 'o3', lineNo: 1, productId: 'z', __STATE__: 'DELETED' })])
    expect(ids(m)).toEqual(['c2'])
  })

  it('_select options and aliased dependencies are walked too', async () => {
    expect(ids(await affected(shopView(), [change('people', null, { personId: 'c1' })]))).toEqual(['c1'])
    expect(ids(await affected(shopView(), [change('companies', null, { companyId: 'c2' })]))).toEqual(['c2'])
    // c2 is its own base record and c1's PARTNER.
    expect(ids(await affected(shopView(), [change('customers', null, { id: 'c2', name: 'Bob' })]))).toEqual(['c1', 'c2'])
  })

  it('many changes cost the same number of queries as one', async () => {
    await affected(shopView(), [change('lines', null, { orderId: 'o1', lineNo: 9 })])
    const one = store.calls.find
    store.reset()
    const many = Array.from({ length: 60 }, (_, i) => change('lines', null, { orderId: ['o1', 'o2', 'o3'][i % 3], lineNo: i }))
    const m = await affected(shopView(), many)
    expect(store.calls.find).toBe(one)
    expect(ids(m)).toEqual(['c1', 'c2'])
  })

  it('lookups on a projection key use getMany when the keys are known', async () => {
    const m = await affected(shopView(), [change('lines', null, { orderId: 'o3', lineNo: 2 })], { projectionKey: (p: string) => shopProjections[p]?.key })
    expect(ids(m)).toEqual(['c2'])
    expect(store.calls).toEqual({ find: 0, getMany: 2, count: 0 })
  })

  it('the earliest event time is kept per identifier', async () => {
    const m = await affected(shopView(), [
      change('orders', null, { orderId: 'o1', customerId: 'c1' }, 300),
      change('profiles', null, { profileId: 'p1', customerId: 'c1' }, 100),
      change('customers', null, { id: 'c1' }, 200),
      change('customers', null, { id: 'c3' }, 50)
    ])
    expect(m.get('["c1"]')?.eventTime).toBe(100)
    expect(m.get('["c3"]')?.eventTime).toBe(50)
  })

  it('projections the view does not read trigger nothing', async () => {
    const m = await affected(shopView(), [change('addresses', null, { addressId: 'a1', customerId: 'c1' })])
    expect(m.size).toBe(0)
    expect(store.calls.find).toBe(0)
  })

  it('the conformance case walks dishes up to every customer who ordered them', async () => {
    const food = await createStore(foodProjections)
    await load(food, foodProjections, fixtures)
    const dish = { id_dish: 'Cotoletta_id', price: 13 }
    const m = await affectedIdentifiers(customersView(), foodEr, [change('pr_dishes', dish, dish)], context(food))
    expect([...m.values()].map(a => a.identifier['ID_USER']).sort()).toEqual(['asdasdf8-939b-447e-88ef-6ef0b80fdsaf', 'ebc12dc8-939b-447e-88ef-6ef0b802a487'])
    await food.close()
  })
})

describe('affectedIdentifiers with strategy paths', () => {
  it('paths replace the derived walk and recognise sub-paths', async () => {
    const def = shopView({ strategyPaths: [{ path: ['products', 'lines', 'orders', 'customers'], identifier: { id: 'id' } }] })
    expect(ids(await affected(def, [change('products', null, { productId: 'x' })]))).toEqual(['c1'])
    expect(ids(await affected(def, [change('orders', null, { orderId: 'o3', customerId: 'c2' })]))).toEqual(['c2'])
    expect(ids(await affected(def, [change('customers', null, { id: 'c3' })]))).toEqual(['c3'])
    // profiles are read by the aggregation but are on no path.
    expect(ids(await affected(def, [change('profiles', null, { profileId: 'p3', customerId: 'c2' })]))).toEqual([])
  })

  it('a path uses the edge from one projection to the next, or the inverse of the opposite edge', async () => {
    // profiles → customers exists (profile_to_customer); customers → people only in that direction.
    const def = shopView({ strategyPaths: [{ path: ['people', 'customers'], identifier: { id: 'id' } }, { path: ['profiles', 'customers'], identifier: { id: 'id' } }] })
    expect(ids(await affected(def, [change('people', null, { personId: 'c1' })]))).toEqual(['c1'])
    expect(ids(await affected(def, [change('profiles', null, { profileId: 'p3', customerId: 'c2' })]))).toEqual(['c2'])
  })

  it('base changes still map directly when no path covers the base projection', async () => {
    const def = shopView({ strategyPaths: [{ path: ['products', 'lines'], identifier: { id: 'orderId' } }] })
    expect(ids(await affected(def, [change('customers', null, { id: 'c3' })]))).toEqual(['c3'])
  })

  it('an identifier function may be an async generator or return an array', async () => {
    const generator: IdentifierFunction = async function * ({ db }, document) {
      const customers = await (db as ReadOnlyDb).collection('customers').find({ partnerId: document['id'] }).toArray()
      for (const c of customers) yield { id: c['id'] }
    }
    const arrayFn: AggregationFunction = async (_logger, _db, document) => [{ id: (document as Doc)['id'] }, { id: 'c3' }]
    const def = shopView({
      identifierFunctions: new Map([['partners', generator]]),
      functions: new Map([['withC3', arrayFn]]),
      strategyPaths: [
        { path: ['orders', 'customers'], identifier: { function: 'partners' } },
        { path: ['profiles', 'customers'], identifier: { function: 'withC3' } }
      ]
    })
    expect(ids(await affected(def, [change('orders', null, { orderId: 'o3', customerId: 'c2' })]))).toEqual(['c1'])
    expect(ids(await affected(def, [change('profiles', null, { profileId: 'p1', customerId: 'c1' })]))).toEqual(['c1', 'c3'])
  })

  it('a throwing identifier function is a strategy failure', async () => {
    const boom: AggregationFunction = () => { throw new Error('boom') }
    const def = shopView({ functions: new Map([['boom', boom]]), strategyPaths: [{ path: ['customers'], identifier: { function: 'boom' } }] })
    await expect(affected(def, [change('customers', null, { id: 'c1' })])).rejects.toMatchObject({ code: 'BRAID_STRATEGY_FAILED' })
  })
})

describe('affectedIdentifiers with manual strategies and patches', () => {
  it('a manual strategy replaces the automatic one for its projection', async () => {
    const seen: unknown[] = []
    const manual: StrategyFunction = async function * ({ db }, c) {
      seen.push(c.projection)
      const orders = await (db as ReadOnlyDb).collection('orders').find({ customerId: 'c2' }).toArray()
      for (const o of orders) yield { id: o['customerId'] as string }
      yield { id: 'c3' }
    }
    const def = shopView({ manualStrategies: new Map([['profiles', manual]]) })
    const m = await affected(def, [change('profiles', null, { profileId: 'p1', customerId: 'c1' }, 5), change('orders', null, { orderId: 'o1', customerId: 'c1' }, 6)])
    expect(ids(m)).toEqual(['c1', 'c2', 'c3'])
    expect(m.get('["c2"]')?.eventTime).toBe(5)
    expect(seen).toEqual(['profiles'])
  })

  it('a manual strategy returning an array or identifiers without every field is handled', async () => {
    const manual: StrategyFunction = () => [{ id: 'c1' }, { other: 'x' } as Doc]
    const m = await affected(shopView({ manualStrategies: new Map([['profiles', manual]]) }), [change('profiles', null, { profileId: 'p1' })])
    expect(ids(m)).toEqual(['c1'])
  })

  it('a throwing manual strategy is a strategy failure', async () => {
    const manual: StrategyFunction = () => { throw new Error('nope') }
    await expect(affected(shopView({ manualStrategies: new Map([['profiles', manual]]) }), [change('profiles', null, { profileId: 'p1' })]))
      .rejects.toMatchObject({ code: 'BRAID_STRATEGY_FAILED', retryable: true })
  })

  it('updates of projections with a patch rule of the view trigger no rebuild of it; inserts and deletes do', async () => {
    const def = shopView({ patchRules: [{ projection: 'products', actionName: 'patchProducts', action: () => ({ filter: {}, update: { $set: { x: 1 } } }) }] })
    const before = { productId: 'x', name: 'old', __STATE__: 'PUBLIC' }
    const after = { productId: 'x', name: 'new', __STATE__: 'PUBLIC' }
    const plain = shopView()
    expect((await affected(def, [change('products', before, after)])).size).toBe(0)
    expect((await affected(plain, [change('products', before, after)])).size).toBeGreaterThan(0)
    expect(ids(await affected(def, [change('products', null, after)]))).toEqual(ids(await affected(plain, [change('products', null, after)])))
    expect(ids(await affected(def, [change('products', before, { ...before, __STATE__: 'DELETED' })]))).toEqual(ids(await affected(plain, [change('products', before, { ...before, __STATE__: 'DELETED' })])))
    expect(ids(await affected(def, [change('profiles', null, { profileId: 'p3', customerId: 'c2' })]))).toEqual(['c2'])
  })
})
