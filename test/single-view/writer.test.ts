import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BraidError } from '../../src/errors.ts'
import type { Doc } from '../../src/model/document.ts'
import type { SingleViewDefinition } from '../../src/model/single-view.ts'
import { writeViews, type AggregationResult } from '../../src/single-view/index.ts'
import type { EmbeddedStore } from '../../src/storage/embedded/index.ts'
import { base, block, counting, createStore, logger, view, type CountingStore } from './helpers.ts'

const t0 = new Date('2024-01-01T00:00:00.000Z')
const t1 = new Date('2024-01-02T00:00:00.000Z')

function def (extra: Partial<SingleViewDefinition> = {}): SingleViewDefinition {
  const d = view({ name: 'sv_people', key: { personId: 'id' }, baseDependency: 'people', root: block('SV_CONFIG', [base('people')], { personId: 'people.id', name: 'people.name' }) })
  return { ...d, ...extra }
}

function result (id: string, v: Doc | null, extra: Partial<AggregationResult> = {}): AggregationResult {
  return { identifier: { id }, id: JSON.stringify([id]), key: { personId: id }, view: v, lineage: [], ...(v === null ? { reason: 'base record missing' } : {}), ...extra }
}

let plain: EmbeddedStore
let store: CountingStore

beforeEach(async () => {
  plain = await createStore({}, [def()])
  store = counting(plain)
})

afterEach(async () => {
  await plain.close()
})

async function apply (d: SingleViewDefinition, results: AggregationResult[], now = t0): Promise<Awaited<ReturnType<typeof writeViews>>> {
  const out = await writeViews(d, results, { store, logger, now: () => now })
  await plain.write({ put: out.put, delete: out.delete })
  return out
}

async function stored (id: string): Promise<Doc | undefined> {
  return (await plain.getMany('sv_people', [JSON.stringify([id])])).get(JSON.stringify([id]))
}

describe('writeViews', () => {
  it('replace inserts a new view with _id, __STATE__ PUBLIC, createdAt and updatedAt', async () => {
    const out = await apply(def(), [result('a', { personId: 'a', name: 'Ada' })])
    expect(store.calls.getMany).toBe(1)
    const doc = await stored('a')
    expect(doc).toMatchObject({ personId: 'a', name: 'Ada', __STATE__: 'PUBLIC', createdAt: t0.toISOString(), updatedAt: t0.toISOString() })
    expect(doc?.['_id']).toMatch(/^[0-9a-f]{24}$/)
    expect(out.events).toEqual([{ view: 'sv_people', id: '["a"]', key: { personId: 'a' }, operation: 'INSERT', before: null, after: out.put[0]?.doc }])
    expect(out.outcomes).toEqual([{ id: '["a"]', identifier: { id: 'a' }, status: 'inserted' }])
  })

  it('replace rewrites the whole document, keeping _id and createdAt', async () => {
    await apply(def(), [result('a', { personId: 'a', name: 'Ada', extra: 1 })])
    const first = await stored('a')
    const out = await apply(def(), [result('a', { personId: 'a', name: 'Ada L.' })], t1)
    const doc = await stored('a')
    expect(doc).toEqual({ _id: first?.['_id'], personId: 'a', name: 'Ada L.', __STATE__: 'PUBLIC', createdAt: t0.toISOString(), updatedAt: t1.toISOString() })
    expect(out.events[0]).toMatchObject({ operation: 'UPDATE', before: first, after: { name: 'Ada L.' } })
  })

  it('update merges the aggregated fields into the stored view', async () => {
    await plain.write({ put: [{ collection: 'sv_people', id: '["a"]', doc: { _id: 'x1', personId: 'a', name: 'Ada', ownedByOther: true, __STATE__: 'PUBLIC', createdAt: 'then' } }] })
    await apply(def({ upsert: 'update' }), [result('a', { personId: 'a', name: 'Ada L.' })], t1)
    expect(await stored('a')).toEqual({ _id: 'x1', personId: 'a', name: 'Ada L.', ownedByOther: true, __STATE__: 'PUBLIC', createdAt: 'then', updatedAt: t1.toISOString() })
  })

  it('unchanged content writes nothing and emits no event', async () => {
    await apply(def(), [result('a', { personId: 'a', name: 'Ada' })])
    const out = await apply(def(), [result('a', { personId: 'a', name: 'Ada' })], t1)
    expect(out.put).toEqual([])
    expect(out.events).toEqual([])
    expect(out.outcomes[0]?.status).toBe('unchanged')
    expect((await stored('a'))?.['updatedAt']).toBe(t0.toISOString())
  })

  it('an aggregated __STATE__ is kept and key fields missing from the mapping are filled', async () => {
    await apply(def(), [result('a', { name: 'Ada', __STATE__: 'DRAFT' })])
    expect(await stored('a')).toMatchObject({ personId: 'a', name: 'Ada', __STATE__: 'DRAFT' })
  })

  it('delete removes the view when the base record is missing', async () => {
    await apply(def(), [result('a', { personId: 'a', name: 'Ada' })])
    const before = await stored('a')
    const out = await apply(def(), [result('a', null)], t1)
    expect(await stored('a')).toBeUndefined()
    expect(out.delete).toEqual([{ collection: 'sv_people', id: '["a"]' }])
    expect(out.events).toEqual([{ view: 'sv_people', id: '["a"]', key: { personId: 'a' }, operation: 'DELETE', before, after: null }])
    expect(out.outcomes[0]).toMatchObject({ status: 'deleted', reason: 'base record missing' })
  })

  it('virtualDelete marks the view DELETED and keeps its fields, once', async () => {
    await apply(def(), [result('a', { personId: 'a', name: 'Ada' })])
    const out = await apply(def({ delete: 'virtualDelete' }), [result('a', null)], t1)
    expect(await stored('a')).toMatchObject({ personId: 'a', name: 'Ada', __STATE__: 'DELETED', updatedAt: t1.toISOString() })
    expect(out.events[0]).toMatchObject({ operation: 'DELETE', after: { __STATE__: 'DELETED' } })
    const again = await apply(def({ delete: 'virtualDelete' }), [result('a', null)], t1)
    expect(again.put).toEqual([])
    expect(again.events).toEqual([])
  })

  it('a virtually deleted view comes back PUBLIC when rebuilt', async () => {
    await apply(def({ delete: 'virtualDelete' }), [result('a', { personId: 'a', name: 'Ada' })])
    await apply(def({ delete: 'virtualDelete' }), [result('a', null)])
    const out = await apply(def({ delete: 'virtualDelete' }), [result('a', { personId: 'a', name: 'Ada' })], t1)
    expect(out.events[0]?.operation).toBe('UPDATE')
    expect((await stored('a'))?.['__STATE__']).toBe('PUBLIC')
  })

  it('a missing view with nothing to write is a no-op', async () => {
    const out = await apply(def(), [result('nobody', null)])
    expect(out).toMatchObject({ put: [], delete: [], events: [] })
    expect(out.outcomes[0]?.status).toBe('unchanged')
  })

  it('a validator returning false deletes the view; sync and async validators both work', async () => {
    await apply(def(), [result('a', { personId: 'a', name: 'Ada' }), result('b', { personId: 'b', name: 'Bob' })])
    const d = def({ validator: async (_l, v) => v['name'] !== 'Bob' })
    const out = await apply(d, [result('a', { personId: 'a', name: 'Ada' }), result('b', { personId: 'b', name: 'Bob' })])
    expect(out.outcomes.map(o => [o.status, o.reason])).toEqual([['unchanged', undefined], ['deleted', 'validator rejected the view']])
    expect(await stored('b')).toBeUndefined()
  })

  it('a throwing validator is a retryable failure that leaves the view alone', async () => {
    await apply(def(), [result('a', { personId: 'a', name: 'Ada' })])
    const d = def({ validator: () => { throw new Error('bad validator') } })
    const out = await apply(d, [result('a', { personId: 'a', name: 'Changed' })])
    expect(out.put).toEqual([])
    expect(out.failures).toHaveLength(1)
    expect(out.failures[0]?.error).toMatchObject({ code: 'BRAID_VALIDATOR_FAILED', retryable: true })
    expect((await stored('a'))?.['name']).toBe('Ada')
  })

  it('failed aggregations are reported and never delete the stored view', async () => {
    await apply(def(), [result('a', { personId: 'a', name: 'Ada' })])
    const error = new BraidError('BRAID_AGGREGATION_FAILED', 'function threw')
    const out = await apply(def(), [result('a', null, { error, reason: error.message })])
    expect(out.failures).toEqual([{ id: '["a"]', identifier: { id: 'a' }, error }])
    expect(out.delete).toEqual([])
    expect(await stored('a')).toBeDefined()
  })
})
