import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import type { AggregationFunction, CompareOp, SingleViewDefinition, ValueRef } from '../../src/model/single-view.ts'
import { aggregateViews, type ReadOnlyDb } from '../../src/single-view/index.ts'
import type { EmbeddedStore } from '../../src/storage/embedded/index.ts'
import { customersView, fixtures, foodEr, foodProjections } from './food-delivery.ts'
import {
  base, block, config, configDep, constant, context, counting, createStore, dep, fn, load, object, select, selectDep, view, when, field
} from './helpers.ts'
import { shopDocs, shopEr, shopProjections } from './shop.ts'

let store: EmbeddedStore

beforeEach(async () => {
  store = await createStore(shopProjections)
  await load(store, shopProjections, shopDocs)
})

afterEach(async () => {
  await store.close()
})

async function build (def: SingleViewDefinition, ids: string[] = ['c1']): Promise<Array<Doc | null>> {
  const results = await aggregateViews(def, shopEr, ids.map(id => ({ id })), context(store))
  for (const r of results) if (r.error !== undefined) throw r.error
  return results.map(r => r.view)
}

function customerView (deps: Parameters<typeof block>[1], m: Parameters<typeof block>[2], extra: Partial<Parameters<typeof view>[0]> = {}): SingleViewDefinition {
  return view({ key: { customerId: 'id' }, baseDependency: 'customers', root: block('SV_CONFIG', [base('customers'), ...deps], m), ...extra })
}

describe('aggregateViews', () => {
  it('a 1:1 dependency takes the first match in primary-key order', async () => {
    const def = customerView([dep('profiles', 'customer_to_profile')], { name: 'customers.name', bio: 'profiles.bio' })
    expect(await build(def)).toEqual([{ name: 'Ada', bio: 'first' }])
  })

  it('the output holds only mapped fields, with null for missing values', async () => {
    const def = customerView([dep('profiles', 'customer_to_profile')], {
      name: 'customers.name',
      nothing: 'customers.does.not.exist',
      fromMissingDep: 'profiles.bio'
    })
    expect(await build(def, ['c3'])).toEqual([{ name: 'Cyd', nothing: null, fromMissingDep: null }])
  })

  it('a join config yields one element per joined document, ordered by the joined projection key', async () => {
    const def = customerView([configDep('ORDERS')], { orders: config('ORDERS') }, {
      blocks: [block('ORDERS', [dep('orders', 'customer_to_orders')], { id: 'orders.orderId', total: 'orders.total' }, 'orders')]
    })
    expect(await build(def, ['c1', 'c3'])).toEqual([
      { orders: [{ id: 'o1', total: 10 }, { id: 'o2', total: 20 }] },
      { orders: [] }
    ])
  })

  it('1:N:N nests orders, their lines and each line\'s product at three levels', async () => {
    const def = customerView([configDep('ORDERS')], { name: 'customers.name', orders: config('ORDERS') }, {
      blocks: [
        block('ORDERS', [dep('orders', 'customer_to_orders'), configDep('LINES')], { id: 'orders.orderId', lines: config('LINES') }, 'orders'),
        block('LINES', [dep('lines', 'order_to_lines'), dep('products', 'line_to_product')], {
          no: 'lines.lineNo',
          product: 'products.name',
          customer: 'customers.name',
          order: 'orders.orderId'
        }, 'lines')
      ]
    })
    expect(await build(def, ['c1', 'c2'])).toEqual([
      {
        name: 'Ada',
        orders: [
          { id: 'o1', lines: [{ no: 1, product: 'Yo-yo', customer: 'Ada', order: 'o1' }, { no: 2, product: 'Xylophone', customer: 'Ada', order: 'o1' }] },
          { id: 'o2', lines: [{ no: 1, product: 'Xylophone', customer: 'Ada', order: 'o2' }] }
        ]
      },
      { name: 'Bob', orders: [{ id: 'o3', lines: [{ no: 1, product: null, customer: 'Bob', order: 'o3' }] }] }
    ])
  })

  it('a dependency listed before the join dependency is resolved once and seen by every element', async () => {
    const def = customerView([configDep('ORDERS')], { orders: config('ORDERS') }, {
      blocks: [block('ORDERS', [dep('profiles', 'customer_to_profile'), dep('orders', 'customer_to_orders')], { bio: 'profiles.bio', id: 'orders.orderId' }, 'orders')]
    })
    expect(await build(def)).toEqual([{ orders: [{ bio: 'first', id: 'o1' }, { bio: 'first', id: 'o2' }] }])
  })

  it('a 1:1 config block maps to an object, or to null when none of its dependencies resolved', async () => {
    const def = customerView([configDep('PROFILE')], { profile: config('PROFILE') }, {
      blocks: [block('PROFILE', [dep('profiles', 'customer_to_profile')], { bio: 'profiles.bio', name: 'customers.name' })]
    })
    expect(await build(def, ['c2', 'c3'])).toEqual([{ profile: { bio: 'bob', name: 'Bob' } }, { profile: null }])
  })

  it('a condition with a constant matches only the targets holding the constant', async () => {
    const def = customerView([dep('addresses', 'customer_to_billing')], { billingCity: 'addresses.city' })
    expect(await build(def, ['c1', 'c2', 'c3'])).toEqual([{ billingCity: 'Rome' }, { billingCity: 'Turin' }, { billingCity: null }])
  })

  it('an $or condition matches targets through either branch', async () => {
    const def = customerView([configDep('ADDR')], { cities: config('ADDR') }, {
      blocks: [block('ADDR', [dep('addresses', 'customer_to_address_or')], { city: 'addresses.city' }, 'addresses')]
    })
    // c1: its own addresses a1, a2 plus a3 (city Turin = c1.homeCity); c2 has no homeCity: only its own a3.
    expect(await build(def, ['c1', 'c2'])).toEqual([
      { cities: [{ city: 'Milan' }, { city: 'Rome' }, { city: 'Turin' }] },
      { cities: [{ city: 'Turin' }] }
    ])
  })

  it('a missing foreign key matches nothing instead of every document', async () => {
    const def = customerView([dep('profiles', 'customer_to_profile_by_fk')], { bio: 'profiles.bio' })
    // c2 has no profileId; profile p4 has none either: Mia's old bug matched it (or every profile).
    expect(await build(def, ['c1', 'c2'])).toEqual([{ bio: 'first' }, { bio: null }])
  })

  it('identifierQueryMapping renames identifier fields for the base lookup', async () => {
    const def = view({
      key: { code: 'customerCode' },
      baseDependency: 'customers',
      root: block('SV_CONFIG', [base('customers', { queryMapping: { id: '_identifier.customerCode' } })], { name: 'customers.name' })
    })
    const results = await aggregateViews(def, shopEr, [{ customerCode: 'c2' }], context(store))
    expect(results[0]?.view).toEqual({ name: 'Bob' })
    expect(results[0]?.key).toEqual({ code: 'c2' })
  })

  it('a base record missing or outside onStates gives a null view with its reason', async () => {
    await store.write({ put: [{ collection: 'customers', id: JSON.stringify(['c9']), doc: { id: 'c9', name: 'Gone', __STATE__: 'DELETED' } }] })
    const def = customerView([], { name: 'customers.name' })
    const results = await aggregateViews(def, shopEr, [{ id: 'c9' }, { id: 'nobody' }, { id: 'c1' }], context(store))
    expect(results.map(r => [r.view, r.reason])).toEqual([[null, 'base record missing'], [null, 'base record missing'], [{ name: 'Ada' }, undefined]])
    const withDeleted = view({ key: { customerId: 'id' }, baseDependency: 'customers', root: block('SV_CONFIG', [base('customers', { onStates: ['PUBLIC', 'DELETED'] })], { name: 'customers.name' }) })
    expect((await aggregateViews(withDeleted, shopEr, [{ id: 'c9' }], context(store)))[0]?.view).toEqual({ name: 'Gone' })
  })

  it('onStates of a dependency filters its documents on __STATE__', async () => {
    await store.write({ put: [{ collection: 'profiles', id: JSON.stringify(['p0']), doc: { profileId: 'p0', customerId: 'c3', bio: 'draft', __STATE__: 'DRAFT' } }] })
    const publicOnly = customerView([dep('profiles', 'customer_to_profile')], { bio: 'profiles.bio' })
    const withDrafts = customerView([dep('profiles', 'customer_to_profile', { onStates: ['PUBLIC', 'DRAFT'] })], { bio: 'profiles.bio' })
    expect(await build(publicOnly, ['c3'])).toEqual([{ bio: null }])
    expect(await build(withDrafts, ['c3'])).toEqual([{ bio: 'draft' }])
  })

  it('aliases read one projection twice and useAlias picks the aliased source', async () => {
    const def = customerView([
      dep('PARTNER', 'customer_to_partner', { projection: 'customers' }),
      dep('profiles', 'customer_to_profile'),
      dep('PARTNER_PROFILE', 'customer_to_profile', { projection: 'profiles', useAlias: 'PARTNER' })
    ], { me: 'customers.name', partner: 'PARTNER.name', myBio: 'profiles.bio', partnerBio: 'PARTNER_PROFILE.bio' })
    expect(await build(def, ['c1', 'c2'])).toEqual([
      { me: 'Ada', partner: 'Bob', myBio: 'first', partnerBio: 'bob' },
      { me: 'Bob', partner: 'Ada', myBio: 'bob', partnerBio: 'first' }
    ])
  })

  it('constants, nested objects and _select mapping values are mapped', async () => {
    const def = customerView([], {
      kind: constant('customer'),
      one: constant(1),
      yes: constant(true),
      nested: object({ name: field('customers.name'), deeper: object({ tier: field('customers.tier') }) }),
      level: select({
        options: [
          { when: when(field('customers.tier'), '>=', constant(3)), value: constant('gold') },
          { when: when(field('customers.tier'), '==', constant(2)), value: field('customers.name') }
        ],
        default: constant('basic')
      })
    })
    expect(await build(def, ['c1', 'c2', 'c3'])).toEqual([
      { kind: 'customer', one: 1, yes: true, nested: { name: 'Ada', deeper: { tier: 3 } }, level: 'gold' },
      { kind: 'customer', one: 1, yes: true, nested: { name: 'Bob', deeper: { tier: 1 } }, level: 'basic' },
      { kind: 'customer', one: 1, yes: true, nested: { name: 'Cyd', deeper: { tier: 2 } }, level: 'Cyd' }
    ])
  })

  describe('_select dependencies', () => {
    const details = (op: CompareOp, right: ValueRef, functions: Record<string, AggregationFunction> = {}): SingleViewDefinition => customerView([
      selectDep('DETAILS', {
        options: [{ when: when(field('customers.tier'), op, right), value: { projection: 'people', condition: 'customer_to_person' } }],
        default: { projection: 'companies', condition: 'customer_to_company' }
      })
    ], { first: 'DETAILS.firstName', vat: 'DETAILS.vat' }, { functions })

    beforeEach(async () => {
      await load(store, shopProjections, { people: [{ personId: 'c2', firstName: 'Bob' }], companies: [{ companyId: 'c1', vat: 'IT111' }] })
    })
    const option = (first: string): Doc => ({ first, vat: null })
    const fallback = (vat: string): Doc => ({ first: null, vat })

    it.each([
      ['==', 3, [option('Ada'), fallback('IT123')]],
      ['!=', 3, [fallback('IT111'), option('Bob')]],
      ['>', 2, [option('Ada'), fallback('IT123')]],
      ['<', 2, [fallback('IT111'), option('Bob')]],
      ['>=', 3, [option('Ada'), fallback('IT123')]],
      ['<=', 1, [fallback('IT111'), option('Bob')]]
    ] as Array<[CompareOp, number, Doc[]]>)('operator %s against a constant chooses the option or the default', async (op, value, expected) => {
      // c1 has tier 3, c2 tier 1; the option reads people, the default companies.
      const views = await build(details(op, constant(value)), ['c1', 'c2'])
      expect(views).toEqual(expected)
    })

    it('a null operand compares equal to a missing field', async () => {
      const def = customerView([
        selectDep('DETAILS', {
          options: [{ when: when(field('customers.profileId'), '==', constant(null)), value: { projection: 'companies', condition: 'customer_to_company' } }],
          default: { projection: 'people', condition: 'customer_to_person' }
        })
      ], { first: 'DETAILS.firstName', vat: 'DETAILS.vat' })
      // c1 has a profileId, c2 none.
      expect(await build(def, ['c1', 'c2'])).toEqual([option('Ada'), fallback('IT123')])
    })

    it('a function operand is called with logger and db', async () => {
      const calls: unknown[] = []
      const threshold: AggregationFunction = async (_logger, db) => {
        calls.push(await (db as ReadOnlyDb).collection('products').countDocuments({}))
        return 2
      }
      expect(await build(details('>', fn('threshold'), { threshold }), ['c1', 'c2'])).toEqual([option('Ada'), fallback('IT123')])
      expect(calls).toEqual([2, 2])
    })

    it('without a matching option nor default the dependency is unresolved', async () => {
      const def = customerView([
        selectDep('DETAILS', { options: [{ when: when(field('customers.kind'), '==', constant('person')), value: { projection: 'people', condition: 'customer_to_person' } }] })
      ], { first: 'DETAILS.firstName' })
      expect(await build(def, ['c1', 'c3'])).toEqual([{ first: 'Ada' }, { first: null }])
    })
  })

  describe('__fromFile__ functions', () => {
    it('receive the logger, a read-only db and the dependenciesMap', async () => {
      const seen: Doc[] = []
      const summary: AggregationFunction = async (logger, db, deps) => {
        const map = deps as Map<string, unknown>
        const d = db as ReadOnlyDb
        const orders = map.get('ORDERS') as Doc[]
        seen.push({
          hasLogger: typeof (logger as { info?: unknown }).info === 'function',
          customer: (map.get('customers') as Doc)['name'],
          profile: map.get('profiles') ?? null,
          orders: orders.length,
          products: (await d.collection('products').find({}).toArray()).length,
          cheapest: (await d.collection('products').find({}).sort({ price: 1 }).limit(1).toArray())[0]?.['name'],
          one: (await d.collection('products').findOne({ productId: 'x' }))?.['name'],
          count: await d.collection('orders').countDocuments({ customerId: 'c1' }),
          writable: 'insertOne' in d.collection('orders')
        })
        return { orders: orders.length }
      }
      const def = customerView([dep('profiles', 'customer_to_profile_by_fk'), configDep('ORDERS')], { summary: fn('summary') }, {
        functions: { summary },
        blocks: [block('ORDERS', [dep('orders', 'customer_to_orders')], { id: 'orders.orderId' }, 'orders')]
      })
      expect(await build(def, ['c2', 'c3'])).toEqual([{ summary: { orders: 1 } }, { summary: { orders: 0 } }])
      expect(seen).toEqual([
        { hasLogger: true, customer: 'Bob', profile: null, orders: 1, products: 2, cheapest: 'Yo-yo', one: 'Xylophone', count: 2, writable: false },
        { hasLogger: true, customer: 'Cyd', profile: null, orders: 0, products: 2, cheapest: 'Yo-yo', one: 'Xylophone', count: 2, writable: false }
      ])
    })

    it('a throwing function fails its own view only', async () => {
      const picky: AggregationFunction = (_logger, _db, deps) => {
        if ((deps as Map<string, Doc>).get('customers')?.['id'] === 'c2') throw new Error('cannot handle this one')
        return 'ok'
      }
      const def = customerView([], { name: 'customers.name', check: fn('picky') }, { functions: { picky } })
      const results = await aggregateViews(def, shopEr, [{ id: 'c1' }, { id: 'c2' }, { id: 'c3' }], context(store))
      expect(results.map(r => r.view)).toEqual([{ name: 'Ada', check: 'ok' }, null, { name: 'Cyd', check: 'ok' }])
      expect(results[1]?.error?.code).toBe('BRAID_AGGREGATION_FAILED')
      expect(results[1]?.error?.retryable).toBe(true)
      expect(results[1]?.reason).toMatch(/function picky threw: cannot handle this one/)
    })

    it('a function inside a join element sees the element and its enclosing scopes', async () => {
      const describeOrder: AggregationFunction = (_l, _db, deps) => {
        const map = deps as Map<string, Doc>
        return `${map.get('customers')?.['name'] as string}:${map.get('orders')?.['orderId'] as string}`
      }
      const def = customerView([configDep('ORDERS')], { orders: config('ORDERS') }, {
        functions: { describeOrder },
        blocks: [block('ORDERS', [dep('orders', 'customer_to_orders')], { label: fn('describeOrder') }, 'orders')]
      })
      expect(await build(def)).toEqual([{ orders: [{ label: 'Ada:o1' }, { label: 'Ada:o2' }] }])
    })
  })

  it('duplicate identifiers in a batch share one build', async () => {
    const def = customerView([], { name: 'customers.name' })
    const results = await aggregateViews(def, shopEr, [{ id: 'c1' }, { id: 'c1' }], context(store))
    expect(results.map(r => r.view)).toEqual([{ name: 'Ada' }, { name: 'Ada' }])
    expect(results[0]?.id).toBe('["c1"]')
  })

  it('a constant-only condition gives every view the same target, as separate copies', async () => {
    await store.write({ put: [{ collection: 'products', id: JSON.stringify(['x']), doc: { productId: 'x', name: 'Xylophone', tags: ['music'], __STATE__: 'PUBLIC' } }] })
    const def = customerView([dep('products', 'customer_to_featured')], { featured: 'products.name', tags: 'products.tags' })
    const views = await build(def, ['c1', 'c2'])
    expect(views).toEqual([{ featured: 'Xylophone', tags: ['music'] }, { featured: 'Xylophone', tags: ['music'] }])
    ;(views[0]?.['tags'] as string[]).push('changed')
    expect(views[1]?.['tags']).toEqual(['music'])
  })
})

describe('aggregateViews batching', () => {
  it('N identifiers cost the same number of store queries as one (no N+1)', async () => {
    const plain = await createStore(foodProjections)
    const users: Doc[] = [{ ID_USER: 'ebc12dc8-939b-447e-88ef-6ef0b802a487' }]
    const docs: Record<string, Doc[]> = { ...fixtures, pr_registry: [...(fixtures['pr_registry'] ?? [])], pr_orders: [...(fixtures['pr_orders'] ?? [])], pr_orders_dishes: [...(fixtures['pr_orders_dishes'] ?? [])], pr_reviews: [...(fixtures['pr_reviews'] ?? [])] }
    for (let i = 0; i < 200; i++) {
      const id = `user-${i}`
      users.push({ ID_USER: id })
      docs['pr_registry']?.push({ ID_USER: id, TAX_CODE: `t${i}`, NAME: `N${i}` })
      docs['pr_orders']?.push({ ID_ORDER: `order-${i}`, ID_USER: id, DATE: '2024-01-01', TOTAL_PRICE: '1', ORDER_STATUS: 'new', PAYMENT_TYPE: 'cash' })
      docs['pr_orders_dishes']?.push({ ID_ORDER: `order-${i}`, ID_DISH: i % 2 === 0 ? 'Amatriciana_id' : 'Tignanello_id' })
      docs['pr_reviews']?.push({ ID_REVIEW: `r-${i}`, ID_USER: id, TEXT: 'ok', STARS: i % 5 })
    }
    await load(plain, foodProjections, docs)
    const store = counting(plain)
    const def = customersView()
    const ctx = context(store)

    await aggregateViews(def, foodEr, users.slice(0, 1), ctx)
    const one = store.calls.find
    store.reset()
    const results = await aggregateViews(def, foodEr, users, ctx)
    expect(store.calls.find).toBe(one)
    // base, allergens_registry, allergens, reviews, orders, orders_dishes, dishes
    expect(one).toBe(7)
    expect(results).toHaveLength(201)
    expect(results[8]?.view).toMatchObject({ idCustomer: 'user-7', orders: [{ id: 'order-7', dishes: [{ id: 'Tignanello_id', price: 99 }] }], reviews: [{ id: 'r-7', stars: 2 }], allergens: [] })

    // With the projections' keys known, lookups on a primary key (the base, pr_dishes, pr_allergens) become getMany.
    const keyed = context(store, { projectionKey: p => foodProjections[p]?.key })
    store.reset()
    await aggregateViews(def, foodEr, users.slice(0, 1), keyed)
    const oneKeyed = { ...store.calls }
    store.reset()
    const again = await aggregateViews(def, foodEr, users, keyed)
    expect(store.calls).toEqual(oneKeyed)
    expect(oneKeyed).toEqual({ find: 4, getMany: 3, count: 0 })
    expect(again.map(r => r.view)).toEqual(results.map(r => r.view))
    await plain.close()
  })

  it('a batch larger than maxQueryValues splits each level into chunks', async () => {
    const plain = await createStore(shopProjections)
    await load(plain, shopProjections, shopDocs)
    const store = counting(plain)
    const def = customerView([dep('profiles', 'customer_to_profile')], { bio: 'profiles.bio' })
    const results = await aggregateViews(def, shopEr, [{ id: 'c1' }, { id: 'c2' }, { id: 'c3' }], context(store, { maxQueryValues: 2 }))
    expect(results.map(r => r.view)).toEqual([{ bio: 'first' }, { bio: 'bob' }, { bio: null }])
    expect(store.calls.find).toBe(4)
    await plain.close()
  })
})
