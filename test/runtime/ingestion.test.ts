import { afterEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import type { AppendRecord } from '../../src/model/log-record.ts'
import { SystemCollection } from '../../src/runtime/collections.ts'
import { consumerLag, ingestionGroup } from '../../src/runtime/service.ts'
import type { IngestMessage } from '../../src/runtime/types.ts'
import { customerRow, customerView, openPipeline, retail, retailConfig, tempDir, topics, type Running } from './harness.ts'

let running: Running | undefined

afterEach(async () => {
  await running?.close()
  running = undefined
})

/** A message as a producer writing straight to the topic would (no POST /ingest validation). */
function raw (message: IngestMessage): AppendRecord {
  return { key: JSON.stringify(message.key), value: typeof message.value === 'string' ? message.value : JSON.stringify(message.value), headers: {} }
}

describe('the projection stage', () => {
  it('dead-letters a malformed message with its reason while the rest of the batch and the partition keep flowing', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { service } = running
    const batch: AppendRecord[] = [
      raw(retail.customer(customerRow(1))),
      { key: '{"customer_id":2}', value: '{"op":"c","after":{"customer_id":2', headers: {} },
      raw(retail.customer(customerRow(3))),
      { key: '{"customer_id":4}', value: JSON.stringify({ op: 'z', before: null, after: customerRow(4) }), headers: {} },
      raw(retail.customer(customerRow(5, { customer_id: 'five' as unknown as number }))),
      raw(retail.customer(customerRow(6)))
    ]
    const positions = await service.log.append(topics.customers, batch)
    expect(new Set(positions.map(p => p.partition)).size).toBe(1)
    await service.idle()
    // The partition keeps flowing after the bad messages.
    await service.log.append(topics.customers, [raw(retail.customer(customerRow(7)))])
    await service.idle()

    const stored = await service.store.find('customers', {}, { sort: { customerId: 1 } })
    expect(stored.map(d => d['customerId'])).toEqual([1, 3, 6, 7])
    for (const id of [1, 3, 6, 7]) expect(await customerView(service, `customer.${id}@example.com`)).toBeDefined()

    const letters = await service.store.find(SystemCollection.deadLetters, {}, { sort: { offset: 1 } })
    expect(letters.map(l => [l['offset'], l['code']])).toEqual([
      [positions[1]?.offset, 'BRAID_DECODE_FAILED'],
      [positions[3]?.offset, 'BRAID_DECODE_FAILED'],
      [positions[4]?.offset, 'BRAID_CAST_FAILED']
    ])
    for (const l of letters) {
      expect(l).toMatchObject({ projection: 'customers', topic: topics.customers, partition: positions[0]?.partition, status: 'pending' })
      expect(String(l['reason']).length).toBeGreaterThan(10)
    }
    expect(letters[0]?.['value']).toBe('{"op":"c","after":{"customer_id":2')
    expect(letters[1]?.['reason']).toContain('op')
    expect(letters[2]?.['reason']).toContain('customer_id')

    const status = await service.status()
    expect(status.projections['customers']).toMatchObject({ consumed: 7, applied: 4, deadLettered: 3, lag: 0 })
    expect(await consumerLag(service.log, ingestionGroup, [topics.customers])).toBe(0)
  })

  it('counts unmapped and uncastable fields per projection and field, without storing their values', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { service } = running
    await service.ingest(topics.customers, [
      retail.customer(customerRow(1, { loyalty_points: 1234, nickname: 'secret-nick-1' })),
      retail.customer(customerRow(2, { loyalty_points: 99 }))
    ])
    await service.ingest(topics.orders, [retail.order(10, 1, 'not-a-number-xyz')])
    await service.idle()

    const counts = async (): Promise<Doc[]> => service.store.find(SystemCollection.unmappedFields, {}, { sort: { projection: 1, field: 1 } })
    const first = await counts()
    expect(first.map(d => [d['projection'], d['field'], d['type'], d['count']])).toEqual([
      ['customers', 'loyalty_points', 'UNKNOWN_FIELD', 2],
      ['customers', 'nickname', 'UNKNOWN_FIELD', 1],
      ['orders', 'total', 'UNCASTABLE_FIELD', 1]
    ])
    const text = JSON.stringify(first)
    for (const value of ['1234', 'secret-nick-1', 'not-a-number-xyz']) expect(text).not.toContain(value)
    for (const d of first) expect(typeof d['lastSeenAt']).toBe('string')

    // The record is stored without the unmapped field, the uncastable one as null; the view goes on.
    const [customer] = await service.store.find('customers', { customerId: 1 })
    expect(customer).not.toHaveProperty('loyalty_points')
    expect(customer).not.toHaveProperty('nickname')
    const [order] = await service.store.find('orders', { orderId: 10 })
    expect(order).toMatchObject({ orderId: 10, total: null, status: 'placed' })
    expect((await customerView(service, 'customer.1@example.com'))?.['orders']).toMatchObject([{ orderId: 10, total: null }])

    // Counts accumulate across batches.
    await service.ingest(topics.customers, [retail.customer(customerRow(3, { loyalty_points: 5 }))])
    await service.idle()
    const again = await counts()
    expect(again.find(d => d['field'] === 'loyalty_points')).toMatchObject({ count: 3, firstSeenAt: first[0]?.['firstSeenAt'] })
  })

  it('applies a re-delivered or older event only once (ordering guard)', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { service } = running
    const newer = retail.customer(customerRow(1, { phone: 'new' }), 'u')
    const older = { ...retail.customer(customerRow(1, { phone: 'old' }), 'u') }
    // `older` got a higher LSN from the helper: give it a lower one explicitly.
    const olderValue = older.value as Doc
    older.value = { ...olderValue, source: { ...(olderValue['source'] as Doc), lsn: 1 } }
    await service.ingest(topics.customers, [newer, newer, older])
    await service.idle()
    expect((await customerView(service, 'customer.1@example.com'))?.['phone']).toBe('new')
    expect((await service.status()).projections['customers']).toMatchObject({ consumed: 3, applied: 1, duplicates: 1, stale: 1 })
  })
})

describe('a Debezium truncate', () => {
  it('deletes every record of the projection and the views built on them, and later inserts come back', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { service } = running
    await service.ingest(topics.orders, [retail.order(1, 1, '10.00'), retail.order(2, 2, '20.00')])
    await service.ingest(topics.customers, [retail.customer(customerRow(1)), retail.customer(customerRow(2))])
    await service.idle()
    expect((await customerView(service, 'customer.1@example.com'))?.['orders']).toHaveLength(1)

    await service.ingest(topics.orders, [{ key: null, value: { op: 't', before: null, after: null, source: { connector: 'postgresql', lsn: 10_000_000 }, ts_ms: Date.now() } }])
    await service.idle()
    expect(await service.store.count('orders', { __STATE__: 'PUBLIC' })).toBe(0)
    expect((await customerView(service, 'customer.1@example.com'))?.['orders']).toEqual([])
    expect((await customerView(service, 'customer.2@example.com'))?.['orders']).toEqual([])

    await service.ingest(topics.orders, [retail.order(3, 2, '1.00')])
    await service.idle()
    expect(((await customerView(service, 'customer.2@example.com'))?.['orders'] as Doc[]).map(o => o['orderId'])).toEqual([3])
  })
})
