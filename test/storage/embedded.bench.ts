/**
 * Write and read throughput of the embedded store: `npx vitest bench test/storage`.
 * One iteration = one batch of 1,000 documents, so upserts/s = ops/s × 1,000.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, bench, describe } from 'vitest'
import { keyId } from '../../src/model/key.ts'
import { createEmbeddedStore } from '../../src/storage/embedded/index.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-store-bench-'))
const store = createEmbeddedStore({ path: path.join(dir, 'store.db') })
await store.ensureCollections([{ name: 'orders', primaryKey: ['orderId'], indexes: [{ fields: ['customerId'] }, { fields: ['status', 'updatedAt'] }] }])

afterAll(async () => {
  await store.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

let next = 0
function batch (): Array<{ collection: string, id: string, doc: Record<string, unknown> }> {
  return Array.from({ length: 1_000 }, () => {
    const i = next++ % 200_000
    const doc = {
      _id: 'x' + i.toString(16).padStart(24, '0'),
      orderId: i,
      customerId: `C${i % 5000}`,
      status: ['NEW', 'PAID', 'SHIPPED'][i % 3],
      amount: i * 1.5,
      lines: [{ sku: 'S' + (i % 100), qty: 2 }],
      note: 'some text of moderate length to make the document realistic',
      __STATE__: 'PUBLIC',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: new Date(1_700_000_000_000 + next).toISOString()
    }
    return { collection: 'orders', id: keyId(doc, ['orderId']), doc }
  })
}

describe('embedded store', () => {
  bench('write 1,000 upserts in one batch', async () => {
    await store.write({ put: batch() })
  })

  bench('find by an indexed field', async () => {
    await store.find('orders', { customerId: `C${next % 5000}`, __STATE__: 'PUBLIC' })
  })

  bench('getMany of 20 ids', async () => {
    await store.getMany('orders', Array.from({ length: 20 }, (_, k) => keyId({ orderId: (next + k) % 200_000 }, ['orderId'])))
  })
})
