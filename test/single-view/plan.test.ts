import { describe, expect, it } from 'vitest'
import type { SingleViewDefinition } from '../../src/model/single-view.ts'
import {
  identifierFromBase, identifierFromView, normaliseIdentifier, planSingleView, requiredIndexes, viewId, viewKey, viewKeyFields
} from '../../src/single-view/index.ts'
import { customersView, foodEr } from './food-delivery.ts'
import { base, block, config, configDep, dep, fn, view } from './helpers.ts'
import { shopEr } from './shop.ts'

function shop (deps: Parameters<typeof block>[1], m: Parameters<typeof block>[2] = {}, extra: Partial<Parameters<typeof view>[0]> = {}): SingleViewDefinition {
  return view({ key: { customerId: 'id' }, baseDependency: 'customers', root: block('SV_CONFIG', [base('customers'), ...deps], m), ...extra })
}

describe('planSingleView', () => {
  it('orders dependencies so that each comes after its source, configs last', () => {
    const def = shop([configDep('ORDERS'), dep('products', 'line_to_product'), dep('lines', 'order_to_lines'), dep('orders', 'customer_to_orders')], {}, {
      blocks: [block('ORDERS', [dep('orders', 'customer_to_orders')], { id: 'orders.orderId' }, 'orders')]
    })
    expect(planSingleView(def, shopEr).root.deps.map(d => d.name)).toEqual(['customers', 'orders', 'lines', 'products', 'ORDERS'])
  })

  it('resolves a condition\'s source in the current block first, then in enclosing blocks', () => {
    const plan = planSingleView(customersView(), foodEr)
    const orders = plan.root.deps.find(d => d.name === 'ORDERS')
    if (orders?.kind !== 'config') throw new Error('ORDERS missing')
    const dishes = orders.block.deps.find(d => d.name === 'DISHES')
    if (dishes?.kind !== 'config') throw new Error('DISHES missing')
    const [orderDishes, dishDep] = dishes.block.deps
    expect(orderDishes?.kind === 'projection' && orderDishes.link.kind === 'condition' ? orderDishes.link.source.block.path : null).toBe('SV_CONFIG.ORDERS')
    expect(dishDep?.kind === 'projection' && dishDep.link.kind === 'condition' ? dishDep.link.source.block.path : null).toBe('SV_CONFIG.ORDERS.DISHES')
  })

  it('is cached per definition and ER schema', () => {
    const def = customersView()
    expect(planSingleView(def, foodEr)).toBe(planSingleView(def, foodEr))
  })

  it.each([
    ['an unknown condition', shop([dep('orders', 'nope')]), /condition nope, which the ER schema does not define/],
    ['a condition leading elsewhere', shop([dep('orders', 'customer_to_profile')]), /leads from customers to profiles, but dependency orders reads orders/],
    ['a source out of scope', shop([dep('lines', 'order_to_lines')]), /dependency lines \(condition order_to_lines\) has no orders dependency in scope/],
    ['an unknown alias', shop([dep('profiles', 'customer_to_profile', { useAlias: 'GHOST' })]), /uses alias GHOST, which is not a dependency in scope/],
    ['a missing config block', shop([configDep('NOWHERE')]), /config dependency NOWHERE has no aggregation block/],
    ['a mapping of an unknown dependency', shop([], { x: 'ghost.field' }), /ghost is not a dependency in scope/],
    ['a mapping of an unknown function', shop([], { x: fn('nope') }), /function nope is not loaded/],
    ['a second _identifier dependency', shop([base('profiles')]), /only the base dependency \(customers\) may be linked on _identifier/],
    ['a self-including config', shop([configDep('LOOP')], {}, { blocks: [block('LOOP', [configDep('LOOP')], {})] }), /config LOOP includes itself/],
    ['a join on a config', shop([configDep('J')], {}, { blocks: [block('J', [configDep('K')], {}, 'K'), block('K', [], {})] }), /joinDependency K is not a projection dependency/],
    ['a strategy path without an edge', shop([], {}, { strategyPaths: [{ path: ['addresses', 'products'], identifier: { id: 'id' } }] }), /no condition between addresses and products/],
    ['a strategy path function not loaded', shop([], {}, { strategyPaths: [{ path: ['customers'], identifier: { function: 'ghost' } }] }), /identifier function ghost is not loaded/]
  ] as Array<[string, SingleViewDefinition, RegExp]>)('rejects %s as BRAID_CONFIG_INVALID', (_label, def, message) => {
    expect(() => planSingleView(def, shopEr)).toThrow(message)
    try {
      planSingleView(def, shopEr)
    } catch (err) {
      expect((err as { code: string }).code).toBe('BRAID_CONFIG_INVALID')
    }
  })

  it('requiredIndexes lists the fields lookups filter on, in both directions', () => {
    const def = shop([dep('addresses', 'customer_to_billing'), configDep('ORDERS')], { o: config('ORDERS') }, {
      blocks: [block('ORDERS', [dep('orders', 'customer_to_orders')], { id: 'orders.orderId' }, 'orders')]
    })
    expect(requiredIndexes(def, shopEr)).toEqual([
      { projection: 'customers', fields: ['id'] },
      { projection: 'addresses', fields: ['customerId', 'type'] },
      { projection: 'orders', fields: ['customerId'] }
    ])
  })
})

describe('keys', () => {
  const def = view({
    key: { first: 'FIRST', last: 'LAST' },
    baseDependency: 'people',
    root: block('SV_CONFIG', [base('people', { queryMapping: { firstName: '_identifier.FIRST', lastName: 'LAST', kind: '__string__[person]' } })], {})
  })

  it('an identifier gives the view key and the view id, in key order', () => {
    expect(viewKeyFields(def)).toEqual(['first', 'last'])
    expect(viewKey(def, { LAST: 'Lovelace', FIRST: 'Ada', extra: 1 })).toEqual({ first: 'Ada', last: 'Lovelace' })
    expect(viewId(def, { LAST: 'Lovelace', FIRST: 'Ada' })).toBe('["Ada","Lovelace"]')
  })

  it('a base document gives its identifier through identifierQueryMapping', () => {
    expect(identifierFromBase(def, { firstName: 'Ada', lastName: 'Lovelace', kind: 'person' })).toEqual({ FIRST: 'Ada', LAST: 'Lovelace' })
    expect(identifierFromBase(def, { firstName: 'Ada' })).toBeNull()
  })

  it('without a mapping the base document gives its identifier field by field', () => {
    expect(identifierFromBase(customersView(), { ID_USER: 'u1', NAME: 'x' })).toEqual({ ID_USER: 'u1' })
  })

  it('a stored view gives back its identifier', () => {
    expect(identifierFromView(def, { first: 'Ada', last: 'Lovelace', _id: 'x' })).toEqual({ FIRST: 'Ada', LAST: 'Lovelace' })
  })

  it('normaliseIdentifier keeps the identifier fields and rejects incomplete identifiers', () => {
    expect(normaliseIdentifier(def, { FIRST: 'Ada', LAST: 'L', other: 1 })).toEqual({ FIRST: 'Ada', LAST: 'L' })
    expect(normaliseIdentifier(def, { FIRST: 'Ada' })).toBeNull()
  })
})
