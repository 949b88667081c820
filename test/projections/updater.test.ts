import { afterEach, describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/model/change-event.ts'
import type { Doc } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import type { ProjectionDefinition } from '../../src/model/projection.ts'
import { mapChange } from '../../src/projections/mapper.ts'
import {
  logMetaOf,
  projectionCollectionSpec,
  ProjectionUpdater,
  tombstoneCollection,
  tombstoneCollectionSpec
} from '../../src/projections/updater.ts'
import type { LogMeta, UpdateResult, UpdaterInput } from '../../src/projections/updater.ts'
import { createEmbeddedStore } from '../../src/storage/embedded/index.ts'
import type { EmbeddedStore } from '../../src/storage/embedded/index.ts'
import type { Store } from '../../src/storage/store.ts'
import { projection } from './helpers.ts'

const T0 = Date.UTC(2024, 0, 1)

const stores: EmbeddedStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

interface Harness {
  store: EmbeddedStore
  def: ProjectionDefinition
  calls: { getMany: string[], scan: number }
  /** Applies the inputs as one batch and writes the result. */
  apply: (...inputs: UpdaterInput[]) => Promise<UpdateResult>
  get: (id: number) => Promise<Doc | undefined>
  tombstone: (id: number) => Promise<Doc | undefined>
  input: (event: ChangeEvent, meta?: Partial<LogMeta>) => UpdaterInput
  clock: { now: number }
}

async function harness (options: { softDelete?: boolean } = {}): Promise<Harness> {
  const store = createEmbeddedStore({ path: ':memory:' })
  stores.push(store)
  const def = projection([
    ['ID', 'id', 'castToInteger'],
    ['NAME', 'name', 'castToString'],
    ['CITY', 'city', 'castToString'],
    ['BORN', 'born', 'castToDate']
  ], { sourceKey: ['ID'], softDelete: options.softDelete ?? true, indexedFields: ['city'] })
  await store.ensureCollections([projectionCollectionSpec(def), tombstoneCollectionSpec])
  const calls = { getMany: [] as string[], scan: 0 }
  const counted: Pick<Store, 'getMany' | 'scan'> = {
    getMany: async (collection, ids) => { calls.getMany.push(collection); return await store.getMany(collection, ids) },
    scan: (collection, filter, batchSize) => { calls.scan++; return store.scan(collection, filter, batchSize) }
  }
  const clock = { now: T0 + 1_000_000 }
  const updater = new ProjectionUpdater(counted, def, { now: () => clock.now, scanBatchSize: 2 })
  return {
    store,
    def,
    calls,
    clock,
    apply: async (...inputs) => {
      calls.getMany.length = 0
      calls.scan = 0
      const result = await updater.apply(inputs)
      await store.write({ put: result.put, delete: result.delete })
      return result
    },
    get: async id => (await store.getMany(def.collection, [keyId({ id }, def.key)])).get(keyId({ id }, def.key)),
    tombstone: async id => {
      const tombId = keyId({ id: `${def.collection}|${keyId({ id }, def.key)}` }, ['id'])
      return (await store.getMany(tombstoneCollection, [tombId])).get(tombId)
    },
    input: (event, meta = {}) => {
      const counter = meta.counter ?? T0
      return {
        change: mapChange(def, event),
        meta: {
          counter,
          counterType: 'timestamp',
          offset: 0,
          partition: 0,
          topic: 'users.ingestion',
          rawKey: event.key === null ? null : JSON.stringify(event.key),
          timestamp: typeof counter === 'number' ? counter : T0,
          eventTime: typeof counter === 'number' ? counter : T0,
          ...meta
        }
      }
    }
  }
}

const upsert = (after: Doc, before: Doc | null = null): ChangeEvent => ({ op: 'upsert', key: null, before, after })
const remove = (id: number): ChangeEvent => ({ op: 'delete', key: { ID: id }, before: null, after: null })
const truncate: ChangeEvent = { op: 'truncate', key: null, before: null, after: null }

describe('updater', () => {
  it('updater should insert a record with its metadata and emit a change', async () => {
    const h = await harness()
    const result = await h.apply(h.input(upsert({ ID: '1', NAME: 'Ada', CITY: 'Rome' }), { counter: T0 + 5, offset: 3, rawKey: '{"ID":"1"}' }))
    const doc = await h.get(1)
    expect(doc).toMatchObject({
      id: 1,
      name: 'Ada',
      city: 'Rome',
      __STATE__: 'PUBLIC',
      createdAt: new Date(h.clock.now).toISOString(),
      updatedAt: new Date(h.clock.now).toISOString(),
      timestamp: new Date(T0 + 5).toISOString(),
      __internal__counter: T0 + 5,
      __internal__counterType: 'timestamp',
      __internal__kafkaInfo: { topic: 'users.ingestion', partition: 0, offset: 3, key: '{"ID":"1"}', timestamp: new Date(T0 + 5).toISOString() }
    })
    expect(doc?.['_id']).toMatch(/^[0-9a-f]{24}$/)
    expect(result.changes).toEqual([{ projection: 'pr_users', id: keyId({ id: 1 }, ['id']), before: null, after: result.put[0]?.doc, eventTime: T0 + 5 }])
    expect(result).toMatchObject({ stale: 0, duplicates: 0, delete: [] })
  })

  it('updater should replace the mapped fields on update, keeping _id and createdAt', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'Ada', CITY: 'Rome' }), { counter: T0 }))
    const first = await h.get(1)
    h.clock.now += 60_000
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'Ada L.' }), { counter: T0 + 1, offset: 1 }))
    const doc = await h.get(1)
    expect(doc).toMatchObject({ id: 1, name: 'Ada L.', _id: first?.['_id'], createdAt: first?.['createdAt'], updatedAt: new Date(h.clock.now).toISOString() })
    expect(doc).not.toHaveProperty('city')
    expect(result.changes).toHaveLength(1)
    expect(result.changes[0]?.before).toMatchObject({ name: 'Ada', city: 'Rome' })
    expect(result.changes[0]?.after).toMatchObject({ name: 'Ada L.' })
  })

  it('updater should ignore an event older than the stored counter', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'new' }), { counter: T0 + 10, offset: 5 }))
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'old' }), { counter: T0 + 9, offset: 6 }))
    expect(result).toMatchObject({ stale: 1, duplicates: 0, put: [], delete: [], changes: [] })
    expect((await h.get(1))?.['name']).toBe('new')
  })

  it('updater should break counter ties by offset within the same partition', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'b' }), { counter: T0, offset: 8 }))
    expect((await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0, offset: 7 }))).stale).toBe(1)
    expect((await h.apply(h.input(upsert({ ID: 1, NAME: 'c' }), { counter: T0, offset: 9 }))).changes).toHaveLength(1)
    expect((await h.get(1))?.['name']).toBe('c')
  })

  it('updater should apply an event with an equal counter from another partition', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0, offset: 8, partition: 0 }))
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'b' }), { counter: T0, offset: 2, partition: 1 }))
    expect(result.stale).toBe(0)
    expect((await h.get(1))?.['name']).toBe('b')
  })

  it('updater should compare string positions as integers', async () => {
    const h = await harness()
    const pos = (p: string): Partial<LogMeta> => ({ counter: p, counterType: 'position', offset: 0 })
    await h.apply(h.input(upsert({ ID: 1, NAME: 'b' }), pos('00000000650028162190')))
    expect((await h.get(1))?.['__internal__counter']).toBe('00000000650028162190')
    expect((await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), pos('00000000650028162189')))).stale).toBe(1)
    expect((await h.apply(h.input(upsert({ ID: 1, NAME: 'c' }), pos('99999999999999999999')))).stale).toBe(0)
    expect((await h.get(1))?.['name']).toBe('c')
  })

  it('updater should fall back to offsets when the counter types differ', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: '500', counterType: 'position', offset: 4 }))
    expect((await h.apply(h.input(upsert({ ID: 1, NAME: 'b' }), { counter: T0 + 99, offset: 3 }))).stale).toBe(1)
    expect((await h.apply(h.input(upsert({ ID: 1, NAME: 'c' }), { counter: 1, offset: 5 }))).stale).toBe(0)
  })

  it('updater should treat a replayed message as a duplicate without writing', async () => {
    const h = await harness()
    const input = h.input(upsert({ ID: 1, NAME: 'a', BORN: '2000-01-01T00:00:00.000Z' }), { counter: T0, offset: 1 })
    await h.apply(input)
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'a', BORN: '2000-01-01T00:00:00.000Z' }), { counter: T0, offset: 1 }))
    expect(result).toMatchObject({ stale: 0, duplicates: 1, put: [], delete: [], changes: [] })
  })

  it('updater should advance the counter of a newer duplicate without emitting a change', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0, offset: 1 }))
    const before = await h.get(1)
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 + 20, offset: 9 }))
    expect(result).toMatchObject({ duplicates: 1, changes: [] })
    const after = await h.get(1)
    expect(after).toMatchObject({ __internal__counter: T0 + 20, updatedAt: before?.['updatedAt'], timestamp: before?.['timestamp'] })
    expect((await h.apply(h.input(upsert({ ID: 1, NAME: 'late' }), { counter: T0 + 10, offset: 5 }))).stale).toBe(1)
  })

  it('updater should soft delete by default, keeping the fields', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a', CITY: 'Rome' }), { counter: T0 }))
    const result = await h.apply(h.input(remove(1), { counter: T0 + 1, offset: 1 }))
    expect(await h.get(1)).toMatchObject({ id: 1, name: 'a', city: 'Rome', __STATE__: 'DELETED', __internal__counter: T0 + 1 })
    expect(result.changes).toHaveLength(1)
    expect(result.changes[0]?.before).toMatchObject({ __STATE__: 'PUBLIC' })
    expect(result.changes[0]?.after).toMatchObject({ __STATE__: 'DELETED' })
    expect((await h.apply(h.input(remove(1), { counter: T0 + 1, offset: 1 }))).duplicates).toBe(1)
  })

  it('updater should revive a soft-deleted record on a newer insert, keeping _id and createdAt', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 }))
    const first = await h.get(1)
    await h.apply(h.input(remove(1), { counter: T0 + 1, offset: 1 }))
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 + 2, offset: 2 }))
    expect(result.changes).toHaveLength(1)
    expect(await h.get(1)).toMatchObject({ __STATE__: 'PUBLIC', name: 'a', _id: first?.['_id'], createdAt: first?.['createdAt'] })
  })

  it('updater should not let a late insert resurrect a soft-deleted record', async () => {
    const h = await harness()
    await h.apply(h.input(remove(1), { counter: T0 + 5, offset: 5 }))
    expect(await h.get(1)).toMatchObject({ id: 1, __STATE__: 'DELETED', __internal__counter: T0 + 5 })
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'ghost' }), { counter: T0 + 1, offset: 1 }))
    expect(result).toMatchObject({ stale: 1, changes: [] })
    expect((await h.get(1))?.['__STATE__']).toBe('DELETED')
  })

  it('updater should hard delete and keep a tombstone against late inserts', async () => {
    const h = await harness({ softDelete: false })
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 }))
    const deleted = await h.apply(h.input(remove(1), { counter: T0 + 5, offset: 5 }))
    expect(await h.get(1)).toBeUndefined()
    expect(deleted.changes).toEqual([expect.objectContaining({ before: expect.objectContaining({ name: 'a' }), after: null, eventTime: T0 + 5 })])
    expect(await h.tombstone(1)).toMatchObject({ id: `pr_users|${keyId({ id: 1 }, ['id'])}`, collection: 'pr_users', counter: T0 + 5, counterType: 'timestamp', kafkaInfo: { offset: 5 } })
    const late = await h.apply(h.input(upsert({ ID: 1, NAME: 'ghost' }), { counter: T0 + 1, offset: 1 }))
    expect(late).toMatchObject({ stale: 1, put: [], changes: [] })
    expect(await h.get(1)).toBeUndefined()
  })

  it('updater should insert after a hard delete and drop the tombstone', async () => {
    const h = await harness({ softDelete: false })
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 }))
    await h.apply(h.input(remove(1), { counter: T0 + 5, offset: 5 }))
    const result = await h.apply(h.input(upsert({ ID: 1, NAME: 'b' }), { counter: T0 + 6, offset: 6 }))
    expect(result.changes).toEqual([expect.objectContaining({ before: null, after: expect.objectContaining({ name: 'b', __STATE__: 'PUBLIC' }) })])
    expect(await h.get(1)).toMatchObject({ name: 'b' })
    expect(await h.tombstone(1)).toBeUndefined()
  })

  it('updater should record a tombstone for a hard delete of an unknown key without a change', async () => {
    const h = await harness({ softDelete: false })
    const result = await h.apply(h.input(remove(4), { counter: T0 + 5 }))
    expect(result.changes).toEqual([])
    expect(await h.tombstone(4)).toMatchObject({ counter: T0 + 5 })
    expect((await h.apply(h.input(remove(4), { counter: T0 + 5 }))).duplicates).toBe(1)
  })

  it('updater should move a record whose primary key changed: delete old key, insert new key', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 }))
    const result = await h.apply(h.input(upsert({ ID: 2, NAME: 'a' }, { ID: 1, NAME: 'a' }), { counter: T0 + 1, offset: 1 }))
    expect(result.changes.map(c => [c.id, c.before?.['__STATE__'] ?? null, c.after?.['__STATE__'] ?? null])).toEqual([
      [keyId({ id: 1 }, ['id']), 'PUBLIC', 'DELETED'],
      [keyId({ id: 2 }, ['id']), null, 'PUBLIC']
    ])
    expect((await h.get(1))?.['__STATE__']).toBe('DELETED')
    expect(await h.get(2)).toMatchObject({ name: 'a', __STATE__: 'PUBLIC' })
  })

  it('updater should hard delete the old key of a primary-key change when soft delete is off', async () => {
    const h = await harness({ softDelete: false })
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 }))
    const result = await h.apply(h.input(upsert({ ID: 2, NAME: 'a' }, { ID: 1 }), { counter: T0 + 1, offset: 1 }))
    expect(result.changes).toHaveLength(2)
    expect(await h.get(1)).toBeUndefined()
    expect(await h.tombstone(1)).toBeDefined()
    expect(await h.get(2)).toBeDefined()
  })

  it('updater should delete every public record on truncate, sparing records newer than it', async () => {
    const h = await harness()
    await h.apply(
      h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0, offset: 0 }),
      h.input(upsert({ ID: 2, NAME: 'b' }), { counter: T0, offset: 1 }),
      h.input(upsert({ ID: 3, NAME: 'c' }), { counter: T0, offset: 2 }),
      h.input(upsert({ ID: 4, NAME: 'd' }), { counter: T0 + 50, offset: 3, partition: 1 })
    )
    await h.apply(h.input(remove(3), { counter: T0 + 1, offset: 4 }))
    const result = await h.apply(
      h.input(upsert({ ID: 5, NAME: 'e' }), { counter: T0 + 2, offset: 5 }),
      h.input(truncate, { counter: T0 + 10, offset: 6 })
    )
    expect(result.changes.map(c => c.id).sort()).toEqual([1, 2, 5, 5].map(id => keyId({ id }, ['id'])).sort())
    for (const id of [1, 2, 3, 5]) expect((await h.get(id))?.['__STATE__']).toBe('DELETED')
    expect((await h.get(4))?.['__STATE__']).toBe('PUBLIC')
    expect(h.calls.scan).toBe(1)
  })

  it('updater should hard delete on truncate and keep tombstones', async () => {
    const h = await harness({ softDelete: false })
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 }), h.input(upsert({ ID: 2, NAME: 'b' }), { counter: T0, offset: 1 }))
    const result = await h.apply(h.input(truncate, { counter: T0 + 10, offset: 2 }))
    expect(result.changes.every(c => c.after === null)).toBe(true)
    expect(result.changes).toHaveLength(2)
    expect(await h.get(1)).toBeUndefined()
    expect(await h.tombstone(2)).toMatchObject({ counter: T0 + 10 })
    expect((await h.apply(h.input(upsert({ ID: 2, NAME: 'late' }), { counter: T0 + 9, offset: 1, partition: 3 }))).stale).toBe(1)
  })

  it('updater should apply a batch in order with one read and one write per record', async () => {
    const h = await harness()
    const result = await h.apply(
      h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0, offset: 0 }),
      h.input(upsert({ ID: 2, NAME: 'x' }), { counter: T0, offset: 1 }),
      h.input(upsert({ ID: 1, NAME: 'b' }), { counter: T0 + 1, offset: 2 }),
      h.input(upsert({ ID: 1, NAME: 'stale' }), { counter: T0 - 1, offset: 3 }),
      h.input(remove(1), { counter: T0 + 2, offset: 4 }),
      h.input(upsert({ ID: 1, NAME: 'c' }), { counter: T0 + 3, offset: 5 }),
      h.input(upsert({ ID: 1, NAME: 'c' }), { counter: T0 + 3, offset: 5 })
    )
    expect(h.calls.getMany).toEqual(['pr_users'])
    expect(result.put).toHaveLength(2)
    expect(result.changes.map(c => [c.before?.['name'] ?? null, c.after?.['name'] ?? null, c.after?.['__STATE__']])).toEqual([
      [null, 'a', 'PUBLIC'],
      [null, 'x', 'PUBLIC'],
      ['a', 'b', 'PUBLIC'],
      ['b', 'b', 'DELETED'],
      ['b', 'c', 'PUBLIC']
    ])
    expect(result).toMatchObject({ stale: 1, duplicates: 1 })
    expect(await h.get(1)).toMatchObject({ name: 'c', __STATE__: 'PUBLIC', __internal__counter: T0 + 3 })
  })

  it('updater should read tombstones only for hard-delete projections and only for keys not stored', async () => {
    const h = await harness({ softDelete: false })
    await h.apply(h.input(upsert({ ID: 1, NAME: 'a' }), { counter: T0 }))
    expect(h.calls.getMany).toEqual(['pr_users', tombstoneCollection])
    await h.apply(h.input(upsert({ ID: 1, NAME: 'b' }), { counter: T0 + 1, offset: 1 }))
    expect(h.calls.getMany).toEqual(['pr_users'])
  })

  it('updater should see a Date field and its stored ISO string as equal', async () => {
    const h = await harness()
    await h.apply(h.input(upsert({ ID: 1, BORN: '1990-05-01T00:00:00.000Z' }), { counter: T0 }))
    expect((await h.get(1))?.['born']).toBe('1990-05-01T00:00:00.000Z')
    expect((await h.apply(h.input(upsert({ ID: 1, BORN: 641520000000 }), { counter: T0 + 1, offset: 1 }))).changes).toEqual([])
  })

  it('updater should refuse a keyless delete that did not come from the mapper', async () => {
    const h = await harness()
    const input = h.input(remove(1))
    const bad: UpdaterInput = { ...input, change: { ...input.change, key: null } }
    await expect(h.apply(bad)).rejects.toMatchObject({ code: 'BRAID_INTERNAL' })
  })

  it('updater should return nothing for an empty batch', async () => {
    const h = await harness()
    expect(await h.apply()).toEqual({ put: [], delete: [], changes: [], stale: 0, duplicates: 0 })
    expect(h.calls.getMany).toEqual([])
  })
})

describe('updater helpers', () => {
  it('logMetaOf should use the event position as a position counter, else the message timestamp', () => {
    const message = { key: '{"ID":1}', value: '{}', timestamp: T0, offset: 4, partition: 2, topic: 't', headers: {} }
    expect(logMetaOf(message, { op: 'insert', key: null, before: null, after: {}, position: '0012', sourceTime: T0 - 5 })).toEqual({
      counter: '0012', counterType: 'position', offset: 4, partition: 2, topic: 't', rawKey: '{"ID":1}', timestamp: T0, eventTime: T0 - 5
    })
    expect(logMetaOf(message, { op: 'insert', key: null, before: null, after: {} })).toMatchObject({ counter: T0, counterType: 'timestamp', eventTime: T0 })
  })

  it('projectionCollectionSpec should key the collection by the projection key and index lookup fields', () => {
    const def = projection([['A', 'a', 'identity'], ['B', 'b', 'identity']], { sourceKey: ['A'], indexedFields: ['b', 'a', 'b'] })
    expect(projectionCollectionSpec(def)).toEqual({
      name: 'pr_users',
      primaryKey: ['a'],
      indexes: [{ fields: ['_id'], unique: true }, { fields: ['__STATE__'] }, { fields: ['b'] }]
    })
    expect(tombstoneCollectionSpec).toEqual({ name: '__braid_tombstones', primaryKey: ['id'], indexes: [{ fields: ['collection'] }] })
  })
})
