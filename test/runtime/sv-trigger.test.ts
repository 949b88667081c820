import { writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadPipeline } from '../../src/config/index.ts'
import type { Doc } from '../../src/model/document.ts'
import { customerRow, openPipeline, readTopic, repoRoot, retail, retailConfig, tempDir, topics, type Running } from './harness.ts'

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

describe('sv-trigger events', () => {
  it('are emitted in Mia\'s shape to a view\'s triggerTopic, one per rebuild, naming the change that caused it', async () => {
    // The retail config with a triggerTopic on customer_sv, read from YAML like a user's.
    const dir = tempDir()
    const yaml = readFileSync(retailConfig, 'utf8')
      .replaceAll('./functions/', `${join(repoRoot, 'examples/retail/functions')}/`)
      .replace(/^(  customer_sv:\n)/m, '$1    triggerTopic: retail.customer_sv.sv-trigger\n')
    const config = join(dir, 'braid.yaml')
    writeFileSync(config, yaml)
    expect((await loadPipeline(config)).singleViews.get('customer_sv')?.svTriggerTopic).toBe('retail.customer_sv.sv-trigger')

    running = await openPipeline(config, join(dir, 'data'))
    const { service } = running
    await service.ingest(topics.customers, [retail.customer(customerRow(1))])
    await service.idle()
    await service.ingest(topics.orders, [retail.order(10, 1, '12.50')])
    await service.idle()

    const records = await readTopic(service.log, 'retail.customer_sv.sv-trigger')
    expect(records).toHaveLength(2)
    const [first, second] = records.map(r => ({ key: JSON.parse(r.key ?? 'null') as Doc, value: JSON.parse(r.value ?? 'null') as Doc, headers: r.headers }))
    expect(first).toMatchObject({
      key: { email: 'customer.1@example.com' },
      value: { type: 'aggregation', singleViewName: 'customer_sv', singleViewIdentifier: { email: 'customer.1@example.com' }, change: { projectionName: 'customers', projectionIdentifier: { customerId: 1 } } }
    })
    expect(JSON.parse(first?.headers['messageSchema'] ?? '{}')).toEqual({ type: 'sv-trigger', version: 'v1.0.0' })
    expect(second?.value).toMatchObject({
      singleViewIdentifier: { email: 'customer.1@example.com' },
      change: { projectionName: 'orders', projectionIdentifier: { orderId: 10 }, data: { orderId: 10, customerId: 1 } },
      __internal__kafkaInfo: { topic: topics.orders, partition: 0, offset: 0 }
    })
  })

  it('are not emitted without a triggerTopic', async () => {
    running = await openPipeline(await loadPipeline(retailConfig), join(tempDir(), 'data'))
    await running.service.ingest(topics.customers, [retail.customer(customerRow(2))])
    await running.service.idle()
    expect((await running.service.log.offsets('retail.customer_sv.sv-trigger').catch(() => []))).toEqual([])
  })
})
