import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadPipeline } from '../../src/config/index.ts'
import { createFormat } from '../../src/connectors/formats/index.ts'
import { initialRetailState, RetailGenerator, retailTopics, type ChangeBatch } from '../../src/demo/retail.ts'
import { silentLogger } from '../../src/logger.ts'
import type { ProjectionDefinition } from '../../src/model/projection.ts'
import { mapChange } from '../../src/projections/mapper.ts'
import { verifyViews } from '../../src/runtime/maintenance.ts'
import { openPipeline, retailConfig, tempDir, type Running } from '../runtime/harness.ts'

/** A snapshot of `customers` and `ticks` steps of live traffic from a new generator. */
function traffic (seed: number, customers: number, ticks: number): { generator: RetailGenerator, batches: ChangeBatch[] } {
  const generator = new RetailGenerator(initialRetailState(seed))
  const batches = generator.snapshot(customers)
  for (let i = 0; i < ticks; i++) batches.push(...generator.tick())
  return { generator, batches }
}

let running: Running | undefined

afterEach(async () => {
  vi.useRealTimers()
  await running?.close()
  running = undefined
})

describe('the retail demo generator', () => {
  it('produces the same traffic for the same seed', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
    const a = traffic(7, 20, 300)
    const b = traffic(7, 20, 300)
    expect(JSON.stringify(b.batches)).toBe(JSON.stringify(a.batches))
    expect(b.generator.state).toEqual(a.generator.state)
    expect(JSON.stringify(traffic(8, 20, 300).batches)).not.toBe(JSON.stringify(a.batches))
  })

  it('resumes deterministically from a saved state, continuing its positions and ids', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
    const { generator } = traffic(3, 10, 50)
    const saved = JSON.stringify(generator.state)
    const resume = (): ChangeBatch[][] => {
      const resumed = new RetailGenerator(JSON.parse(saved) as typeof generator.state)
      return Array.from({ length: 50 }, () => resumed.tick())
    }
    const first = resume()
    expect(resume()).toEqual(first)
    const lsns = first.flat().flatMap(b => b.messages.map(m => ((m.value as { source: { lsn: number } }).source.lsn)))
    expect(lsns.length).toBeGreaterThan(0)
    expect(Math.min(...lsns)).toBeGreaterThanOrEqual(generator.state.lsn)
    expect(lsns).toEqual([...lsns].sort((a, b) => a - b))
  })

  it('emits messages that decode with the debezium format and map onto the retail projections without loss', async () => {
    const pipeline = await loadPipeline(retailConfig)
    const byTopic = new Map<string, ProjectionDefinition>([...pipeline.projections.values()].map(p => [p.topic, p]))
    const { batches } = traffic(42, 30, 400)
    const seen = new Set<string>()
    const ops = new Set<string>()
    let messages = 0
    for (const batch of batches) {
      const def = byTopic.get(batch.topic)
      expect(def, batch.topic).toBeDefined()
      if (def === undefined) continue
      expect(def.format.type).toBe('debezium')
      const format = createFormat(def.format)
      for (const m of batch.messages) {
        const raw = { key: JSON.stringify(m.key), value: JSON.stringify(m.value), timestamp: Number(m.timestamp), offset: messages, partition: 0, topic: batch.topic, headers: {} }
        const events = await format.decode(raw, def.sourceKey)
        expect(events).toHaveLength(1)
        for (const event of events) {
          expect(event.position).toBeTypeOf('number')
          const mapped = mapChange(def, event)
          expect(mapped.unmapped, `${def.name} unmapped`).toEqual([])
          expect(mapped.uncastable, `${def.name} uncastable`).toEqual([])
          ops.add(mapped.op)
        }
        messages++
      }
      seen.add(batch.topic)
    }
    expect([...seen].sort()).toEqual(Object.values(retailTopics).sort())
    expect([...ops].sort()).toEqual(['delete', 'upsert'])
    expect(messages).toBeGreaterThan(400)
  })
})

describe('the retail demo through a running pipeline', () => {
  it('converges: after a few hundred ticks every stored view equals its recomputation', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { service, pipeline } = running
    const { generator, batches } = traffic(11, 40, 400)
    for (const b of batches) await service.ingest(b.topic, b.messages)
    await service.idle()

    const result = await verifyViews({ pipeline, store: service.store, log: service.log, logger: silentLogger() }, 'customer_sv')
    expect(result.differences).toEqual([])
    expect(result.checked).toBe(generator.state.customers.length)
    expect(await service.store.count('customer_sv', {})).toBe(generator.state.customers.length)
    const status = await service.status()
    expect(Object.values(status.projections).reduce((n, p) => n + p.deadLettered, 0)).toBe(0)
    expect(status.singleViews['customer_sv']).toMatchObject({ failed: 0, queued: 0 })
    // The views hold what the generator last said about each customer.
    for (const customer of generator.state.customers.slice(0, 10)) {
      const [view] = await service.store.find('customer_sv', { email: customer['email'] })
      expect(view).toMatchObject({ customerId: customer['customer_id'], phone: customer['phone'], tier: { code: customer['tier_code'] } })
    }
  })
})
