/**
 * The Store contract: every implementation (embedded SQLite, MongoDB) runs this suite.
 * `create` must return a store over EMPTY storage; the suite closes it after each test.
 * @module
 */
import { afterEach, beforeEach, describe, expect } from 'vitest'
import type { Doc, Filter } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import type { CollectionSpec, FindOptions, OutboxEntry, Store } from '../../src/storage/store.ts'
import { contractTest, type ContractSkip } from './support.ts'

export interface StoreContractOptions {
  name: string
  create: () => Promise<Store>
  /**
   * Opens a second store on the storage of the store `create` returned last, as a second braid
   * worker would (the suite closes it). Implementations that cannot share storage skip the tests using it.
   */
  openSibling?: () => Promise<Store>
  skip?: ContractSkip[]
}

const key = ['code']
const idOf = (doc: Doc): string => keyId(doc, key)

/** Fixture for the query tests; `code` is the key, so id order is a, b, c, d, e, f. */
const people: Doc[] = [
  { _id: 'id-a', code: 'a', n: 1, s: 'x', b: true, nul: null, tags: ['red', 'blue'], nested: { city: 'Rome', zip: 100 }, mixed: 1 },
  { _id: 'id-b', code: 'b', n: 2, s: 'y', b: false, tags: ['green'], nested: { city: 'Milan', zip: 200 }, mixed: '1' },
  { _id: 'id-c', code: 'c', n: 3, s: 'x', b: true, nul: 'v', tags: 'red', nested: { city: 'Rome', zip: 300 }, mixed: true },
  { _id: 'id-d', code: 'd', n: 10, s: 'Z', items: [{ sku: 'p1', qty: 2 }, { sku: 'p2', qty: 5 }], mixed: null },
  { _id: 'id-e', code: 'e', n: 2.5, s: 'ab', b: false, nested: { city: 'Turin' } },
  { _id: 'id-f', code: 'f', s: 'x', nul: 0, nested: { zip: 50 } }
]

/** The same data in an indexed and an unindexed collection: push-down must not change answers. */
const indexed: CollectionSpec = {
  name: 'people_indexed',
  primaryKey: key,
  indexes: [
    { fields: ['n'] }, { fields: ['s'] }, { fields: ['b'] }, { fields: ['nul'] }, { fields: ['tags'] },
    { fields: ['mixed'] }, { fields: ['nested.city'] }, { fields: ['nested.zip'] }, { fields: ['items.sku'] },
    { fields: ['s', 'n'] }
  ]
}
const plain: CollectionSpec = { name: 'people_plain', primaryKey: key, indexes: [] }

const codes = (docs: Doc[]): string[] => docs.map(d => d['code'] as string)

export function runStoreContract (options: StoreContractOptions): void {
  const test = contractTest(options.skip)

  describe(`Store contract: ${options.name}`, () => {
    let store: Store

    beforeEach(async () => {
      store = await options.create()
    })

    afterEach(async () => {
      await store.close()
    })

    async function loadPeople (): Promise<void> {
      await store.ensureCollections([indexed, plain])
      await store.write({
        put: [...people.map(doc => ({ collection: indexed.name, id: idOf(doc), doc })), ...people.map(doc => ({ collection: plain.name, id: idOf(doc), doc }))]
      })
    }

    /** find on both collections; both must give the same codes. */
    async function findCodes (filter: Filter, findOptions?: FindOptions): Promise<string[]> {
      const a = codes(await store.find(indexed.name, filter, findOptions))
      const b = codes(await store.find(plain.name, filter, findOptions))
      expect(a, 'indexed and unindexed collections disagree').toEqual(b)
      return a
    }

    async function countBoth (filter: Filter): Promise<number> {
      const a = await store.count(indexed.name, filter)
      const b = await store.count(plain.name, filter)
      expect(a, 'indexed and unindexed collections disagree').toBe(b)
      return a
    }

    describe('collections and documents', () => {
      test('ensureCollections should be idempotent and keep existing documents', async () => {
        await store.ensureCollections([plain])
        await store.write({ put: [{ collection: plain.name, id: 'k1', doc: { code: 'k1' } }] })
        await store.ensureCollections([plain])
        await store.ensureCollections([{ ...plain, indexes: [{ fields: ['n'] }, { fields: ['s', 'n'] }] }])
        await store.ensureCollections([{ ...plain, indexes: [{ fields: ['n'] }, { fields: ['s', 'n'] }] }])
        const got = await store.getMany(plain.name, ['k1'])
        expect(got.get('k1')).toEqual({ code: 'k1' })
      })

      test('getMany should return stored documents by id and leave missing ids out', async () => {
        await store.ensureCollections([plain])
        const doc = { _id: 'x1', code: 'a', text: 'àé 😀 \u0000', n: 1.5, big: 2 ** 53 - 1, neg: -3, t: true, f: false, nil: null, arr: [1, 'two', { three: 3, four: [4] }], obj: { deep: { er: [] } } }
        await store.write({ put: [{ collection: plain.name, id: 'a', doc }] })
        const got = await store.getMany(plain.name, ['a', 'missing'])
        expect([...got.keys()]).toEqual(['a'])
        expect(got.get('a')).toEqual(doc)
      })

      test('documents holding arrays of arrays should round trip', async () => {
        await store.ensureCollections([plain])
        const doc = { code: 'm', matrix: [[1, 2], [3, [4]]], mixed: [1, ['two']] }
        await store.write({ put: [{ collection: plain.name, id: 'm', doc }] })
        expect((await store.getMany(plain.name, ['m'])).get('m')).toEqual(doc)
      })

      test('documents should be stored as JSON: Dates as ISO strings, undefined fields dropped, non-finite numbers as null', async () => {
        await store.ensureCollections([plain])
        const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))
        const doc = { code: 'j', at, nested: { at, list: [at, undefined, Number.NaN] }, gone: undefined, inf: Infinity, zero: -0 }
        await store.write({ put: [{ collection: plain.name, id: 'j', doc }] })
        const iso = '2026-01-02T03:04:05.006Z'
        const stored = (await store.getMany(plain.name, ['j'])).get('j')
        expect(stored).toEqual({ code: 'j', at: iso, nested: { at: iso, list: [iso, null, null] }, inf: null, zero: 0 })
        expect(Object.hasOwn(stored ?? {}, 'gone')).toBe(false)
        expect(Object.is(stored?.['zero'], 0)).toBe(true)
      })

      test('Date filters should compare against the stored ISO strings', async () => {
        await store.ensureCollections([plain, { ...plain, name: 'events_indexed', indexes: [{ fields: ['at'] }] }])
        const at = (day: number): Date => new Date(Date.UTC(2026, 0, day))
        for (const collection of [plain.name, 'events_indexed']) {
          await store.write({ put: [1, 2, 3].map(day => ({ collection, id: String(day), doc: { code: String(day), at: at(day) } })) })
          expect((await store.find(collection, { at: at(2) })).map(d => d['code'])).toEqual(['2'])
          expect((await store.find(collection, { at: { $gte: at(2) } }, { sort: { at: -1 } })).map(d => d['code'])).toEqual(['3', '2'])
          expect(await store.count(collection, { at: { $in: [at(1), at(3)] } })).toBe(2)
        }
      })

      test('getMany should handle more ids than one SQL statement or request takes', async () => {
        await store.ensureCollections([plain])
        const ids = Array.from({ length: 1_500 }, (_, i) => `id-${String(i).padStart(5, '0')}`)
        await store.write({ put: ids.map((id, i) => ({ collection: plain.name, id, doc: { code: id, i } })) })
        const asked = [...ids.filter((_, i) => i % 2 === 0), 'nope-1', 'nope-2']
        const got = await store.getMany(plain.name, asked)
        expect(got.size).toBe(750)
        expect(got.get('id-00998')).toEqual({ code: 'id-00998', i: 998 })
        expect(got.has('id-00999')).toBe(false)
        expect((await store.getMany(plain.name, [])).size).toBe(0)
      })

      test('put should replace the whole document stored under an id', async () => {
        await store.ensureCollections([plain])
        await store.write({ put: [{ collection: plain.name, id: 'a', doc: { code: 'a', old: 1 } }] })
        await store.write({ put: [{ collection: plain.name, id: 'a', doc: { code: 'a', fresh: 2 } }] })
        expect((await store.getMany(plain.name, ['a'])).get('a')).toEqual({ code: 'a', fresh: 2 })
        expect(await store.count(plain.name, {})).toBe(1)
      })

      test('delete should remove documents and ignore absent ids', async () => {
        await store.ensureCollections([plain])
        await store.write({ put: ['a', 'b', 'c'].map(id => ({ collection: plain.name, id, doc: { code: id } })) })
        await store.write({ delete: [{ collection: plain.name, id: 'b' }, { collection: plain.name, id: 'zzz' }] })
        expect([...(await store.getMany(plain.name, ['a', 'b', 'c'])).keys()].sort()).toEqual(['a', 'c'])
      })

      test('clear should empty one collection and leave the others alone', async () => {
        await store.ensureCollections([plain, indexed])
        await store.write({ put: [{ collection: plain.name, id: 'a', doc: { code: 'a' } }, { collection: indexed.name, id: 'a', doc: { code: 'a' } }] })
        await store.write({ clear: [plain.name] })
        expect(await store.count(plain.name, {})).toBe(0)
        expect(await store.count(indexed.name, {})).toBe(1)
      })

      test('a batch should clear and delete before it puts', async () => {
        await store.ensureCollections([plain])
        await store.write({ put: ['a', 'b'].map(id => ({ collection: plain.name, id, doc: { code: id, v: 1 } })) })
        await store.write({
          clear: [plain.name],
          delete: [{ collection: plain.name, id: 'c' }],
          put: ['b', 'c'].map(id => ({ collection: plain.name, id, doc: { code: id, v: 2 } }))
        })
        const all = await store.find(plain.name, {})
        expect(all).toEqual([{ code: 'b', v: 2 }, { code: 'c', v: 2 }])
      })

      test('a batch should apply the last of several puts of one id', async () => {
        await store.ensureCollections([plain])
        await store.write({
          put: [1, 2, 3].map(v => ({ collection: plain.name, id: 'a', doc: { code: 'a', v } }))
        })
        expect(await store.find(plain.name, {})).toEqual([{ code: 'a', v: 3 }])
      })

      test('applying the same batch twice should leave the documents as applying it once', async () => {
        await store.ensureCollections([plain])
        await store.write({ put: ['a', 'b', 'c'].map(id => ({ collection: plain.name, id, doc: { code: id, v: 0 } })) })
        const batch = {
          delete: [{ collection: plain.name, id: 'a' }],
          put: [{ collection: plain.name, id: 'b', doc: { code: 'b', v: 1 } }, { collection: plain.name, id: 'd', doc: { code: 'd', v: 1 } }],
          meta: [{ key: 'position', value: { offset: 7 } }]
        }
        await store.write(batch)
        const once = await store.find(plain.name, {})
        await store.write(batch)
        expect(await store.find(plain.name, {})).toEqual(once)
        expect(once).toEqual([{ code: 'b', v: 1 }, { code: 'c', v: 0 }, { code: 'd', v: 1 }])
        expect(await store.getMeta('position')).toEqual({ offset: 7 })
      })

      test('a batch with an invalid operation should apply nothing', async () => {
        await store.ensureCollections([plain])
        await store.write({ put: [{ collection: plain.name, id: 'keep', doc: { code: 'keep' } }] })
        await expect(store.write({
          put: [
            { collection: plain.name, id: 'new', doc: { code: 'new' } },
            { collection: 'does_not_exist', id: 'x', doc: { code: 'x' } }
          ],
          delete: [{ collection: plain.name, id: 'keep' }],
          enqueue: [{ view: 'v', id: 'i', identifier: { code: 'i' }, eventTime: 1 }],
          meta: [{ key: 'atomic', value: true }]
        })).rejects.toThrow()
        expect([...(await store.getMany(plain.name, ['keep', 'new'])).keys()]).toEqual(['keep'])
        expect(await store.queueDepth()).toBe(0)
        expect(await store.getMeta('atomic')).toBeUndefined()
      })

      test('reads of a collection that does not exist should find nothing', async () => {
        expect(await store.find('nothing_here', {})).toEqual([])
        expect(await store.count('nothing_here', {})).toBe(0)
        expect((await store.getMany('nothing_here', ['a'])).size).toBe(0)
        const pages: Doc[][] = []
        for await (const page of store.scan('nothing_here', {})) pages.push(page)
        expect(pages).toEqual([])
      })

      test('deleting from or clearing a collection that does not exist should do nothing', async () => {
        await store.ensureCollections([plain])
        await store.write({
          delete: [{ collection: 'nothing_here', id: 'a' }],
          clear: ['nothing_here'],
          put: [{ collection: plain.name, id: 'a', doc: { code: 'a' } }]
        })
        expect(await store.count(plain.name, {})).toBe(1)
      })
    })

    describe('find', () => {
      beforeEach(loadPeople)

      test('find without filter should return every document in id order', async () => {
        expect(await findCodes({})).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
        expect(await store.find(indexed.name, {})).toEqual(people)
      })

      test('equality should be type strict', async () => {
        expect(await findCodes({ n: 2 })).toEqual(['b'])
        expect(await findCodes({ mixed: 1 })).toEqual(['a'])
        expect(await findCodes({ mixed: '1' })).toEqual(['b'])
        expect(await findCodes({ mixed: true })).toEqual(['c'])
        expect(await findCodes({ mixed: { $eq: 1 } })).toEqual(['a'])
        expect(await findCodes({ nul: 0 })).toEqual(['f'])
        expect(await findCodes({ nul: false })).toEqual([])
        expect(await findCodes({ s: 'z' })).toEqual([])
      })

      test('null should match null and missing fields', async () => {
        expect(await findCodes({ mixed: null })).toEqual(['d', 'e', 'f'])
        expect(await findCodes({ nul: null })).toEqual(['a', 'b', 'd', 'e'])
        expect(await findCodes({ nul: { $eq: null } })).toEqual(['a', 'b', 'd', 'e'])
        expect(await findCodes({ nul: { $exists: true } })).toEqual(['a', 'c', 'f'])
        expect(await findCodes({ nul: { $exists: false } })).toEqual(['b', 'd', 'e'])
        expect(await findCodes({ nul: { $ne: null } })).toEqual(['c', 'f'])
      })

      test('booleans should match booleans only', async () => {
        expect(await findCodes({ b: true })).toEqual(['a', 'c'])
        expect(await findCodes({ b: false })).toEqual(['b', 'e'])
        expect(await findCodes({ b: { $ne: true } })).toEqual(['b', 'd', 'e', 'f'])
      })

      test('$in and $nin should work on numbers, strings, null and mixed lists', async () => {
        expect(await findCodes({ n: { $in: [1, 3, 99] } })).toEqual(['a', 'c'])
        expect(await findCodes({ s: { $in: ['x', 'y'] } })).toEqual(['a', 'b', 'c', 'f'])
        expect(await findCodes({ mixed: { $in: [1, '1'] } })).toEqual(['a', 'b'])
        expect(await findCodes({ mixed: { $in: [true, null] } })).toEqual(['c', 'd', 'e', 'f'])
        expect(await findCodes({ n: { $in: [] } })).toEqual([])
        expect(await findCodes({ s: { $nin: ['x', 'Z'] } })).toEqual(['b', 'e'])
        expect(await findCodes({ s: { $in: [/^a/, 'y'] } })).toEqual(['b', 'e'])
      })

      test('range operators should compare within one type', async () => {
        expect(await findCodes({ n: { $gt: 2 } })).toEqual(['c', 'd', 'e'])
        expect(await findCodes({ n: { $gte: 2 } })).toEqual(['b', 'c', 'd', 'e'])
        expect(await findCodes({ n: { $lt: 2 } })).toEqual(['a'])
        expect(await findCodes({ n: { $lte: 2.5 } })).toEqual(['a', 'b', 'e'])
        expect(await findCodes({ n: { $gt: 1, $lt: 10 } })).toEqual(['b', 'c', 'e'])
        expect(await findCodes({ mixed: { $gte: 0 } })).toEqual(['a'])
        expect(await findCodes({ mixed: { $gte: '' } })).toEqual(['b'])
        expect(await findCodes({ s: { $gte: 'x' } })).toEqual(['a', 'b', 'c', 'f'])
        expect(await findCodes({ s: { $lt: 'a' } })).toEqual(['d'])
      })

      test('equality on an array field should match its elements', async () => {
        expect(await findCodes({ tags: 'red' })).toEqual(['a', 'c'])
        expect(await findCodes({ tags: { $in: ['green', 'blue'] } })).toEqual(['a', 'b'])
        expect(await findCodes({ tags: ['green'] })).toEqual(['b'])
        expect(await findCodes({ tags: { $size: 2 } })).toEqual(['a'])
      })

      test('equality on a field that becomes an array after the first queries should still match', async () => {
        await store.write({ put: [{ collection: indexed.name, id: 'g', doc: { code: 'g', s: ['x', 'w'], n: [7, 8] } }, { collection: plain.name, id: 'g', doc: { code: 'g', s: ['x', 'w'], n: [7, 8] } }] })
        expect(await findCodes({ s: 'w' })).toEqual(['g'])
        expect(await findCodes({ s: 'x' })).toEqual(['a', 'c', 'f', 'g'])
        expect(await findCodes({ n: { $gt: 7.5, $lt: 9 } })).toEqual(['g'])
        expect(await countBoth({ s: 'x' })).toBe(4)
      })

      test('nested paths should match through objects and arrays', async () => {
        expect(await findCodes({ 'nested.city': 'Rome' })).toEqual(['a', 'c'])
        expect(await findCodes({ 'nested.zip': { $gte: 200 } })).toEqual(['b', 'c'])
        expect(await findCodes({ 'nested.city': null })).toEqual(['d', 'f'])
        expect(await findCodes({ 'items.sku': 'p2' })).toEqual(['d'])
        expect(await findCodes({ nested: { city: 'Turin' } })).toEqual(['e'])
      })

      test('$or, $and, $nor and $not should combine conditions', async () => {
        expect(await findCodes({ $or: [{ n: 1 }, { s: 'y' }] })).toEqual(['a', 'b'])
        expect(await findCodes({ $and: [{ s: 'x' }, { b: true }] })).toEqual(['a', 'c'])
        expect(await findCodes({ s: 'x', $or: [{ n: { $gt: 2 } }, { nul: 0 }] })).toEqual(['c', 'f'])
        expect(await findCodes({ $nor: [{ s: 'x' }, { n: 10 }] })).toEqual(['b', 'e'])
        expect(await findCodes({ n: { $not: { $gt: 2 } } })).toEqual(['a', 'b', 'f'])
      })

      test('$regex and $exists should be supported', async () => {
        expect(await findCodes({ s: { $regex: '^a' } })).toEqual(['e'])
        expect(await findCodes({ s: { $regex: '^z', $options: 'i' } })).toEqual(['d'])
        expect(await findCodes({ s: /^Z/ })).toEqual(['d'])
        expect(await findCodes({ items: { $exists: true } })).toEqual(['d'])
      })

      test('$elemMatch should match one array element against every condition', async () => {
        expect(await findCodes({ items: { $elemMatch: { sku: 'p2', qty: { $gt: 3 } } } })).toEqual(['d'])
        expect(await findCodes({ items: { $elemMatch: { sku: 'p1', qty: { $gt: 3 } } } })).toEqual([])
      })

      test('sort should order ascending, descending and by several fields', async () => {
        expect(await findCodes({}, { sort: { n: 1 } })).toEqual(['f', 'a', 'b', 'e', 'c', 'd'])
        expect(await findCodes({}, { sort: { n: -1 } })).toEqual(['d', 'c', 'e', 'b', 'a', 'f'])
        expect(await findCodes({}, { sort: { s: 1, n: -1 } })).toEqual(['d', 'e', 'c', 'a', 'f', 'b'])
        expect(await findCodes({}, { sort: { s: -1, code: 1 } })).toEqual(['b', 'a', 'c', 'f', 'e', 'd'])
        expect(await findCodes({ s: 'x' }, { sort: { 'nested.zip': -1 } })).toEqual(['c', 'a', 'f'])
      })

      test('sort should put null and missing first, then numbers, strings and booleans', async () => {
        expect(await findCodes({}, { sort: { mixed: 1, code: 1 } })).toEqual(['d', 'e', 'f', 'a', 'b', 'c'])
        expect(await findCodes({}, { sort: { mixed: -1, code: 1 } })).toEqual(['c', 'b', 'a', 'd', 'e', 'f'])
      })

      test('skip and limit should page through sorted and filtered results', async () => {
        expect(await findCodes({}, { sort: { n: 1 }, skip: 1, limit: 2 })).toEqual(['a', 'b'])
        expect(await findCodes({}, { limit: 2 })).toEqual(['a', 'b'])
        expect(await findCodes({}, { skip: 4 })).toEqual(['e', 'f'])
        expect(await findCodes({}, { skip: 10 })).toEqual([])
        expect(await findCodes({ tags: 'red' }, { limit: 1 })).toEqual(['a'])
        expect(await findCodes({ tags: 'red' }, { skip: 1 })).toEqual(['c'])
        expect(await findCodes({ s: 'x' }, { sort: { n: -1 }, limit: 2 })).toEqual(['c', 'a'])
        expect(await findCodes({ s: 'x' }, { limit: 0 })).toEqual(['a', 'c', 'f'])
      })

      test('projection should include or exclude fields', async () => {
        const one = async (projection: Record<string, 0 | 1>): Promise<Doc | undefined> =>
          (await store.find(indexed.name, { code: 'a' }, { projection }))[0]
        expect(await one({ s: 1 })).toEqual({ _id: 'id-a', s: 'x' })
        expect(await one({ s: 1, n: 1, _id: 0 })).toEqual({ s: 'x', n: 1 })
        expect(await one({ 'nested.city': 1, _id: 0 })).toEqual({ nested: { city: 'Rome' } })
        expect(await one({ tags: 0, nested: 0, _id: 0, mixed: 0, nul: 0 })).toEqual({ code: 'a', n: 1, s: 'x', b: true })
        expect(await one({ 'nested.zip': 0, tags: 0, _id: 0, code: 0, n: 0, s: 0, b: 0, nul: 0, mixed: 0 })).toEqual({ nested: { city: 'Rome' } })
        const many = await store.find(indexed.name, { s: 'x' }, { projection: { code: 1, _id: 0 }, sort: { code: -1 } })
        expect(many).toEqual([{ code: 'f' }, { code: 'c' }, { code: 'a' }])
      })

      test('filters, sort and projection on _id should address the documents\' own _id field', async () => {
        expect(await findCodes({ _id: 'id-c' })).toEqual(['c'])
        expect(await findCodes({ _id: { $in: ['id-a', 'id-e', 'nope'] } })).toEqual(['a', 'e'])
        expect(await findCodes({ $or: [{ _id: 'id-b' }, { _id: { $gte: 'id-f' } }] })).toEqual(['b', 'f'])
        expect(await findCodes({ $and: [{ s: 'x' }, { _id: { $ne: 'id-a' } }] })).toEqual(['c', 'f'])
        expect(await findCodes({ _id: idOf({ code: 'c' }) })).toEqual([])
        expect(await findCodes({}, { sort: { _id: -1 }, limit: 2 })).toEqual(['f', 'e'])
        expect(await countBoth({ _id: { $exists: true } })).toBe(6)
        expect(await store.find(indexed.name, { code: 'b' }, { projection: { _id: 1 } })).toEqual([{ _id: 'id-b' }])
        expect(await store.find(indexed.name, { code: 'b' }, { projection: { _id: 0, n: 0, s: 0, b: 0, tags: 0, nested: 0, mixed: 0 } })).toEqual([{ code: 'b' }])
      })

      test('count should count matching documents', async () => {
        expect(await countBoth({})).toBe(6)
        expect(await countBoth({ s: 'x' })).toBe(3)
        expect(await countBoth({ tags: 'red' })).toBe(2)
        expect(await countBoth({ mixed: null })).toBe(3)
        expect(await countBoth({ mixed: 1 })).toBe(1)
        expect(await countBoth({ $or: [{ n: 1 }, { s: 'y' }] })).toBe(2)
      })
    })

    describe('scan', () => {
      test('scan should return every matching document in id order, in pages of batchSize', async () => {
        await store.ensureCollections([plain, { ...indexed, name: 'scan_indexed' }])
        const total = 2_345
        const ids = Array.from({ length: total }, (_, i) => `k${String(i).padStart(5, '0')}`)
        for (const collection of [plain.name, 'scan_indexed']) {
          await store.write({ put: ids.map((id, i) => ({ collection, id, doc: { code: id, n: i % 3, s: i % 2 === 0 ? 'even' : 'odd' } })) })
        }
        for (const collection of [plain.name, 'scan_indexed']) {
          const sizes: number[] = []
          const seen: string[] = []
          for await (const page of store.scan(collection, {}, 1_000)) {
            sizes.push(page.length)
            seen.push(...page.map(d => d['code'] as string))
          }
          expect(sizes).toEqual([1_000, 1_000, 345])
          expect(seen).toEqual(ids)

          const filtered: string[] = []
          const filteredSizes: number[] = []
          for await (const page of store.scan(collection, { n: 1, s: { $ne: 'odd' } }, 100)) {
            filteredSizes.push(page.length)
            filtered.push(...page.map(d => d['code'] as string))
          }
          const expected = ids.filter((_, i) => i % 3 === 1 && i % 2 === 0)
          expect(filtered).toEqual(expected)
          expect(filteredSizes.slice(0, -1).every(n => n === 100)).toBe(true)
          expect(filteredSizes.reduce((a, b) => a + b, 0)).toBe(expected.length)
        }
      })

      test('scan should use a default batch size', async () => {
        await store.ensureCollections([plain])
        await store.write({ put: [{ collection: plain.name, id: 'a', doc: { code: 'a' } }] })
        const pages: Doc[][] = []
        for await (const page of store.scan(plain.name, {})) pages.push(page)
        expect(pages).toEqual([[{ code: 'a' }]])
      })
    })

    describe('trigger queue', () => {
      const far = (): number => Date.now() + 1_000

      test('enqueue should coalesce repeats of one view and id', async () => {
        await store.write({
          enqueue: [
            { view: 'v1', id: 'i1', identifier: { code: 'i1' }, eventTime: 200 },
            { view: 'v1', id: 'i2', identifier: { code: 'i2' }, eventTime: 300 },
            { view: 'v2', id: 'i1', identifier: { code: 'i1' }, eventTime: 400 }
          ]
        })
        await store.write({ enqueue: [{ view: 'v1', id: 'i1', identifier: { code: 'i1' }, eventTime: 100 }] })
        await store.write({ enqueue: [{ view: 'v1', id: 'i1', identifier: { code: 'i1' }, eventTime: 150 }] })
        expect(await store.queueDepth()).toBe(3)
        expect(await store.queueDepth('v1')).toBe(2)
        expect(await store.queueDepth('v2')).toBe(1)
        expect(await store.queueDepth('v3')).toBe(0)
        const claimed = await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000, views: ['v1'] })
        const i1 = claimed.find(e => e.id === 'i1')
        const i2 = claimed.find(e => e.id === 'i2')
        expect(claimed).toHaveLength(2)
        expect(i1).toMatchObject({ view: 'v1', id: 'i1', identifier: { code: 'i1' }, eventTime: 100, attempts: 0, partition: 0 })
        expect(i1?.lastError).toBeUndefined()
        expect((i1?.seq ?? 0) - (i2?.seq ?? 0)).toBe(2)
      })

      test('claimDue should hide claimed entries until the lease expires', async () => {
        await store.write({ enqueue: ['a', 'b', 'c'].map(id => ({ view: 'v', id, identifier: { id }, eventTime: 1 })) })
        const now = far()
        const first = await store.claimDue({ limit: 2, now, leaseMs: 1_000 })
        expect(first).toHaveLength(2)
        const second = await store.claimDue({ limit: 10, now, leaseMs: 1_000 })
        expect(second).toHaveLength(1)
        expect(new Set([...first, ...second].map(e => e.id))).toEqual(new Set(['a', 'b', 'c']))
        expect(await store.claimDue({ limit: 10, now: now + 500, leaseMs: 1_000 })).toEqual([])
        expect(await store.queueDepth()).toBe(3)
        const afterLease = await store.claimDue({ limit: 10, now: now + 1_001, leaseMs: 1_000 })
        expect(afterLease.map(e => e.id).sort()).toEqual(['a', 'b', 'c'])
      })

      test('claimDue with leaseMs 0 should return due entries and leave them claimable', async () => {
        await store.write({ enqueue: ['a', 'b'].map(id => ({ view: 'v', id, identifier: { id }, eventTime: 1 })) })
        const now = far()
        expect((await store.claimDue({ limit: 10, now, leaseMs: 0 })).map(e => e.id).sort()).toEqual(['a', 'b'])
        expect((await store.claimDue({ limit: 10, now: now + 1, leaseMs: 60_000 })).map(e => e.id).sort()).toEqual(['a', 'b'])
      })

      test('releaseClaims should make claimed entries claimable at once, and leave their content alone', async () => {
        await store.write({ enqueue: ['a', 'b', 'c'].map(id => ({ view: 'v', id, identifier: { id }, eventTime: 1 })) })
        const now = far()
        const claimed = await store.claimDue({ limit: 2, now, leaseMs: 60_000 })
        expect(claimed).toHaveLength(2)
        expect(await store.releaseClaims()).toBe(2)
        const again = await store.claimDue({ limit: 10, now: now + 1, leaseMs: 60_000 })
        expect(again.map(e => e.id).sort()).toEqual(['a', 'b', 'c'])
        expect(again.find(e => e.id === claimed[0]?.id)).toMatchObject({ seq: claimed[0]?.seq, attempts: 0, identifier: claimed[0]?.identifier })
        expect(await store.releaseClaims()).toBe(3)
        expect(await store.releaseClaims()).toBe(0)
        expect(await store.queueDepth()).toBe(3)
      })

      test('claimDue should return due entries only, oldest due first, for the given views', async () => {
        await store.write({ enqueue: ['a', 'b', 'c'].map(id => ({ view: 'v', id, identifier: { id }, eventTime: 1 })) })
        await store.write({ enqueue: [{ view: 'other', id: 'z', identifier: { id: 'z' }, eventTime: 1 }] })
        const t = far()
        await store.claimDue({ limit: 10, now: t, leaseMs: 10 })
        await store.write({
          retry: [
            { view: 'v', id: 'a', dueAt: t + 3_000, error: 'e' },
            { view: 'v', id: 'b', dueAt: t + 1_000, error: 'e' },
            { view: 'v', id: 'c', dueAt: t + 2_000, error: 'e' },
            { view: 'other', id: 'z', dueAt: t + 500, error: 'e' }
          ]
        })
        expect(await store.claimDue({ limit: 10, now: t + 999, leaseMs: 10, views: ['v'] })).toEqual([])
        const due = await store.claimDue({ limit: 2, now: t + 5_000, leaseMs: 10, views: ['v'] })
        expect(due.map(e => e.id)).toEqual(['b', 'c'])
        expect((await store.claimDue({ limit: 10, now: t + 5_000, leaseMs: 10 })).map(e => e.id)).toEqual(['z', 'a'])
        expect(await store.claimDue({ limit: 0, now: t + 50_000, leaseMs: 10 })).toEqual([])
      })

      test('complete should remove an entry whose seq is still the claimed one', async () => {
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 1 }] })
        const [entry] = await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000 })
        expect(entry).toBeDefined()
        await store.write({ complete: [{ view: 'v', id: 'a', seq: entry?.seq ?? -1 }] })
        expect(await store.queueDepth()).toBe(0)
      })

      test('complete with a stale seq should release the claim instead of removing the entry', async () => {
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 10 }] })
        const [claimed] = await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000 })
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 20 }] })
        expect(await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000 })).toEqual([])
        await store.write({ complete: [{ view: 'v', id: 'a', seq: claimed?.seq ?? -1 }] })
        expect(await store.queueDepth()).toBe(1)
        const [again] = await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000 })
        expect(again?.seq).toBeGreaterThan(claimed?.seq ?? Infinity)
        await store.write({ complete: [{ view: 'v', id: 'a', seq: again?.seq ?? -1 }] })
        expect(await store.queueDepth()).toBe(0)
      })

      test('retry should release the claim, count an attempt, record the error and set the due time', async () => {
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 1 }] })
        const t = far()
        await store.claimDue({ limit: 10, now: t, leaseMs: 30_000 })
        await store.write({ retry: [{ view: 'v', id: 'a', dueAt: t + 5_000, error: 'boom' }] })
        expect(await store.claimDue({ limit: 10, now: t + 4_999, leaseMs: 30_000 })).toEqual([])
        const [entry] = await store.claimDue({ limit: 10, now: t + 5_000, leaseMs: 30_000 })
        expect(entry).toMatchObject({ view: 'v', id: 'a', attempts: 1, lastError: 'boom', dueAt: t + 5_000 })
        await store.write({ retry: [{ view: 'v', id: 'a', dueAt: t + 6_000, error: 'boom again' }] })
        const [second] = await store.claimDue({ limit: 10, now: t + 6_000, leaseMs: 30_000 })
        expect(second).toMatchObject({ attempts: 2, lastError: 'boom again' })
      })

      test('claimDue should claim only the given partitions and report the partition of each entry', async () => {
        await store.write({
          enqueue: [
            { view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 1 },
            { view: 'v', id: 'b', identifier: { id: 'b' }, eventTime: 1, partition: 1 },
            { view: 'v', id: 'c', identifier: { id: 'c' }, eventTime: 1, partition: 2 },
            { view: 'w', id: 'd', identifier: { id: 'd' }, eventTime: 1, partition: 1 }
          ]
        })
        const now = far()
        expect(await store.claimDue({ limit: 10, now, leaseMs: 30_000, partitions: [] })).toEqual([])
        const one = await store.claimDue({ limit: 10, now, leaseMs: 30_000, partitions: [1] })
        expect(one.map(e => [e.view, e.id, e.partition])).toEqual([['v', 'b', 1], ['w', 'd', 1]])
        const rest = await store.claimDue({ limit: 10, now, leaseMs: 30_000, partitions: [0, 2, 7], views: ['v', 'w'] })
        expect(rest.map(e => [e.id, e.partition])).toEqual([['a', 0], ['c', 2]])
        expect(await store.claimDue({ limit: 10, now, leaseMs: 30_000 })).toEqual([])
      })

      test('a re-enqueue should move an entry to the partition it names', async () => {
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 1, partition: 3 }] })
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 1, partition: 5 }] })
        expect(await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000, partitions: [3] })).toEqual([])
        const [entry] = await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000, partitions: [5] })
        expect(entry).toMatchObject({ id: 'a', partition: 5 })
      })

      test('enqueue should refuse a partition that is not an integer >= 0 and apply nothing of the batch', async () => {
        for (const partition of [-1, 1.5, Number.NaN]) {
          await expect(store.write({
            enqueue: [
              { view: 'v', id: 'ok', identifier: { id: 'ok' }, eventTime: 1 },
              { view: 'v', id: 'bad', identifier: { id: 'bad' }, eventTime: 1, partition }
            ]
          })).rejects.toMatchObject({ code: 'BRAID_INTERNAL', message: expect.stringContaining('partition') })
        }
        expect(await store.queueDepth()).toBe(0)
      })

      test('two stores sharing the storage should never claim the same entry while its lease holds', async () => {
        if (options.openSibling === undefined) throw new Error('this test needs StoreContractOptions.openSibling (or a skip with the reason)')
        const other = await options.openSibling()
        try {
          const ids = Array.from({ length: 240 }, (_, i) => `k${String(i).padStart(3, '0')}`)
          await store.write({ enqueue: ids.map((id, i) => ({ view: i % 2 === 0 ? 'v' : 'w', id, identifier: { id }, eventTime: 1, partition: i % 4 })) })
          const claimAll = async (now: number): Promise<string[]> => {
            const claimed: string[] = []
            for (let round = 0; round < 100; round++) {
              const [a, b] = await Promise.all([
                store.claimDue({ limit: 17, now, leaseMs: 60_000 }),
                other.claimDue({ limit: 23, now, leaseMs: 60_000 })
              ])
              claimed.push(...a.map(e => `${e.view}/${e.id}`), ...b.map(e => `${e.view}/${e.id}`))
              if (a.length === 0 && b.length === 0) break
            }
            return claimed
          }
          const now = far()
          const first = await claimAll(now)
          expect(first).toHaveLength(ids.length)
          expect(new Set(first).size).toBe(ids.length)
          expect(await other.claimDue({ limit: 10, now: now + 59_999, leaseMs: 60_000 })).toEqual([])
          const afterLease = await claimAll(now + 60_001)
          expect(afterLease).toHaveLength(ids.length)
          expect(new Set(afterLease)).toEqual(new Set(first))
        } finally {
          await other.close()
        }
      })

      test('concurrent writes through one store should each bump the seq of an entry', async () => {
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 5 }] })
        const [first] = await store.claimDue({ limit: 1, now: far(), leaseMs: 1 })
        await Promise.all(Array.from({ length: 40 }, async (_, i) => {
          await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 10 + i }] })
        }))
        const [entry] = await store.claimDue({ limit: 1, now: far() + 10, leaseMs: 30_000 })
        expect((entry?.seq ?? 0) - (first?.seq ?? 0)).toBe(40)
        expect(entry?.eventTime).toBe(5)
      })

      test('enqueue should make a waiting entry due now', async () => {
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 1 }] })
        await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000 })
        await store.write({ retry: [{ view: 'v', id: 'a', dueAt: Date.now() + 3_600_000, error: 'later' }] })
        expect(await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000 })).toEqual([])
        await store.write({ enqueue: [{ view: 'v', id: 'a', identifier: { id: 'a' }, eventTime: 2 }] })
        const [entry] = await store.claimDue({ limit: 10, now: far(), leaseMs: 30_000 })
        expect(entry?.id).toBe('a')
        expect(entry?.dueAt).toBeLessThanOrEqual(Date.now())
      })
    })

    describe('outbox', () => {
      const record = (value: string): OutboxEntry['record'] => ({ key: '{"email":"a@example.com"}', value, timestamp: 1_700_000_000_000, headers: { messageSchema: '{"type":"sv-update"}' } })

      test('outbox entries should be written with the batch and listed in id order, records intact', async () => {
        await store.ensureCollections([plain])
        expect(await store.outboxSize()).toBe(0)
        expect(await store.outboxPage(10)).toEqual([])
        await store.write({
          put: [{ collection: plain.name, id: 'k1', doc: { code: 'k1' } }],
          outbox: [
            { id: '0002', topic: 't1', record: record('{"quote":"\\"x\\"","n":2}') },
            { id: '0001', topic: 't2', record: { key: null, value: null } }
          ]
        })
        await store.write({ outbox: [{ id: '0003', topic: 't1', record: record('three') }] })
        expect(await store.outboxSize()).toBe(3)
        const page = await store.outboxPage(10)
        expect(page).toEqual([
          { id: '0001', topic: 't2', record: { key: null, value: null } },
          { id: '0002', topic: 't1', record: record('{"quote":"\\"x\\"","n":2}') },
          { id: '0003', topic: 't1', record: record('three') }
        ])
        expect((await store.outboxPage(2)).map(e => e.id)).toEqual(['0001', '0002'])
      })

      test('relayed should remove outbox entries, ignoring ids that are not there', async () => {
        await store.write({ outbox: ['a', 'b', 'c'].map(id => ({ id, topic: 't', record: record(id) })) })
        await store.write({ relayed: ['a', 'c', 'missing'] })
        expect((await store.outboxPage(10)).map(e => e.id)).toEqual(['b'])
        // Removal and new entries in one batch (what the outbox's next commit does).
        await store.write({ relayed: ['b'], outbox: [{ id: 'd', topic: 't', record: record('d') }] })
        expect((await store.outboxPage(10)).map(e => e.id)).toEqual(['d'])
        expect(await store.outboxSize()).toBe(1)
      })

      test('an outbox entry written again (a retried write) should keep its first record', async () => {
        await store.write({ outbox: [{ id: 'a', topic: 't', record: record('first') }] })
        await store.write({ outbox: [{ id: 'a', topic: 't', record: record('again') }, { id: 'b', topic: 't', record: record('b') }] })
        expect((await store.outboxPage(10)).map(e => [e.id, e.record.value])).toEqual([['a', 'first'], ['b', 'b']])
      })

      test('a batch refused before writing should leave no outbox entry', async () => {
        await expect(store.write({
          put: [{ collection: 'never_ensured', id: 'x', doc: {} }],
          outbox: [{ id: 'a', topic: 't', record: record('a') }]
        })).rejects.toThrow()
        expect(await store.outboxSize()).toBe(0)
      })

      test('outboxPage should refuse a limit that is not a positive integer', async () => {
        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await expect(store.outboxPage(limit)).rejects.toMatchObject({ code: 'BRAID_INTERNAL', message: expect.stringContaining('limit') })
        }
      })
    })

    describe('meta', () => {
      test('meta values should round trip as JSON', async () => {
        expect(await store.getMeta('missing')).toBeUndefined()
        await store.write({ meta: [{ key: 'paused', value: { views: ['a'], since: 12, on: true, none: null } }, { key: 'n', value: 3 }] })
        expect(await store.getMeta('paused')).toEqual({ views: ['a'], since: 12, on: true, none: null })
        expect(await store.getMeta('n')).toBe(3)
        await store.write({ meta: [{ key: 'n', value: 'four' }] })
        expect(await store.getMeta('n')).toBe('four')
        await store.write({ meta: [{ key: 'n', value: null }] })
        expect(await store.getMeta('n')).toBeNull()
        await store.write({ meta: [{ key: 'n', value: undefined }] })
        expect(await store.getMeta('n')).toBeUndefined()
      })
    })
  })
}
