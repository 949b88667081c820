import { afterEach, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import type { IngestMessage } from '../../src/runtime/types.ts'
import { customerRow, customerView, openPipeline, readTopic, retail, retailConfig, tempDir, topics, type CustomerRow, type Running } from './harness.ts'

const svUpdateTopic = 'braid.customer_sv.sv-update'
let running: Running | undefined

afterEach(async () => {
  await running?.close()
  running = undefined
})

/** 1,000 successive updates of customer 1 (phone 0 … 999), each with its previous row as `before`. */
function thousandChanges (): { messages: IngestMessage[], last: CustomerRow } {
  const messages: IngestMessage[] = []
  let before = customerRow(1, { phone: 'initial' })
  messages.push(retail.customer(before))
  for (let i = 0; i < 999; i++) {
    const after = customerRow(1, { phone: `+39 ${i}`, first_name: `Name${i}` })
    messages.push(retail.customer(after, 'u', before))
    before = after
  }
  return { messages, last: before }
}

async function svUpdatesOf (r: Running, email: string): Promise<Doc[]> {
  const records = await readTopic(r.service.log, svUpdateTopic)
  return records.map(rec => JSON.parse(rec.value ?? 'null') as Doc).filter(v => ((v['after'] ?? v['before']) as Doc | null)?.['email'] === email)
}

describe('coalescing of view rebuilds', () => {
  it('builds a customer changed 1,000 times in one burst once, equal to the last change', async () => {
    running = await openPipeline(retailConfig, tempDir(), { start: false })
    const { messages, last } = thousandChanges()
    expect(messages).toHaveLength(1000)
    await running.service.ingest(topics.customers, messages)
    await running.service.start()
    await running.service.idle()

    const view = await customerView(running.service, last.email)
    expect(view).toMatchObject({ customerId: 1, phone: last.phone, firstName: last.first_name })
    const updates = await svUpdatesOf(running, last.email)
    expect(updates).toHaveLength(1)
    expect((await running.service.status()).singleViews['customer_sv']).toMatchObject({ written: 1, unchanged: 0, failed: 0, queued: 0 })
    expect((await running.service.status()).projections['customers']).toMatchObject({ consumed: 1000, applied: 1000 })
  })

  it('rebuilds a customer changed 1,000 times while running far fewer times, ending equal to the last change', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { messages, last } = thousandChanges()
    for (let i = 0; i < messages.length; i += 50) await running.service.ingest(topics.customers, messages.slice(i, i + 50))
    await running.service.idle()

    const view = await customerView(running.service, last.email)
    expect(view).toMatchObject({ customerId: 1, phone: last.phone, firstName: last.first_name })
    const updates = await svUpdatesOf(running, last.email)
    const counters = (await running.service.status()).singleViews['customer_sv']
    expect(counters?.written).toBe(updates.length)
    expect(updates.length).toBeGreaterThanOrEqual(1)
    // Every build (written or found unchanged) counted: at most about one per ingested batch of 50, not one per change.
    const builds = (counters?.written ?? 0) + (counters?.unchanged ?? 0) + (counters?.failed ?? 0)
    expect(builds).toBeLessThanOrEqual(50)
    // The last event carries the final state.
    expect((updates.at(-1)?.['after'] as Doc)['phone']).toBe(last.phone)
  })
})
