import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { BraidError } from '../../src/errors.ts'
import { createEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from '../../src/storage/embedded/index.ts'
import type { CollectionSpec, IndexSpec } from '../../src/storage/store.ts'
import { runStoreContract } from '../contract/store.contract.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-store-'))
let n = 0
const freshPath = (): string => path.join(dir, `store-${++n}.db`)

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

let lastPath = ''
runStoreContract({
  name: 'embedded (file)',
  create: async () => createEmbeddedStore({ path: lastPath = freshPath() }),
  openSibling: async () => createEmbeddedStore({ path: lastPath })
})
runStoreContract({
  name: 'embedded (:memory:)',
  create: async () => createEmbeddedStore({ path: ':memory:' }),
  skip: [{
    test: 'two stores sharing the storage should never claim the same entry while its lease holds',
    reason: 'a :memory: database is private to its connection, so no second store can share it (the file run covers this)'
  }]
})

describe('embedded store', () => {
  const open: EmbeddedStore[] = []
  const openStore = (file = freshPath(), options: Omit<EmbeddedStoreOptions, 'path'> = {}): EmbeddedStore => {
    const store = createEmbeddedStore({ path: file, ...options })
    open.push(store)
    return store
  }

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
  })

  const orders: CollectionSpec = {
    name: 'orders',
    primaryKey: ['orderId'],
    indexes: [{ fields: ['customerId'] }, { fields: ['status', 'amount'] }]
  }

  async function fill (store: EmbeddedStore, count = 200): Promise<void> {
    await store.ensureCollections([orders])
    await store.write({
      put: Array.from({ length: count }, (_, i) => ({
        collection: 'orders',
        id: JSON.stringify([i]),
        doc: { _id: `o${i}`, orderId: i, customerId: `c${i % 20}`, status: i % 2 === 0 ? 'NEW' : 'PAID', amount: i }
      }))
    })
  }

  it('find should use the index of an indexed path for an equality, a range and a sort', async () => {
    const store = openStore()
    await fill(store)
    expect(store.explain('orders', { customerId: 'c1' }).join('\n')).toMatch(/USING INDEX cx_orders__customerId \(f:customerId=\?\)/)
    expect(store.explain('orders', { _id: 'o3' }).join('\n')).toMatch(/USING INDEX cx_orders___id/)
    expect(store.explain('orders', { status: 'NEW', amount: { $gte: 10 } }).join('\n')).toMatch(/USING INDEX cx_orders__status__amount \(f:status=\? AND f:amount>\?\)/)
    expect(store.explain('orders', { customerId: { $in: ['c1', 'c2'] } }).join('\n')).toMatch(/USING INDEX cx_orders__customerId/)
    expect(store.explain('orders', {}, { sort: { customerId: -1 }, limit: 5 }).join('\n')).toMatch(/SCAN col_orders USING INDEX cx_orders__customerId/)
    expect(await store.find('orders', { status: 'NEW', amount: { $gte: 190 } })).toHaveLength(5)
  })

  it('find should stop pushing a field down once it has held an array, and stay correct', async () => {
    const store = openStore()
    await fill(store)
    await store.write({ put: [{ collection: 'orders', id: '[999]', doc: { orderId: 999, customerId: ['c1', 'c2'] } }] })
    expect(store.explain('orders', { customerId: 'c1' }).join('\n')).not.toMatch(/cx_orders__customerId/)
    expect((await store.find('orders', { customerId: 'c2' }, { sort: { orderId: 1 } })).map(d => d['orderId'])).toEqual([2, 22, 42, 62, 82, 102, 122, 142, 162, 182, 999])
  })

  it('an index added to a filled collection should learn the types already stored', async () => {
    const store = openStore()
    await fill(store)
    await store.write({ put: [{ collection: 'orders', id: '[999]', doc: { orderId: 999, tags: ['x', 'y'], region: 'eu' } }] })
    await store.ensureCollections([{ ...orders, indexes: [...orders.indexes, { fields: ['tags'] }, { fields: ['region'] }] }])
    expect(store.explain('orders', { tags: 'x' }).join('\n')).not.toMatch(/cx_orders__tags/)
    expect(store.explain('orders', { region: 'eu' }).join('\n')).toMatch(/cx_orders__region/)
    expect((await store.find('orders', { tags: 'y' })).map(d => d['orderId'])).toEqual([999])
    expect(await store.count('orders', { region: 'eu' })).toBe(1)
  })

  it('should keep the indexed columns equal to the documents when an indexed value changes', async () => {
    const store = openStore()
    await fill(store, 20)
    // An update that leaves the indexed values alone, then one that moves the order to another customer.
    await store.write({ put: [{ collection: 'orders', id: '[3]', doc: { _id: 'o3', orderId: 3, customerId: 'c3', status: 'PAID', amount: 3, note: 'x' } }] })
    await store.write({ put: [{ collection: 'orders', id: '[3]', doc: { _id: 'o3', orderId: 3, customerId: 'c7', status: 'NEW', amount: 300 } }] })
    expect((await store.find('orders', { customerId: 'c3' })).map(d => d['orderId'])).toEqual([])
    expect((await store.find('orders', { customerId: 'c7' }, { sort: { orderId: 1 } })).map(d => d['orderId'])).toEqual([3, 7])
    expect((await store.find('orders', { status: 'NEW', amount: { $gte: 300 } })).map(d => d['orderId'])).toEqual([3])
    // A field that disappears reads as null, as in MongoDB.
    await store.write({ put: [{ collection: 'orders', id: '[4]', doc: { _id: 'o4', orderId: 4 } }] })
    expect((await store.find('orders', { customerId: null })).map(d => d['orderId'])).toEqual([4])
  })

  it('should keep the indexed columns right when another writer sets only the document', async () => {
    const file = freshPath()
    const store = openStore(file)
    await fill(store, 10)
    const raw = new Database(file)
    try {
      // A writer that knows nothing of the columns (an older braid, a hand-made fix): the triggers fill them.
      raw.prepare('INSERT INTO col_orders (id, doc) VALUES (?, ?)').run('[50]', JSON.stringify({ _id: 'o50', orderId: 50, customerId: 'c1', status: 'NEW', amount: 5 }))
      raw.prepare('UPDATE col_orders SET doc = ? WHERE id = ?').run(JSON.stringify({ _id: 'o2', orderId: 2, customerId: 'c9', status: 'NEW', amount: 2 }), '[2]')
      expect(raw.prepare('SELECT "f:customerId", "f:_id" FROM col_orders WHERE id = ?').raw(true).get('[50]')).toEqual(['c1', 'o50'])
    } finally {
      raw.close()
    }
    expect((await store.find('orders', { customerId: 'c1' }, { sort: { orderId: 1 } })).map(d => d['orderId'])).toEqual([1, 50])
    expect((await store.find('orders', { customerId: 'c9' }, { sort: { orderId: 1 } })).map(d => d['orderId'])).toEqual([2, 9])
    expect((await store.find('orders', { customerId: 'c2' })).map(d => d['orderId'])).toEqual([])
  })

  it('should bind the same column values json_extract reads from the stored document', async () => {
    const file = freshPath()
    const store = openStore(file)
    await store.ensureCollections([{ name: 'values', primaryKey: ['k'], indexes: [{ fields: ['v'] }, { fields: ['a.b'] }] }])
    const values: unknown[] = ['text', '', 'é\u0000"\\', 0, -0, 1, 1.5, -7, 1e21, 2 ** 60, true, false, null, undefined, Number.NaN, -(2 ** 62), 2 ** 70, 0.1 + 0.2, {}, { x: [1, { y: 'z', s: 'é\u0000"\\\n' }], at: new Date(Date.UTC(2026, 0, 3)) }, [], [1, 'two'], new Date(Date.UTC(2026, 0, 2)), new Date(Number.NaN)]
    const docs = values.flatMap((v, i) => [{ k: i, v }, { k: 100 + i, a: { b: v } }, { k: 200 + i, a: [{ b: v }] }, { k: 300 + i, a: 'scalar' }])
    // Without the triggers (which would correct a wrong value), what the store binds is what stays.
    const admin = new Database(file)
    admin.exec('DROP TRIGGER "tr_values__insert"; DROP TRIGGER "tr_values__update"')
    admin.close()
    await store.write({ put: docs.map(doc => ({ collection: 'values', id: String(doc.k), doc })) })
    const raw = new Database(file, { readonly: true })
    try {
      const rows = raw.prepare(`SELECT id, "f:v" IS json_extract(doc, '$."v"') AND "f:a.b" IS json_extract(doc, '$."a"."b"') AS same FROM col_values`).all() as Array<{ id: string, same: number }>
      expect(rows).toHaveLength(docs.length)
      expect(rows.filter(r => r.same !== 1)).toEqual([])
    } finally {
      raw.close()
    }
  })

  it('should upgrade a collection with the old expression indexes: readable at once, moved to columns when ensured', async () => {
    const file = freshPath()
    const old = new Database(file)
    old.exec(`CREATE TABLE col_orders (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
      CREATE INDEX "ix_orders___id" ON col_orders (json_extract(doc,'$."_id"'));
      CREATE INDEX "ix_orders__customerId" ON col_orders (json_extract(doc,'$."customerId"'));
      CREATE TABLE sys_paths (collection TEXT NOT NULL, path TEXT NOT NULL, types INTEGER NOT NULL, PRIMARY KEY (collection, path)) WITHOUT ROWID;
      INSERT INTO sys_paths VALUES ('orders', '_id', 2), ('orders', 'customerId', 2);`)
    const insert = old.prepare('INSERT INTO col_orders (id, doc) VALUES (?, ?)')
    for (let i = 0; i < 30; i++) insert.run(JSON.stringify([i]), JSON.stringify({ _id: `o${i}`, orderId: i, customerId: `c${i % 3}`, status: 'NEW', amount: i }))
    old.close()

    const store = openStore(file)
    expect(store.explain('orders', { customerId: 'c1' }).join('\n')).toMatch(/USING INDEX ix_orders__customerId/)
    expect(await store.count('orders', { customerId: 'c1' })).toBe(10)
    await store.ensureCollections([orders])
    expect(store.explain('orders', { customerId: 'c1' }).join('\n')).toMatch(/USING INDEX cx_orders__customerId \(f:customerId=\?\)/)
    expect(await store.count('orders', { customerId: 'c1' })).toBe(10)
    expect(await store.count('orders', { status: 'NEW', amount: { $lt: 5 } })).toBe(5)
    await store.write({ put: [{ collection: 'orders', id: '[1]', doc: { _id: 'o1', orderId: 1, customerId: 'c2' } }] })
    expect(await store.count('orders', { customerId: 'c1' })).toBe(9)

    const check = new Database(file, { readonly: true })
    try {
      const indexes = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'col_orders' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all()
      expect(indexes).toEqual(['cx_orders___id', 'cx_orders__customerId', 'cx_orders__status__amount'])
    } finally {
      check.close()
    }
  })

  it('data, queue entries, meta and learned types should survive a reopen', async () => {
    const file = freshPath()
    const first = createEmbeddedStore({ path: file })
    await fill(first)
    await first.write({
      put: [{ collection: 'orders', id: '[999]', doc: { orderId: 999, customerId: ['c1'] } }],
      enqueue: [{ view: 'v', id: 'k', identifier: { k: 1 }, eventTime: 5 }],
      meta: [{ key: 'm', value: { a: [1] } }]
    })
    await first.close()
    const second = openStore(file)
    expect(await second.count('orders', {})).toBe(201)
    expect(await second.count('orders', { customerId: 'c1' })).toBe(11)
    expect(second.explain('orders', { customerId: 'c1' }).join('\n')).not.toMatch(/cx_orders__customerId/)
    expect(await second.getMeta('m')).toEqual({ a: [1] })
    expect(await second.claimDue({ limit: 10, now: Date.now() + 1_000, leaseMs: 1_000 })).toMatchObject([{ view: 'v', id: 'k', identifier: { k: 1 }, eventTime: 5 }])
  })

  it('should add queue partitions to a store file written before them, keeping its entries', async () => {
    const file = freshPath()
    const old = new Database(file)
    old.exec(`CREATE TABLE sys_queue (
      view TEXT NOT NULL, id TEXT NOT NULL, identifier TEXT NOT NULL, seq INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL, event_time INTEGER NOT NULL,
      claimed_until INTEGER NOT NULL DEFAULT 0, last_error TEXT, PRIMARY KEY (view, id)) WITHOUT ROWID`)
    old.prepare('INSERT INTO sys_queue (view, id, identifier, seq, due_at, event_time) VALUES (?, ?, ?, 1, 0, 0)').run('v', 'old', '{"k":1}')
    old.close()
    const store = openStore(file)
    await store.write({ enqueue: [{ view: 'v', id: 'new', identifier: { k: 2 }, eventTime: 1, partition: 4 }] })
    const claimed = await store.claimDue({ limit: 10, now: Date.now() + 1_000, leaseMs: 1_000, partitions: [0, 4] })
    expect(claimed.map(e => [e.id, e.partition])).toEqual([['old', 0], ['new', 4]])
  })

  it('should move the outbox entries of a store file written before sys_outbox into it, in order, and drop the old collection', async () => {
    const file = freshPath()
    const legacy = '__braid_outbox'
    const first = createEmbeddedStore({ path: file })
    // The layout of earlier versions: the outbox was a collection of { _id, topic, record } documents.
    await first.ensureCollections([{ name: legacy, primaryKey: ['_id'], indexes: [] }])
    const doc = (_id: string, topic: string, record: Record<string, unknown>): { collection: string, id: string, doc: Record<string, unknown> } =>
      ({ collection: legacy, id: JSON.stringify([_id]), doc: { _id, topic, record } })
    await first.write({
      put: [
        doc('000000000000002-000000001-aaaaaa', 't1', { key: '{"email":"a@example.com"}', value: '{"after":{"name":"O\'Neil \\"Bob\\""}}', timestamp: 2, headers: { messageSchema: '{"type":"sv-update"}' } }),
        doc('000000000000001-000000000-aaaaaa', 't2', { key: null, value: 'first' })
      ]
    })
    await first.close()
    const store = openStore(file)
    expect(await store.outboxPage(10)).toEqual([
      { id: '000000000000001-000000000-aaaaaa', topic: 't2', record: { key: null, value: 'first' } },
      { id: '000000000000002-000000001-aaaaaa', topic: 't1', record: { key: '{"email":"a@example.com"}', value: '{"after":{"name":"O\'Neil \\"Bob\\""}}', timestamp: 2, headers: { messageSchema: '{"type":"sv-update"}' } } }
    ])
    const raw = new Database(file, { readonly: true })
    try {
      expect(raw.prepare("SELECT name FROM sqlite_master WHERE name LIKE '%braid_outbox%'").pluck().all()).toEqual([])
      expect(raw.prepare('SELECT COUNT(*) FROM sys_paths WHERE collection = ?').pluck().get(legacy)).toBe(0)
    } finally {
      raw.close()
    }
    await store.write({ relayed: ['000000000000001-000000000-aaaaaa'] })
    expect(await store.outboxSize()).toBe(1)
  })

  it('should see collections and documents written by another connection to the same file, read through a memory map or not', async () => {
    const file = freshPath()
    const a = openStore(file)
    const b = openStore(file, { mmapSizeMiB: 0 })
    expect(await a.find('orders', {})).toEqual([])
    await fill(b, 10)
    expect(await a.count('orders', { customerId: 'c3' })).toBe(1)
    await a.write({ put: [{ collection: 'orders', id: '[100]', doc: { orderId: 100, customerId: 'c3' } }] })
    expect(await b.count('orders', { customerId: 'c3' })).toBe(2)
  })

  it('should store Dates as ISO strings and compare Date filters against them', async () => {
    const store = openStore()
    await store.ensureCollections([{ name: 'events', primaryKey: ['k'], indexes: [{ fields: ['at'] }] }])
    const at = (day: number): Date => new Date(Date.UTC(2026, 0, day))
    await store.write({ put: [1, 2, 3].map(day => ({ collection: 'events', id: String(day), doc: { k: day, at: at(day) } })) })
    expect((await store.getMany('events', ['1'])).get('1')).toEqual({ k: 1, at: '2026-01-01T00:00:00.000Z' })
    expect((await store.find('events', { at: at(2) })).map(d => d['k'])).toEqual([2])
    expect((await store.find('events', { at: { $gte: at(2) } }, { sort: { at: -1 } })).map(d => d['k'])).toEqual([3, 2])
  })

  it('should quote collection names safely', async () => {
    const store = openStore()
    const name = 'we"ird \'name\'; DROP TABLE sys_meta; --'
    await store.ensureCollections([{ name, primaryKey: ['k'], indexes: [{ fields: ['a b'] }, { fields: ["it's"] }] }])
    await store.write({ put: [{ collection: name, id: '1', doc: { k: 1, 'a b': 'x', "it's": 2 } }], meta: [{ key: 'still', value: 'here' }] })
    expect(await store.find(name, { 'a b': 'x', "it's": 2 })).toEqual([{ k: 1, 'a b': 'x', "it's": 2 }])
    expect(store.explain(name, { "it's": 2 }).join('\n')).toMatch(/USING INDEX/)
    expect(await store.getMeta('still')).toBe('here')
  })

  it('should reject invalid options, index fields, filters and projections with BraidErrors', async () => {
    expect(() => createEmbeddedStore({ path: '' })).toThrow(expect.objectContaining({ code: 'BRAID_CONFIG_INVALID' }))
    expect(() => createEmbeddedStore({ path: ':memory:', busyTimeoutMs: -1 })).toThrow(expect.objectContaining({ code: 'BRAID_CONFIG_INVALID' }))
    expect(() => createEmbeddedStore({ path: ':memory:', mmapSizeMiB: -1 })).toThrow(expect.objectContaining({ code: 'BRAID_CONFIG_INVALID', message: expect.stringContaining('mmapSizeMiB') }))
    const store = openStore()
    await expect(store.ensureCollections([{ name: 'x', primaryKey: ['k'], indexes: [{ fields: ['a"b'] }] }])).rejects.toMatchObject({ code: 'BRAID_CONFIG_INVALID' })
    // An index given as a bare list of fields (not { fields }) is named, not a TypeError.
    await expect(store.ensureCollections([{ name: 'x', primaryKey: ['k'], indexes: [['a'] as unknown as IndexSpec] }])).rejects.toMatchObject({ code: 'BRAID_CONFIG_INVALID', message: expect.stringContaining('["a"] is not { fields: [...] }') })
    await fill(store, 3)
    await expect(store.find('orders', { $bogus: 1 })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
    await expect(store.find('orders', {}, { projection: { a: 1, b: 0 } })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
    await expect(store.find('orders', {}, { limit: -1 })).rejects.toMatchObject({ code: 'BRAID_QUERY_INVALID' })
    await expect(store.write({ put: [{ collection: 'nope', id: '1', doc: {} }] })).rejects.toMatchObject({ code: 'BRAID_INTERNAL' })
  })

  it('should fail with BRAID_STORE_UNAVAILABLE once closed', async () => {
    const store = createEmbeddedStore({ path: freshPath() })
    await store.close()
    await store.close()
    const err: unknown = await store.find('orders', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BraidError)
    expect(err).toMatchObject({ code: 'BRAID_STORE_UNAVAILABLE' })
  })

  it('should report an unreadable database file as BRAID_STORE_UNAVAILABLE', () => {
    const file = path.join(dir, 'not-a-db.db')
    fs.writeFileSync(file, 'this is not a SQLite database, just text '.repeat(200))
    expect(() => createEmbeddedStore({ path: file })).toThrow(expect.objectContaining({ code: 'BRAID_STORE_UNAVAILABLE' }))
  })
})
