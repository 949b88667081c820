import { afterEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import type { UpdateEvents } from '../../src/model/single-view.ts'
import { customerRow, customerView, openPipeline, readTopic, retail, retailWithUpdateEvents, tempDir, topicSize, topics, type Running } from './harness.ts'

const svUpdateTopic = 'braid.customer_sv.sv-update'
let running: Running | undefined

afterEach(async () => {
  await running?.close()
  running = undefined
})

async function openWith (updateEvents: UpdateEvents): Promise<Running> {
  running = await openPipeline(await retailWithUpdateEvents(updateEvents), tempDir())
  return running
}

/** A customer inserted, renamed, given its tier's new name (a Single View Patch), then deleted. */
async function customerLifecycle (r: Running): Promise<void> {
  await r.service.ingest(topics.tiers, [retail.tier('gold', 'Gold', 10)])
  const row = customerRow(1, { email: 'ada@example.com', first_name: 'Ada', tier_code: 'gold' })
  await r.service.ingest(topics.customers, [retail.customer(row)])
  await r.service.idle()
  const renamed = { ...row, first_name: 'Augusta' }
  await r.service.ingest(topics.customers, [retail.customer(renamed, 'u', row)])
  await r.service.idle()
  await r.service.ingest(topics.tiers, [retail.tier('gold', 'Gold Plus', 12, 'u')])
  await r.service.idle()
  expect((await customerView(r.service, 'ada@example.com'))?.['tier']).toEqual({ code: 'gold', name: 'Gold Plus', discountPct: 12 })
  await r.service.ingest(topics.customers, [retail.deleteCustomer(renamed)])
  await r.service.idle()
  expect(await customerView(r.service, 'ada@example.com')).toBeUndefined()
}

describe('updateEvents: what the sv-update events of a view carry', () => {
  it('key: one event per change (rebuilds and patches alike) with the operation and the view key, without the documents', async () => {
    const r = await openWith('key')
    await customerLifecycle(r)
    const records = await readTopic(r.service.log, svUpdateTopic)
    const values = records.map(record => JSON.parse(record.value ?? 'null') as Doc)
    expect(values.map(v => (v['operation'] as Doc)['type'])).toEqual(['INSERT', 'UPDATE', 'UPDATE', 'DELETE'])
    for (const [i, record] of records.entries()) {
      expect(JSON.parse(record.key ?? 'null')).toEqual({ email: 'ada@example.com' })
      expect(JSON.parse(record.headers['messageSchema'] ?? 'null')).toEqual({ type: 'sv-update', version: 'v2.0.0' })
      expect(Object.keys(values[i] ?? {}).sort()).toEqual(['operation', 'primaryKeys', 'source', 'storageNamespace'])
      expect(values[i]).toMatchObject({ source: 'retail', storageNamespace: 'customer_sv', primaryKeys: ['email'] })
    }
  })

  it('none: the views are built, patched and deleted as usual, and no event is appended', async () => {
    const r = await openWith('none')
    await customerLifecycle(r)
    const counters = (await r.service.status()).singleViews['customer_sv']
    expect(counters?.written).toBeGreaterThanOrEqual(2)
    expect(counters?.deleted).toBe(1)
    expect(await topicSize(r.service.log, svUpdateTopic)).toBe(0)
    expect(await r.service.store.outboxSize()).toBe(0)
  })
})
