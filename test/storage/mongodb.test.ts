/**
 * The MongoDB store against a real server (FerretDB in development, BRAID_MONGODB_URL): the Store
 * contract, plus what only this store does (index provisioning, layout, connection failures).
 * Every store gets a database of its own, dropped when the file ends.
 */
import { Writable } from 'node:stream'
import { MongoClient } from 'mongodb'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.ts'
import { createMongoStore, docIdField, type MongoStore, type MongoStoreOptions } from '../../src/storage/mongodb/index.ts'
import type { CollectionSpec } from '../../src/storage/store.ts'
import { runStoreContract } from '../contract/store.contract.ts'

const url = process.env['BRAID_MONGODB_URL']
if (url === undefined || url === '') {
  throw new Error('BRAID_MONGODB_URL is not set: these tests need a MongoDB-compatible server (e.g. BRAID_MONGODB_URL=mongodb://127.0.0.1:27018/ for the development FerretDB)')
}
const serverUrl: string = url

const runId = `${Date.now().toString(36)}_${process.pid}`
const databases: string[] = []
const freshDatabase = (): string => {
  const name = `braid_t_${runId}_${databases.length + 1}`
  databases.push(name)
  return name
}

const admin = new MongoClient(serverUrl, { serverSelectionTimeoutMS: 10_000 })
/** FerretDB answers buildInfo with its own version besides the MongoDB one it emulates. */
const buildInfo = await admin.db('admin').command({ buildInfo: 1 })
const ferretDb = buildInfo['ferretdbVersion'] !== undefined

afterAll(async () => {
  try {
    for (const name of databases) await admin.db(name).dropDatabase()
  } finally {
    await admin.close()
  }
})

/** Contract runs skip, on FerretDB, what FerretDB 1.24 cannot do (each with the reason). */
const ferretDbSkips = ferretDb
  ? [{
      test: 'documents holding arrays of arrays should round trip',
      reason: 'FerretDB 1.24 refuses nested arrays ("nested arrays are not supported"); MongoDB stores them (docs/mongodb.md)'
    }, {
      test: '$elemMatch should match one array element against every condition',
      reason: 'FerretDB 1.24 only takes operators inside $elemMatch ("unknown operator: sku"), not field conditions on array elements that are objects'
    }, {
      test: 'two stores sharing the storage should never claim the same entry while its lease holds',
      reason: 'FerretDB 1.24 (SQLite) applies an update as read-then-write without isolation, so two stores can both win a conditional claim (seen: most of 200 entries claimed twice by four stores); MongoDB updates each document atomically. On FerretDB run one braid process per database (docs/mongodb.md)'
    }]
  : []

// Both write strategies run the contract on any server: `upsert` is MongoDB's default, `reinsert` FerretDB's.
for (const writeStrategy of ['upsert', 'reinsert'] as const) {
  let lastDatabase = ''
  runStoreContract({
    name: `mongodb (${writeStrategy} writes)`,
    create: async () => await createMongoStore({ url: serverUrl, database: lastDatabase = freshDatabase(), writeStrategy }),
    openSibling: async () => await createMongoStore({ url: serverUrl, database: lastDatabase, writeStrategy }),
    skip: ferretDbSkips
  })
}

describe('mongodb store', () => {
  const open: MongoStore[] = []
  const openStore = async (options: Partial<MongoStoreOptions> = {}): Promise<MongoStore> => {
    const store = await createMongoStore({ url: serverUrl, database: freshDatabase(), ...options })
    open.push(store)
    return store
  }

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
  })

  const orders: CollectionSpec = {
    name: 'orders',
    primaryKey: ['orderId'],
    indexes: [{ fields: ['customerId'] }, { fields: ['status', 'amount'] }, { fields: ['code'], unique: true }]
  }

  const indexesOf = async (database: string, collection: string): Promise<Array<{ name: string, key: Record<string, number>, unique?: boolean }>> =>
    (await admin.db(database).collection(collection).listIndexes().toArray()).map(ix => {
      const out: { name: string, key: Record<string, number>, unique?: boolean } = { name: ix['name'] as string, key: ix['key'] as Record<string, number> }
      if (ix['unique'] === true) out.unique = true
      return out
    })

  it('ensureCollections should provision the id, document _id, spec and queue indexes, and add new ones on a later call', async () => {
    const store = await openStore()
    await store.ensureCollections([orders])
    const names = (await indexesOf(store.database, 'orders')).sort((a, b) => a.name.localeCompare(b.name))
    expect(names).toEqual([
      { name: '_id_', key: { _id: 1 } },
      { name: 'ix___id', key: { [docIdField]: 1 } },
      { name: 'ix__code__u', key: { code: 1 }, unique: true },
      { name: 'ix__customerId', key: { customerId: 1 } },
      { name: 'ix__status__amount', key: { status: 1, amount: 1 } }
    ])
    expect((await indexesOf(store.database, 'sys_queue')).map(ix => ix.key)).toEqual(expect.arrayContaining([
      { dueAt: 1, view: 1, id: 1 }, { partition: 1, dueAt: 1 }, { view: 1 }, { claimToken: 1 }
    ]))
    await store.ensureCollections([orders])
    await store.ensureCollections([{ ...orders, indexes: [...orders.indexes, { fields: ['region'] }, { fields: ['_id'], unique: false }] }])
    const again = await indexesOf(store.database, 'orders')
    expect(again.map(ix => ix.name).sort()).toEqual(['_id_', 'ix___id', 'ix__code__u', 'ix__customerId', 'ix__region', 'ix__status__amount'])
  })

  it('a unique IndexSpec should be enforced by the server', async () => {
    const store = await openStore()
    await store.ensureCollections([orders])
    await store.write({ put: [{ collection: 'orders', id: '[1]', doc: { orderId: 1, code: 'same' } }] })
    await expect(store.write({ put: [{ collection: 'orders', id: '[2]', doc: { orderId: 2, code: 'same' } }] }))
      .rejects.toMatchObject({ code: 'BRAID_STORE_UNAVAILABLE', retryable: false, details: { mongoCode: 11000, failedPart: 'put' } })
  })

  it('should refuse to make an existing non-unique index unique, saying which index to drop', async () => {
    const store = await openStore()
    await store.ensureCollections([{ name: 'c', primaryKey: ['k'], indexes: [{ fields: ['email'] }] }])
    await expect(store.ensureCollections([{ name: 'c', primaryKey: ['k'], indexes: [{ fields: ['email'], unique: true }] }]))
      .rejects.toMatchObject({ code: 'BRAID_CONFIG_INVALID', message: expect.stringContaining('dropIndex("ix__email")') })
  })

  it('should store the store id as the MongoDB _id and the document _id in its own field, in place', async () => {
    const store = await openStore()
    await store.ensureCollections([orders])
    const doc = { first: 1, _id: '65f0c0ffee0000000000beef', orderId: 7, nested: { _id: 'inner' } }
    await store.write({ put: [{ collection: 'orders', id: '[7]', doc }] })
    const raw = await admin.db(store.database).collection('orders').findOne({ _id: '[7]' as never })
    expect(raw).toEqual({ _id: '[7]', first: 1, [docIdField]: '65f0c0ffee0000000000beef', orderId: 7, nested: { _id: 'inner' } })
    const [read] = await store.find('orders', { _id: '65f0c0ffee0000000000beef', 'nested._id': 'inner' })
    expect(Object.keys(read ?? {})).toEqual(['first', '_id', 'orderId', 'nested'])
    expect(read).toEqual(doc)
  })

  it('should relay outbox entries an earlier version wrote as documents of the __braid_outbox collection, in order', async () => {
    const store = await openStore()
    // What Outbox wrote with store.write({ put }) before the outbox was a part of the Store.
    const legacy = (id: string, value: string): Record<string, unknown> => ({ _id: JSON.stringify([id]), [docIdField]: id, topic: 't', record: { key: null, value, timestamp: 1, headers: {} } })
    await admin.db(store.database).collection('__braid_outbox').insertMany([legacy('0002-b', 'second'), legacy('0001-a', 'first')] as never[])
    await store.write({ outbox: [{ id: '0003-c', topic: 't', record: { key: null, value: 'third' } }] })
    expect((await store.outboxPage(10)).map(e => [e.id, e.record.value])).toEqual([['0001-a', 'first'], ['0002-b', 'second'], ['0003-c', 'third']])
    await store.write({ relayed: ['0001-a', '0002-b'] })
    expect(await store.outboxSize()).toBe(1)
  })

  it('should refuse documents holding the reserved field, before writing anything', async () => {
    const store = await openStore()
    await store.ensureCollections([orders])
    await expect(store.write({
      put: [{ collection: 'orders', id: '[1]', doc: { orderId: 1 } }, { collection: 'orders', id: '[2]', doc: { orderId: 2, [docIdField]: 'x' } }]
    })).rejects.toMatchObject({ code: 'BRAID_INTERNAL', message: expect.stringContaining(docIdField) })
    expect(await store.count('orders', {})).toBe(0)
  })

  it('should refuse filters the server or the mapping cannot run with BRAID_QUERY_INVALID', async () => {
    const store = await openStore()
    await store.ensureCollections([orders])
    await store.write({ put: [{ collection: 'orders', id: '[1]', doc: { orderId: 1, status: 'NEW' } }] })
    await expect(store.find('orders', { $where: 'true' })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID', message: expect.stringContaining('$where') })
    await expect(store.find('orders', { $expr: { $eq: ['$_id', 'x'] } })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
    await expect(store.find('orders', { status: { $bogus: 1 } })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
    await expect(store.count('orders', { $or: 'no' })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
    await expect(store.find('orders', {}, { limit: -1 })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
    await expect(store.find('orders', {}, { projection: { status: 1, orderId: 0 } })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
  })

  it('should refuse collection specs MongoDB cannot hold, and the store\'s own collection names', async () => {
    const store = await openStore()
    for (const name of ['sys_queue', 'sys_meta', 'a$b', 'system.x', '']) {
      await expect(store.ensureCollections([{ name, primaryKey: ['k'], indexes: [] }])).rejects.toMatchObject({ code: 'BRAID_CONFIG_INVALID' })
    }
    await expect(store.ensureCollections([{ name: 'ok', primaryKey: ['k'], indexes: [{ fields: ['a.$b'] }] }])).rejects.toMatchObject({ code: 'BRAID_CONFIG_INVALID' })
    await expect(store.write({ put: [{ collection: 'sys_meta', id: 'x', doc: {} }] })).rejects.toMatchObject({ code: 'BRAID_INTERNAL' })
  })

  it('should write into a collection another store on the same database created', async () => {
    const a = await openStore()
    const b = await createMongoStore({ url: serverUrl, database: a.database })
    open.push(b)
    await a.ensureCollections([orders])
    await b.write({ put: [{ collection: 'orders', id: '[1]', doc: { orderId: 1 } }] })
    expect(await a.count('orders', {})).toBe(1)
  })

  it('should fail with BRAID_STORE_UNAVAILABLE (not retryable) once closed', async () => {
    const store = await createMongoStore({ url: serverUrl, database: freshDatabase() })
    await store.close()
    await store.close()
    await expect(store.find('orders', {})).rejects.toMatchObject({ code: 'BRAID_STORE_UNAVAILABLE', retryable: false })
    await expect(store.claimDue({ limit: 1, now: Date.now(), leaseMs: 1 })).rejects.toMatchObject({ code: 'BRAID_STORE_UNAVAILABLE' })
  })

  it('should keep working across a replacement of its driver client, and log it without the password', async () => {
    const lines: string[] = []
    const logger = createLogger({ destination: new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } }) })
    const store = await openStore({ logger })
    await store.ensureCollections([orders])
    await store.write({ put: [{ collection: 'orders', id: '1', doc: { orderId: 1, customerId: 'c1', code: 'a' } }] })
    // Operations running while the client is replaced finish, or fail with a retryable error.
    const during = Array.from({ length: 20 }, async () => await store.getMany('orders', ['1']).then(() => 'ok', (err: unknown) => err))
    await store.reconnect('test')
    for (const outcome of await Promise.all(during)) {
      if (outcome !== 'ok') expect(outcome).toMatchObject({ code: 'BRAID_STORE_UNAVAILABLE', retryable: true })
    }
    await store.write({ put: [{ collection: 'orders', id: '2', doc: { orderId: 2, customerId: 'c1', code: 'b' } }] })
    expect((await store.find('orders', { customerId: 'c1' }, { sort: { orderId: 1 } })).map(d => d['orderId'])).toEqual([1, 2])
    const replaced = lines.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => /replac/.test(String(l['msg'])))
    expect(replaced.map(l => l['msg'])).toEqual(['MongoDB driver stopped checking the server; replacing the client', 'MongoDB client replaced'])
    expect(replaced[0]).toMatchObject({ reason: 'test', hosts: expect.any(String) })
  })

  it('should fail with a retryable BRAID_STORE_UNAVAILABLE naming the host, without the password, when no server answers', async () => {
    const lines: string[] = []
    const logger = createLogger({ destination: new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } }) })
    const err: unknown = await createMongoStore({
      url: 'mongodb://braid:Sup3r%2FSecret@127.0.0.1:1/braid?authSource=admin',
      serverSelectionTimeoutMs: 300,
      logger
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BRAID_STORE_UNAVAILABLE', retryable: true })
    const text = JSON.stringify({ message: (err as Error).message, details: (err as { details: unknown }).details }) + lines.join('')
    expect(text).toContain('127.0.0.1:1')
    expect(text).not.toMatch(/Sup3r|Secret/)
    expect((err as { details: Record<string, unknown> }).details['url']).toBe('mongodb://braid:***@127.0.0.1:1/braid?authSource=admin')
  }, 5_000)

  it('should identify the server and pick its write strategy, unless one is given', async () => {
    const store = await openStore()
    expect(store.server.kind).toBe(ferretDb ? 'ferretdb' : 'mongodb')
    expect(store.server.version).toBe(ferretDb ? buildInfo['ferretdbVersion'] : buildInfo['version'])
    expect(store.writeStrategy).toBe(ferretDb ? 'reinsert' : 'upsert')
    const forced = await openStore({ writeStrategy: 'upsert' })
    expect(forced.writeStrategy).toBe('upsert')
    await expect(openStore({ writeStrategy: 'sideways' as never })).rejects.toMatchObject({ code: 'BRAID_CONFIG_INVALID', message: expect.stringContaining('writeStrategy') })
  })

  it('should refuse invalid options with BRAID_CONFIG_INVALID listing every problem, without the password', async () => {
    const err: unknown = await createMongoStore({ url: 'postgres://u:hunter2@h/x', database: 'a.b', serverSelectionTimeoutMs: 0 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BRAID_CONFIG_INVALID' })
    const problems = (err as { details: { problems: string[] } }).details.problems
    expect(problems).toHaveLength(3)
    expect(JSON.stringify(problems)).not.toContain('hunter2')
    await expect(createMongoStore({ url: 'mongodb://h/?notAnOption=1&w=banana', serverSelectionTimeoutMs: 300 })).rejects.toMatchObject({ code: 'BRAID_CONFIG_INVALID' })
  })

  it('should take the database from the connection string when no database option is given', async () => {
    const database = freshDatabase()
    const withDb = serverUrl.replace(/\/?(\?|$)/, `/${database}$1`)
    const store = await createMongoStore({ url: withDb })
    open.push(store)
    expect(store.database).toBe(database)
  })
})
