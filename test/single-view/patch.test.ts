import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import type { ProjectionChange } from '../../src/model/projection.ts'
import type { PatchRule, SingleViewDefinition } from '../../src/model/single-view.ts'
import { applyPatches, hasPatchRules } from '../../src/single-view/index.ts'
import type { EmbeddedStore } from '../../src/storage/embedded/index.ts'
import { base, block, createStore, logger, view } from './helpers.ts'

const now = new Date('2024-03-01T00:00:00.000Z')

/** Countries shared by many customer views: a change of a country patches every view that embeds it. */
const countryRule: PatchRule = {
  projection: 'countries',
  actionName: 'patchCountry',
  action: (_logger, country) => ({
    filter: { 'addresses.countryCode': country['code'] },
    update: { $set: { 'addresses.$[a].countryName': country['name'] } },
    arrayFilters: [{ 'a.countryCode': country['code'] }]
  })
}

function def (rules: PatchRule[] = [countryRule]): SingleViewDefinition {
  const d = view({ name: 'sv_customers', key: { customerId: 'id' }, baseDependency: 'customers', root: block('SV_CONFIG', [base('customers')], { customerId: 'customers.id' }) })
  return { ...d, patchRules: rules }
}

/** An update by default (the record existed, PUBLIC); pass `before: null` for an insert. */
function change (after: Doc | null, before: Doc | null = after): ProjectionChange {
  const state = (d: Doc | null): Doc | null => d === null ? null : { __STATE__: 'PUBLIC', ...d }
  return { projection: 'countries', id: 'x', before: state(before), after: state(after), eventTime: 1 }
}

const views: Doc[] = [
  { _id: 'v1', customerId: 'c1', addresses: [{ city: 'Rome', countryCode: 'IT', countryName: 'Italia' }, { city: 'Paris', countryCode: 'FR', countryName: 'France' }], __STATE__: 'PUBLIC' },
  { _id: 'v2', customerId: 'c2', addresses: [{ city: 'Milan', countryCode: 'IT', countryName: 'Italia' }], __STATE__: 'PUBLIC' },
  { _id: 'v3', customerId: 'c3', addresses: [{ city: 'Lyon', countryCode: 'FR', countryName: 'France' }], __STATE__: 'PUBLIC' }
]

let store: EmbeddedStore

beforeEach(async () => {
  store = await createStore({}, [def()])
  await store.write({ put: views.map(v => ({ collection: 'sv_customers', id: JSON.stringify([v['customerId']]), doc: v })) })
})

afterEach(async () => {
  await store.close()
})

describe('applyPatches', () => {
  it('patches every matching view through a positional $[name] update with arrayFilters', async () => {
    const out = await applyPatches(def(), 'countries', [change({ code: 'IT', name: 'Italy' })], { store, logger, now: () => now })
    expect(out.failures).toEqual([])
    expect(out.put.map(p => p.id).sort()).toEqual(['["c1"]', '["c2"]'])
    const v1 = out.put.find(p => p.id === '["c1"]')?.doc
    expect(v1).toEqual({
      _id: 'v1',
      customerId: 'c1',
      addresses: [{ city: 'Rome', countryCode: 'IT', countryName: 'Italy' }, { city: 'Paris', countryCode: 'FR', countryName: 'France' }],
      __STATE__: 'PUBLIC',
      updatedAt: now
    })
    expect(out.events.find(e => e.id === '["c1"]')).toEqual({ view: 'sv_customers', id: '["c1"]', key: { customerId: 'c1' }, operation: 'UPDATE', before: views[0], after: v1 })
  })

  it('an update that changes nothing writes nothing', async () => {
    const out = await applyPatches(def(), 'countries', [change({ code: 'FR', name: 'France' })], { store, logger })
    expect(out.put).toEqual([])
    expect(out.events).toEqual([])
  })

  it('several changes of a batch apply in order to the same view', async () => {
    const out = await applyPatches(def(), 'countries', [change({ code: 'IT', name: 'Italy' }), change({ code: 'FR', name: 'Frankreich' })], { store, logger })
    const v1 = out.put.find(p => p.id === '["c1"]')
    expect(out.put).toHaveLength(3)
    expect((v1?.doc['addresses'] as Doc[]).map(a => a['countryName'])).toEqual(['Italy', 'Frankreich'])
    expect(out.events.filter(e => e.id === '["c1"]')).toHaveLength(1)
  })

  it('a throwing action or an invalid operation is a patch failure; valid changes still apply', async () => {
    const bad: PatchRule[] = [
      { projection: 'countries', actionName: 'throws', action: () => { throw new Error('no') } },
      { projection: 'countries', actionName: 'noFilter', action: () => ({ update: { $set: { a: 1 } } }) as never },
      { projection: 'countries', actionName: 'notOperators', action: () => ({ filter: {}, update: { a: 1 } }) },
      { projection: 'countries', actionName: 'badArrayFilters', action: () => ({ filter: {}, update: { $set: { a: 1 } }, arrayFilters: 'x' }) as never },
      countryRule
    ]
    const out = await applyPatches(def(bad), 'countries', [change({ code: 'IT', name: 'Italy' })], { store, logger })
    expect(out.failures.map(f => [f.rule, f.error.code, f.change])).toEqual([
      ['throws', 'BRAID_PATCH_FAILED', 0],
      ['noFilter', 'BRAID_PATCH_FAILED', 0],
      ['notOperators', 'BRAID_PATCH_FAILED', 0],
      ['badArrayFilters', 'BRAID_PATCH_FAILED', 0]
    ])
    expect(out.failures[1]?.error.message).toMatch(/filter must be an object/)
    expect(out.put).toHaveLength(2)
  })

  it('inserts, soft and hard deletes, and other projections patch nothing (inserts and deletes rebuild instead)', async () => {
    expect((await applyPatches(def(), 'countries', [change(null, { code: 'IT' })], { store, logger })).put).toEqual([])
    expect((await applyPatches(def(), 'countries', [change({ code: 'IT', name: 'Italy' }, null)], { store, logger })).put).toEqual([])
    expect((await applyPatches(def(), 'countries', [change({ code: 'IT', name: 'Italy', __STATE__: 'DELETED' }, { code: 'IT', name: 'Italia' })], { store, logger })).put).toEqual([])
    expect((await applyPatches(def(), 'regions', [change({ code: 'IT', name: 'Italy' })], { store, logger })).put).toEqual([])
  })

  it('hasPatchRules tells which projections a view patches', () => {
    expect(hasPatchRules(def(), 'countries')).toBe(true)
    expect(hasPatchRules(def(), 'customers')).toBe(false)
  })
})
