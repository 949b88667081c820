import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { verifyViews } from '../../src/runtime/maintenance.ts'
import { customerRow, customerView, openPipeline, readTopic, retail, retailConfig, tempDir, topics, type Running } from './harness.ts'

let running: Running

beforeAll(async () => {
  running = await openPipeline(retailConfig, tempDir())
  await running.service.ingest(topics.tiers, [retail.tier('gold', 'Gold', 10), retail.tier('silver', 'Silver', 5)])
  await running.service.ingest(topics.customers, [
    retail.customer(customerRow(1, { tier_code: 'gold' })),
    retail.customer(customerRow(2, { tier_code: 'gold' })),
    retail.customer(customerRow(3, { tier_code: 'silver' }))
  ])
  await running.service.idle()
})

afterAll(async () => {
  await running?.close()
})

async function svUpdates (): Promise<Doc[]> {
  return (await readTopic(running.service.log, 'braid.customer_sv.sv-update')).map(r => JSON.parse(r.value ?? 'null') as Doc)
}

describe('Single View Patch through the runtime', () => {
  it('patches tier.discountPct and tier.name of every view of the changed tier and emits their sv-update events', async () => {
    expect((await customerView(running.service, 'customer.1@example.com'))?.['tier']).toEqual({ code: 'gold', name: 'Gold', discountPct: 10 })
    const eventsBefore = (await svUpdates()).length
    const silver = await customerView(running.service, 'customer.3@example.com')

    await running.service.ingest(topics.tiers, [retail.tier('gold', 'Gold Plus', 12, 'u')])
    await running.service.idle()

    for (const id of [1, 2]) {
      expect((await customerView(running.service, `customer.${id}@example.com`))?.['tier']).toEqual({ code: 'gold', name: 'Gold Plus', discountPct: 12 })
    }
    expect(await customerView(running.service, 'customer.3@example.com')).toEqual(silver)

    const events = (await svUpdates()).slice(eventsBefore)
    expect(events.map(e => [((e['after'] as Doc)['email']), (e['operation'] as Doc)['type']]).sort()).toEqual([
      ['customer.1@example.com', 'UPDATE'],
      ['customer.2@example.com', 'UPDATE']
    ])
    for (const e of events) {
      expect((e['before'] as Doc)['tier']).toEqual({ code: 'gold', name: 'Gold', discountPct: 10 })
      expect((e['after'] as Doc)['tier']).toEqual({ code: 'gold', name: 'Gold Plus', discountPct: 12 })
    }
    expect((await running.service.status()).singleViews['customer_sv']).toMatchObject({ patched: 2, failed: 0 })
  })

  it('leaves the views equal to a full recomputation', async () => {
    const { service } = running
    const result = await verifyViews({ pipeline: running.pipeline, store: service.store, log: service.log, logger: silentLogger() }, 'customer_sv')
    expect(result.checked).toBe(3)
    expect(result.differences).toEqual([])
  })

  it('builds a customer who joins the patched tier later with the new values', async () => {
    await running.service.ingest(topics.customers, [retail.customer(customerRow(4, { tier_code: 'gold' }))])
    await running.service.idle()
    expect((await customerView(running.service, 'customer.4@example.com'))?.['tier']).toEqual({ code: 'gold', name: 'Gold Plus', discountPct: 12 })
  })
})
