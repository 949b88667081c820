import { afterEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import { aggregateViews, writeViews } from '../../src/single-view/index.ts'
import type { EmbeddedStore } from '../../src/storage/embedded/index.ts'
import { customersView, expected, fixtures, foodEr, foodProjections, identifier } from './food-delivery.ts'
import { context, createStore, load, logger } from './helpers.ts'

describe('Mia low-code conformance case (sv_customers)', () => {
  const stores: EmbeddedStore[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
  })

  async function storeWith (docs: Record<string, Doc[]>): Promise<EmbeddedStore> {
    const store = await createStore(foodProjections, [customersView()])
    stores.push(store)
    await load(store, foodProjections, docs)
    return store
  }

  it('aggregation of the fixtures yields expected.json exactly', async () => {
    const store = await storeWith(fixtures)
    const [result] = await aggregateViews(customersView(), foodEr, [identifier], context(store))
    expect(result?.error).toBeUndefined()
    expect(result?.view).toStrictEqual(expected)
  })

  it('the validator accepts the view and the writer inserts it with metadata', async () => {
    const store = await storeWith(fixtures)
    const def = customersView()
    const results = await aggregateViews(def, foodEr, [identifier], context(store))
    const writes = await writeViews(def, results, { store, logger, now: () => new Date('2024-01-01T00:00:00.000Z') })
    expect(writes.failures).toEqual([])
    expect(writes.put).toHaveLength(1)
    const doc = writes.put[0]?.doc as Doc
    const { _id, __STATE__, createdAt, updatedAt, ...content } = doc
    expect(content).toStrictEqual(expected)
    expect(__STATE__).toBe('PUBLIC')
    expect(typeof _id).toBe('string')
    expect(createdAt).toEqual(new Date('2024-01-01T00:00:00.000Z'))
    expect(updatedAt).toEqual(createdAt)
    expect(writes.events.map(e => e.operation)).toEqual(['INSERT'])
  })

  it('without TAX_CODE the validator rejects the view and nothing is written', async () => {
    const registry = (fixtures['pr_registry'] ?? []).map(d => {
      const { TAX_CODE: _t, ...rest } = d
      return rest
    })
    const store = await storeWith({ ...fixtures, pr_registry: registry })
    const def = customersView()
    const results = await aggregateViews(def, foodEr, [identifier], context(store))
    expect(results[0]?.view?.['taxCode']).toBeNull()
    const writes = await writeViews(def, results, { store, logger })
    expect(writes.put).toEqual([])
    expect(writes.events).toEqual([])
    expect(writes.outcomes[0]).toMatchObject({ status: 'unchanged', reason: 'validator rejected the view' })
  })

  it('the lineage lists every projection document the view was built from', async () => {
    const store = await storeWith(fixtures)
    const [result] = await aggregateViews(customersView(), foodEr, [identifier], context(store, { projectionKey: p => foodProjections[p]?.key }))
    const used = (result?.lineage ?? []).map(l => `${l.projection}:${JSON.stringify(l.key)}`).sort()
    expect(used).toEqual([
      'pr_allergens:{"id_allergen":"eggs"}',
      'pr_allergens_registry:{"ID_ALLERGEN":"eggs","ID_USER":"ebc12dc8-939b-447e-88ef-6ef0b802a487"}',
      'pr_dishes:{"id_dish":"Amatriciana_id"}',
      'pr_dishes:{"id_dish":"Cotoletta_id"}',
      'pr_orders:{"ID_ORDER":"d2829a1d-80ca-4eff-a93a-e97c83a5550f"}',
      'pr_orders_dishes:{"ID_ORDER":"d2829a1d-80ca-4eff-a93a-e97c83a5550f","ID_DISH":"Amatriciana_id"}',
      'pr_orders_dishes:{"ID_ORDER":"d2829a1d-80ca-4eff-a93a-e97c83a5550f","ID_DISH":"Cotoletta_id"}',
      'pr_registry:{"ID_USER":"ebc12dc8-939b-447e-88ef-6ef0b802a487"}',
      'pr_reviews:{"ID_REVIEW":"review_1"}',
      'pr_reviews:{"ID_REVIEW":"review_2"}'
    ])
    const registry = result?.lineage.find(l => l.projection === 'pr_registry')
    expect(registry).toMatchObject({ dependency: 'SV_CONFIG.pr_registry', __STATE__: 'PUBLIC' })
    expect(typeof registry?._id).toBe('string')
    expect(result?.lineage.find(l => l.projection === 'pr_dishes')?.dependency).toBe('SV_CONFIG.ORDERS.DISHES.pr_dishes')
  })
})
