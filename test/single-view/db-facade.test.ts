import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import { createDbFacade } from '../../src/single-view/index.ts'
import type { EmbeddedStore } from '../../src/storage/embedded/index.ts'
import { createStore, load } from './helpers.ts'
import { shopDocs, shopProjections } from './shop.ts'

let store: EmbeddedStore

beforeEach(async () => {
  store = await createStore({ ...shopProjections, 'store-orders': { key: ['orderId'] } })
  await load(store, shopProjections, { orders: shopDocs['orders'] ?? [] })
})

afterEach(async () => {
  await store.close()
})

describe('createDbFacade', () => {
  it('find returns a cursor with sort, skip, limit, project, toArray and async iteration', async () => {
    const db = createDbFacade(store)
    const orders = db.collection('orders')
    expect((await orders.find({ customerId: 'c1' }).sort({ total: -1 }).toArray()).map(o => o['orderId'])).toEqual(['o2', 'o1'])
    expect((await orders.find({}).sort({ total: 1 }).skip(1).limit(1).toArray()).map(o => o['orderId'])).toEqual(['o2'])
    expect((await orders.find({}).limit(0).toArray())).toHaveLength(3)
    const [projected] = await orders.find({ orderId: 'o1' }).project({ total: 1 }).toArray()
    expect(Object.keys(projected ?? {}).sort()).toEqual(['_id', 'total'])
    const seen: Doc[] = []
    for await (const o of orders.find({ customerId: 'c2' })) seen.push(o)
    expect(seen.map(o => o['orderId'])).toEqual(['o3'])
  })

  it('findOne and countDocuments answer from the store', async () => {
    const orders = createDbFacade(store).collection('orders')
    expect((await orders.findOne({ customerId: 'c1' }))?.['orderId']).toBe('o1')
    expect(await orders.findOne({ customerId: 'nobody' })).toBeNull()
    expect(await orders.countDocuments({ customerId: 'c1' })).toBe(2)
    expect(await orders.countDocuments()).toBe(3)
  })

  it('names are mapped to store collections and there is no way to write', async () => {
    await store.write({ put: [{ collection: 'store-orders', id: '["x"]', doc: { orderId: 'x' } }] })
    const db = createDbFacade(store, name => name === 'orders' ? 'store-orders' : name)
    expect(await db.collection('orders').countDocuments({})).toBe(1)
    const c = db.collection('orders') as unknown as Record<string, unknown>
    for (const method of ['insertOne', 'updateOne', 'deleteMany', 'replaceOne', 'bulkWrite']) expect(c[method]).toBeUndefined()
  })
})
