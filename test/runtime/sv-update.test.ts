import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import type { LogRecord } from '../../src/model/log-record.ts'
import { customerRow, openPipeline, readTopic, retail, retailConfig, tempDir, topics, type Running } from './harness.ts'

const svUpdateTopic = 'braid.customer_sv.sv-update'
let running: Running

beforeAll(async () => {
  running = await openPipeline(retailConfig, tempDir())
})

afterAll(async () => {
  await running?.close()
})

async function eventsFor (email: string): Promise<Array<{ record: LogRecord, value: Doc }>> {
  return (await readTopic(running.service.log, svUpdateTopic))
    .map(record => ({ record, value: JSON.parse(record.value ?? 'null') as Doc }))
    .filter(e => ((e.value['after'] ?? e.value['before']) as Doc)['email'] === email)
}

describe('sv-update events', () => {
  it('are appended to braid.<view>.sv-update in the Mia v2.0.0 shape, one per INSERT, UPDATE and DELETE', async () => {
    const row = customerRow(1, { email: 'ada@example.com', first_name: 'Ada' })
    await running.service.ingest(topics.customers, [retail.customer(row)])
    await running.service.idle()
    const changed = { ...row, first_name: 'Augusta' }
    await running.service.ingest(topics.customers, [retail.customer(changed, 'u', row)])
    await running.service.idle()
    await running.service.ingest(topics.customers, [retail.deleteCustomer(changed)])
    await running.service.idle()

    const events = await eventsFor('ada@example.com')
    expect(events.map(e => (e.value['operation'] as Doc)['type'])).toEqual(['INSERT', 'UPDATE', 'DELETE'])
    for (const { record, value } of events) {
      expect(JSON.parse(record.headers['messageSchema'] ?? 'null')).toEqual({ type: 'sv-update', version: 'v2.0.0' })
      expect(JSON.parse(record.key ?? 'null')).toEqual({ email: 'ada@example.com' })
      expect(Object.keys(value).sort()).toEqual(['after', 'before', 'operation', 'primaryKeys', 'source', 'storageNamespace'])
      expect(value).toMatchObject({ source: 'retail', storageNamespace: 'customer_sv', primaryKeys: ['email'] })
      const timestamp = String((value['operation'] as Doc)['timestamp'])
      expect(new Date(timestamp).toISOString()).toBe(timestamp)
    }
    const [insert, update, remove] = events.map(e => e.value)
    expect(insert?.['before']).toBeNull()
    expect(insert?.['after']).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', __STATE__: 'PUBLIC' })
    expect(update?.['before']).toMatchObject({ firstName: 'Ada' })
    expect(update?.['after']).toMatchObject({ firstName: 'Augusta' })
    expect((update?.['after'] as Doc)['_id']).toBe((insert?.['after'] as Doc)['_id'])
    expect(remove?.['before']).toMatchObject({ firstName: 'Augusta' })
    expect(remove?.['after']).toBeNull()
  })

  it('are not appended when a rebuild leaves the view unchanged', async () => {
    const row = customerRow(2, { email: 'alan@example.com' })
    await running.service.ingest(topics.customers, [retail.customer(row)])
    await running.service.idle()
    await running.service.ingest(topics.preferences, [retail.preferences('alan@example.com', true)])
    await running.service.idle()
    const before = (await eventsFor('alan@example.com')).length
    const unchangedBefore = (await running.service.status()).singleViews['customer_sv']?.unchanged ?? 0
    // preferences.updated_at is in the projection (changedAt) but not in the view: a rebuild, no change.
    const prefs = retail.preferences('alan@example.com', true)
    const value = prefs.value as Doc
    prefs.value = { ...value, op: 'u', after: { ...(value['after'] as Doc), updated_at: 1_800_000_000_000 } }
    await running.service.ingest(topics.preferences, [prefs])
    await running.service.idle()
    expect((await running.service.store.find('preferences', { email: 'alan@example.com' }))[0]?.['changedAt']).toBe(new Date(1_800_000_000_000).toISOString())
    expect((await running.service.status()).singleViews['customer_sv']?.unchanged).toBe(unchangedBefore + 1)
    expect((await eventsFor('alan@example.com')).length).toBe(before)
  })

  it('follow a key change: the old view is deleted and the new one inserted', async () => {
    const row = customerRow(3, { email: 'grace@example.com' })
    await running.service.ingest(topics.customers, [retail.customer(row)])
    await running.service.idle()
    const moved = { ...row, email: 'grace.hopper@example.com' }
    await running.service.ingest(topics.customers, [retail.customer(moved, 'u', row)])
    await running.service.idle()
    expect((await eventsFor('grace@example.com')).map(e => (e.value['operation'] as Doc)['type'])).toEqual(['INSERT', 'DELETE'])
    expect((await eventsFor('grace.hopper@example.com')).map(e => (e.value['operation'] as Doc)['type'])).toEqual(['INSERT'])
    expect(await running.service.store.count('customer_sv', { email: 'grace@example.com' })).toBe(0)
    expect(await running.service.store.count('customer_sv', { email: 'grace.hopper@example.com' })).toBe(1)
  })
})
