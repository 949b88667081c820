/**
 * The MongoDB store's pure parts, without a server: how documents, filters, sorts and projections
 * map onto MongoDB's, the queue's write shapes, and the connection-string helpers.
 */
import { describe, expect, it } from 'vitest'
import { docIdField, fromStored, indexKey, mongoPath, toMongoFilter, toMongoProjection, toMongoSort, toStored } from '../../src/storage/mongodb/documents.ts'
import { redactUrl, resolveMongoStoreOptions, scrub, urlDatabase, urlHosts, urlSecrets } from '../../src/storage/mongodb/options.ts'
import { coalesceEnqueues, completeFilters, enqueueInsert, enqueueUpsert } from '../../src/storage/mongodb/queue.ts'

describe('mongodb document mapping', () => {
  it('toStored should put the store id in _id and the document _id in its own field, in place, as JSON', () => {
    const at = new Date(Date.UTC(2026, 0, 1))
    const stored = toStored({ a: 1, _id: 'hex', at, nested: { _id: 'inner', at }, gone: undefined }, '["k"]', 'c')
    expect(stored).toEqual({ _id: '["k"]', a: 1, [docIdField]: 'hex', at: at.toISOString(), nested: { _id: 'inner', at: at.toISOString() } })
    expect(Object.keys(stored)).toEqual(['_id', 'a', docIdField, 'at', 'nested'])
    expect(Object.keys(fromStored(stored))).toEqual(['a', '_id', 'at', 'nested'])
    expect(fromStored(stored)['_id']).toBe('hex')
  })

  it('toStored should refuse the reserved field and values JSON cannot hold', () => {
    expect(() => toStored({ [docIdField]: 1 }, 'x', 'c')).toThrow(expect.objectContaining({ code: 'BRAID_INTERNAL' }))
    expect(() => toStored({ big: 1n }, 'x', 'c')).toThrow(expect.objectContaining({ code: 'BRAID_INTERNAL', message: expect.stringContaining('BigInt') }))
  })

  it('mongoPath should rename _id and its sub-paths only', () => {
    expect(mongoPath('_id')).toBe(docIdField)
    expect(mongoPath('_id.x')).toBe(`${docIdField}.x`)
    expect(mongoPath('_idx')).toBe('_idx')
    expect(mongoPath('a._id')).toBe('a._id')
  })

  it('toMongoFilter should rename _id at every logical level, keep operator bodies, and turn Dates into ISO strings', () => {
    const at = new Date(Date.UTC(2026, 0, 1))
    expect(toMongoFilter({
      _id: 'x',
      $or: [{ '_id.y': 1 }, { $and: [{ _id: { $in: ['a'] } }] }],
      $nor: [{ _id: null }],
      items: { $elemMatch: { _id: 'kept', at: { $gte: at } } },
      at: { $lt: at },
      re: /^a/i
    })).toEqual({
      [docIdField]: 'x',
      $or: [{ [`${docIdField}.y`]: 1 }, { $and: [{ [docIdField]: { $in: ['a'] } }] }],
      $nor: [{ [docIdField]: null }],
      items: { $elemMatch: { _id: 'kept', at: { $gte: at.toISOString() } } },
      at: { $lt: at.toISOString() },
      re: /^a/i
    })
  })

  it('toMongoFilter should refuse operators that would see the store id, and malformed logical operators', () => {
    for (const filter of [{ $where: 'true' }, { $expr: { $eq: [1, 1] } }, { $or: { a: 1 } }]) {
      expect(() => toMongoFilter(filter)).toThrow(expect.objectContaining({ code: 'BRAID_QUERY_INVALID' }))
    }
  })

  it('toMongoSort should rename _id and break ties on the store id', () => {
    expect(toMongoSort(undefined)).toEqual([['_id', 1]])
    expect(toMongoSort({ b: -1, _id: 1 })).toEqual([['b', -1], [docIdField, 1], ['_id', 1]])
  })

  it('toMongoProjection should keep the document _id unless excluded, and never return the store id', () => {
    expect(toMongoProjection(undefined)).toBeUndefined()
    expect(toMongoProjection({})).toBeUndefined()
    expect(toMongoProjection({ s: 1 })).toEqual({ s: 1, [docIdField]: 1, _id: 0 })
    expect(toMongoProjection({ s: 1, _id: 0 })).toEqual({ s: 1, _id: 0 })
    expect(toMongoProjection({ _id: 1 })).toEqual({ [docIdField]: 1, _id: 0 })
    expect(toMongoProjection({ _id: 0 })).toEqual({ [docIdField]: 0, _id: 0 })
    expect(toMongoProjection({ tags: 0 })).toEqual({ tags: 0, _id: 0 })
    expect(toMongoProjection({ '_id.x': 1 })).toEqual({ [`${docIdField}.x`]: 1, _id: 0 })
    expect(() => toMongoProjection({ s: 2 as 1 })).toThrow(expect.objectContaining({ code: 'BRAID_QUERY_INVALID' }))
  })

  it('indexKey should map fields in order', () => {
    expect(Object.entries(indexKey(['b', '_id', 'a.c']))).toEqual([['b', 1], [docIdField, 1], ['a.c', 1]])
  })
})

describe('mongodb queue writes', () => {
  it('coalesceEnqueues should merge repeats: one bump per enqueue, the smallest eventTime, the last identifier and partition', () => {
    const merged = coalesceEnqueues([
      { view: 'v', id: 'a', identifier: { k: 1 }, eventTime: 30, partition: 1 },
      { view: 'v', id: 'b', identifier: { k: 2 }, eventTime: 5 },
      { view: 'v', id: 'a', identifier: { k: 3 }, eventTime: 10, partition: 2 }
    ])
    expect(merged.map(m => [m._id, m.count, m.eventTime, m.partition, m.op.identifier])).toEqual([
      ['["v","a"]', 2, 10, 2, { k: 3 }],
      ['["v","b"]', 1, 5, 0, { k: 2 }]
    ])
    const [a] = merged
    expect(enqueueUpsert(a as never, 99)).toEqual({
      updateOne: {
        filter: { _id: '["v","a"]' },
        update: {
          $inc: { seq: 2 },
          $min: { dueAt: 99, eventTime: 10 },
          $set: { view: 'v', id: 'a', identifier: '{"k":3}', partition: 2 },
          $setOnInsert: { attempts: 0, claimedUntil: 0 }
        },
        upsert: true
      }
    })
    expect(enqueueInsert(a as never, 99)).toEqual({ _id: '["v","a"]', view: 'v', id: 'a', identifier: '{"k":3}', seq: 2, attempts: 0, dueAt: 99, eventTime: 10, claimedUntil: 0, partition: 2 })
  })

  it('coalesceEnqueues should refuse a partition that is not an integer >= 0', () => {
    expect(() => coalesceEnqueues([{ view: 'v', id: 'a', identifier: {}, eventTime: 1, partition: -2 }])).toThrow(expect.objectContaining({ code: 'BRAID_INTERNAL' }))
  })

  it('completeFilters should release entries that moved on and remove those still at the claimed seq', () => {
    expect(completeFilters([{ view: 'v', id: 'a', seq: 3 }, { view: 'w', id: 'b', seq: 1 }])).toEqual({
      release: { $or: [{ _id: '["v","a"]', seq: { $ne: 3 } }, { _id: '["w","b"]', seq: { $ne: 1 } }] },
      remove: { $or: [{ _id: '["v","a"]', seq: 3 }, { _id: '["w","b"]', seq: 1 }] }
    })
  })
})

describe('mongodb connection strings', () => {
  it('redactUrl should hide passwords and secret options, and keep the rest', () => {
    expect(redactUrl('mongodb://u:p%40ss@h1:27017,h2:27018/db?replicaSet=rs&tlsCertificateKeyFilePassword=k3y&authMechanismProperties=AWS_SESSION_TOKEN:t0k'))
      .toBe('mongodb://u:***@h1:27017,h2:27018/db?replicaSet=rs&tlsCertificateKeyFilePassword=***&authMechanismProperties=***')
    expect(redactUrl('mongodb+srv://only-user@cluster.example.net/')).toBe('mongodb+srv://only-user@cluster.example.net/')
    expect(redactUrl('mongodb://h/')).toBe('mongodb://h/')
    expect(redactUrl('postgres://u:hunter2@h/x')).toBe('postgres://u:***@h/x')
  })

  it('urlHosts, urlDatabase and urlSecrets should read the parts of a connection string', () => {
    const url = 'mongodb://u:p%40ss@h1:27017,h2/my%20db?authSource=admin'
    expect(urlHosts(url)).toBe('h1:27017,h2')
    expect(urlDatabase(url)).toBe('my db')
    expect(urlDatabase('mongodb://h/?w=1')).toBeUndefined()
    expect(urlDatabase('mongodb://h')).toBeUndefined()
    expect(urlSecrets(url)).toEqual(['p%40ss', 'p@ss'])
    expect(scrub('failed for p@ss and p%40ss', urlSecrets(url))).toBe('failed for *** and ***')
  })

  it('resolveMongoStoreOptions should apply defaults and list every problem', () => {
    expect(resolveMongoStoreOptions({ url: 'mongodb://h/app' })).toMatchObject({ database: 'app', writeChunk: 1_000, serverSelectionTimeoutMs: 10_000, writeStrategy: undefined })
    expect(resolveMongoStoreOptions({ url: 'mongodb://h/' }).database).toBe('braid')
    expect(() => resolveMongoStoreOptions({ url: 'mongodb://h/', writeChunk: 0, getManyChunk: 1.5, maxPoolSize: -1 }))
      .toThrow(expect.objectContaining({ code: 'BRAID_CONFIG_INVALID', details: { problems: [expect.stringContaining('maxPoolSize'), expect.stringContaining('writeChunk'), expect.stringContaining('getManyChunk')] } }))
  })
})
