import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/logger.ts'
import { identifierFromBase, viewId } from '../../src/single-view/key.ts'
import { Outbox } from '../../src/runtime/outbox.ts'
import { customerRow, customerView, openPipeline, retail, retailConfig, tempDir, topics, type Running } from './harness.ts'
import { mustValue, parseExposition, type Family } from './metrics-exposition.ts'

let running: Running | undefined

afterEach(async () => {
  await running?.close()
  running = undefined
})

async function scrape (r: Running): Promise<Map<string, Family>> {
  return parseExposition(await r.service.metrics())
}

const projection = (families: Map<string, Family>, name: string, result: string): number =>
  mustValue(families, 'braid_projection_events_total', { projection: name, result })
const builds = (families: Map<string, Family>, result: string): number =>
  mustValue(families, 'braid_view_builds_total', { view: 'customer_sv', result })

describe('/-/metrics of a running pipeline', () => {
  it('moves the projection, view, freshness and duration series as retail messages flow through', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { service } = running
    const before = await scrape(running)
    expect(mustValue(before, 'braid_ready')).toBe(1)
    expect(mustValue(before, 'braid_view_freshness_seconds_count', { view: 'customer_sv' })).toBe(0)

    const ada = customerRow(1, { email: 'ada@example.com', tier_code: 'gold' })
    const adaCreated = retail.customer(ada)
    await service.ingest(topics.tiers, [retail.tier('gold', 'Gold', 10)])
    await service.ingest(topics.customers, [adaCreated, retail.customer(customerRow(2)), retail.customer(customerRow(3))])
    await service.ingest(topics.orders, [retail.order(100, 1, '52.50'), retail.order(101, 2, '10.00')])
    await service.ingest(topics.orderLines, [retail.line(100, 1, 'SKU-1', 2, 26.25)])
    await service.ingest(topics.preferences, [retail.preferences('ada@example.com', true)])
    await service.idle()
    // The same event again is a duplicate; a customer deleted deletes the view.
    await service.ingest(topics.customers, [adaCreated, retail.deleteCustomer(customerRow(3))])
    await service.idle()
    expect(await customerView(service, 'ada@example.com')).toBeDefined()

    const after = await scrape(running)
    expect(mustValue(after, 'braid_projection_consumed_total', { projection: 'customers' })).toBe(5)
    expect(projection(after, 'customers', 'applied')).toBe(4)
    expect(projection(after, 'customers', 'duplicate')).toBe(1)
    expect(projection(after, 'customers', 'dead_lettered')).toBe(0)
    expect(mustValue(after, 'braid_projection_consumed_total', { projection: 'orders' })).toBe(2)
    expect(projection(after, 'order_lines', 'applied')).toBe(1)
    expect(projection(after, 'preferences', 'applied')).toBe(1)

    const status = (await service.status()).singleViews['customer_sv']
    if (status === undefined) throw new Error('no status of customer_sv')
    expect(builds(after, 'written')).toBeGreaterThanOrEqual(3)
    expect(builds(after, 'deleted')).toBe(1)
    expect(builds(after, 'failed')).toBe(0)
    // /-/status counts deletes among the written views; the histogram observes each of them once.
    expect(builds(after, 'written') + builds(after, 'deleted')).toBe(status.written)
    expect(builds(after, 'unchanged')).toBe(status.unchanged)
    expect(mustValue(after, 'braid_view_freshness_seconds_count', { view: 'customer_sv' })).toBe(status.written)
    expect(mustValue(after, 'braid_view_freshness_seconds_sum', { view: 'customer_sv' })).toBeGreaterThan(0)
    expect(status.lastFreshnessMs).not.toBeNull()
    expect(status.freshnessP50Ms).toBeGreaterThan(0)
    expect(status.freshnessP99Ms).toBeGreaterThanOrEqual(status.freshnessP50Ms ?? Infinity)

    expect(mustValue(after, 'braid_build_round_seconds_count')).toBeGreaterThan(0)
    // Six ingest calls, at least one batch each (a batch holds one topic partition).
    expect(mustValue(after, 'braid_ingest_batch_seconds_count')).toBeGreaterThanOrEqual(6)
    expect(mustValue(after, 'braid_errors_total', { code: 'BRAID_DECODE_FAILED' })).toBe(0)
    expect(mustValue(after, 'braid_consumer_lag', { topic: topics.customers })).toBe(0)
    expect(mustValue(after, 'braid_trigger_queue_depth', { view: 'customer_sv' })).toBe(0)
  })

  it('counts a dead letter under braid_errors_total{code="BRAID_DECODE_FAILED"}', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const { service } = running
    await service.log.append(topics.customers, [
      { key: '{"customer_id":9}', value: '{"op":"c","after":{"customer_id":9', headers: {} },
      { key: JSON.stringify({ customer_id: 10 }), value: JSON.stringify(retail.customer(customerRow(10)).value), headers: {} }
    ])
    await service.idle()
    const families = await scrape(running)
    expect(mustValue(families, 'braid_errors_total', { code: 'BRAID_DECODE_FAILED' })).toBe(1)
    expect(projection(families, 'customers', 'dead_lettered')).toBe(1)
    expect(projection(families, 'customers', 'applied')).toBe(1)
    expect((await service.status()).projections['customers']?.deadLettered).toBe(1)
  })

  it('reports queue depth, consumer lag and outbox backlog while stopped with pending input, and 0 once idle', async () => {
    const dir = tempDir()
    // A first run creates the topics and collections; then the pipeline is down.
    await (await openPipeline(retailConfig, dir)).close()
    running = await openPipeline(retailConfig, dir, { start: false })
    const { service, pipeline } = running
    const def = pipeline.singleViews.get('customer_sv')
    if (def === undefined) throw new Error('no customer_sv')

    await service.ingest(topics.customers, [1, 2, 3].map(id => retail.customer(customerRow(id))))
    await service.ingest(topics.orders, [retail.order(100, 1, '5.00')])
    // A rebuild left queued and an event left in the outbox by the previous run.
    const identifier = identifierFromBase(def, { email: 'customer.1@example.com' })
    if (identifier === null) throw new Error('no identifier')
    await service.store.write({ enqueue: [{ view: 'customer_sv', id: viewId(def, identifier), identifier, eventTime: Date.now() }] })
    const outbox = new Outbox(service.store, service.log, silentLogger())
    await service.store.write({ outbox: outbox.entries([[def.svUpdateTopic, [{ key: null, value: '{}', timestamp: Date.now(), headers: {} }]]]) })

    const stopped = await scrape(running)
    expect(mustValue(stopped, 'braid_ready')).toBe(0)
    expect(mustValue(stopped, 'braid_consumer_lag', { topic: topics.customers })).toBe(3)
    expect(mustValue(stopped, 'braid_consumer_lag', { topic: topics.orders })).toBe(1)
    expect(mustValue(stopped, 'braid_consumer_lag', { topic: topics.tiers })).toBe(0)
    expect(mustValue(stopped, 'braid_trigger_queue_depth', { view: 'customer_sv' })).toBe(1)
    expect(mustValue(stopped, 'braid_outbox_pending')).toBe(1)
    expect((await service.status()).singleViews['customer_sv']?.queued).toBe(1)

    await service.start()
    await service.idle()
    const idle = await scrape(running)
    expect(mustValue(idle, 'braid_ready')).toBe(1)
    for (const topic of Object.values(topics)) expect(mustValue(idle, 'braid_consumer_lag', { topic })).toBe(0)
    expect(mustValue(idle, 'braid_trigger_queue_depth', { view: 'customer_sv' })).toBe(0)
    expect(mustValue(idle, 'braid_outbox_pending')).toBe(0)
    expect(mustValue(idle, 'braid_view_freshness_seconds_count', { view: 'customer_sv' })).toBe(3)
  })
})
