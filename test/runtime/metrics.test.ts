import { describe, expect, it } from 'vitest'
import { escapeLabelValue, freshnessBuckets, Histogram, Metrics, type ScrapeInput } from '../../src/runtime/metrics.ts'
import { version } from '../../src/version.ts'
import { mustValue, parseExposition, valueOf } from './metrics-exposition.ts'

const noPause = { projections: {}, singleViews: {} }
const idle: ScrapeInput = { ready: true, lags: new Map(), queued: new Map(), outboxPending: 0, control: noPause, workers: 1 }

/** Every family braid exports, with its type. */
const families: Record<string, string> = {
  braid_up: 'gauge',
  braid_ready: 'gauge',
  braid_info: 'gauge',
  braid_projection_consumed_total: 'counter',
  braid_projection_events_total: 'counter',
  braid_view_builds_total: 'counter',
  braid_errors_total: 'counter',
  braid_trigger_queue_depth: 'gauge',
  braid_consumer_lag: 'gauge',
  braid_outbox_pending: 'gauge',
  braid_projection_paused: 'gauge',
  braid_view_paused: 'gauge',
  braid_workers: 'gauge',
  braid_view_freshness_seconds: 'histogram',
  braid_build_round_seconds: 'histogram',
  braid_ingest_batch_seconds: 'histogram',
  process_resident_memory_bytes: 'gauge',
  process_cpu_seconds_total: 'counter',
  process_start_time_seconds: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge'
}

function layout (projections: Record<string, string>, views: string[]): ConstructorParameters<typeof Metrics>[0] {
  return {
    projections: new Map(Object.entries(projections).map(([name, topic]) => [name, { topic }])),
    singleViews: new Map(views.map(v => [v, null]))
  }
}

describe('Histogram', () => {
  it('counts each observation in the first bucket whose bound is at least the value, cumulatively at read time', () => {
    const h = new Histogram([0.1, 1, 10])
    for (const v of [0.05, 0.1, 0.5, 1, 5, 50, -3]) h.observe(v)
    expect(h.cumulative()).toEqual([3, 5, 6, 7])
    expect(h.count).toBe(7)
    // A negative value (source clock ahead) counts as 0.
    expect(h.sum).toBeCloseTo(0.05 + 0.1 + 0.5 + 1 + 5 + 50)
  })

  it('estimates quantiles as histogram_quantile does: linear inside the bucket, the last finite bound beyond it', () => {
    const h = new Histogram([1, 2, 4])
    expect(h.quantile(0.5)).toBeNull()
    for (let i = 0; i < 10; i++) h.observe(0.5)
    for (let i = 0; i < 10; i++) h.observe(3)
    // rank 10 of 20: the end of the first bucket.
    expect(h.quantile(0.5)).toBeCloseTo(1)
    // rank 15: halfway through (2, 4].
    expect(h.quantile(0.75)).toBeCloseTo(3)
    // rank 2: a fifth of (0, 1].
    expect(h.quantile(0.1)).toBeCloseTo(0.2)
    h.observe(100)
    expect(h.quantile(1)).toBe(4)
  })

  it('rejects bounds that do not increase', () => {
    expect(() => new Histogram([1, 1])).toThrow(RangeError)
  })
})

describe('Metrics exposition', () => {
  it('writes every family once, HELP then TYPE then its samples, in a format a strict parser accepts', () => {
    const m = new Metrics(layout({ customers: 'crm.customers', orders: 'shop.orders' }, ['customer_sv']))
    const parsed = parseExposition(m.exposition(idle))
    expect(Object.fromEntries([...parsed.values()].map(f => [f.name, f.type]))).toEqual(families)
    for (const f of parsed.values()) expect(f.help.length).toBeGreaterThan(10)
    expect(mustValue(parsed, 'braid_up')).toBe(1)
    expect(mustValue(parsed, 'braid_ready')).toBe(1)
    expect(mustValue(parsed, 'braid_info', { version })).toBe(1)
    expect(mustValue(parsed, 'braid_projection_events_total', { projection: 'orders', result: 'dead_lettered' })).toBe(0)
    expect(mustValue(parsed, 'braid_consumer_lag', { topic: 'shop.orders' })).toBe(0)
    expect(mustValue(parsed, 'braid_errors_total', { code: 'BRAID_DECODE_FAILED' })).toBe(0)
    const buckets = parsed.get('braid_view_freshness_seconds')?.samples.filter(s => s.name.endsWith('_bucket')).map(s => s.labels['le'])
    expect(buckets).toEqual([...freshnessBuckets.map(String), '+Inf'])
    expect(mustValue(parsed, 'process_resident_memory_bytes')).toBeGreaterThan(1e6)
    expect(mustValue(parsed, 'process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000)
    expect(mustValue(parsed, 'process_start_time_seconds')).toBeGreaterThan(Date.now() / 1000 - 3600)
    expect(mustValue(parsed, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(mustValue(parsed, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0)
  })

  it('escapes backslashes, double quotes and line feeds in label values so they read back unchanged', () => {
    const projection = 'we"ird\\name\nline'
    const topic = 'topic "quoted" \\ back\\slash'
    const view = 'view\\"\n'
    expect(escapeLabelValue(projection)).toBe('we\\"ird\\\\name\\nline')
    const m = new Metrics(layout({ [projection]: topic }, [view]))
    m.projection(projection).consumed = 3
    m.observeFreshness(view, 20)
    const text = m.exposition({ ready: false, lags: new Map([[topic, 7]]), queued: new Map([[view, 2]]), outboxPending: 1, control: noPause, workers: 1 })
    // One sample per line: no raw line feed inside a label value.
    expect(text.split('\n').filter(l => l.includes('braid_projection_consumed_total{'))).toHaveLength(1)
    const parsed = parseExposition(text)
    expect(mustValue(parsed, 'braid_projection_consumed_total', { projection })).toBe(3)
    expect(mustValue(parsed, 'braid_consumer_lag', { topic })).toBe(7)
    expect(mustValue(parsed, 'braid_trigger_queue_depth', { view })).toBe(2)
    expect(mustValue(parsed, 'braid_view_freshness_seconds_count', { view })).toBe(1)
    expect(mustValue(parsed, 'braid_view_freshness_seconds_bucket', { view, le: '0.025' })).toBe(1)
    expect(mustValue(parsed, 'braid_view_freshness_seconds_bucket', { view, le: '0.01' })).toBe(0)
    expect(mustValue(parsed, 'braid_ready')).toBe(0)
    expect(mustValue(parsed, 'braid_outbox_pending')).toBe(1)
  })

  it('splits view outcomes so they sum to the builds: written excludes deleted views', () => {
    const m = new Metrics(layout({ customers: 'crm.customers' }, ['customer_sv']))
    Object.assign(m.view('customer_sv'), { written: 5, deleted: 2, unchanged: 4, failed: 1, patched: 3 })
    const parsed = parseExposition(m.exposition(idle))
    const result = (r: string): number => mustValue(parsed, 'braid_view_builds_total', { view: 'customer_sv', result: r })
    expect([result('written'), result('deleted'), result('unchanged'), result('failed'), result('patched')]).toEqual([3, 2, 4, 1, 3])
  })

  it('counts errors by code, codes seen at runtime from 0 and others from their first occurrence, sorted', () => {
    const m = new Metrics(layout({ customers: 'crm.customers' }, ['customer_sv']))
    m.error('BRAID_DECODE_FAILED')
    m.error('BRAID_DECODE_FAILED')
    m.error('BRAID_STRATEGY_FAILED')
    const parsed = parseExposition(m.exposition(idle))
    expect(mustValue(parsed, 'braid_errors_total', { code: 'BRAID_DECODE_FAILED' })).toBe(2)
    expect(mustValue(parsed, 'braid_errors_total', { code: 'BRAID_STRATEGY_FAILED' })).toBe(1)
    expect(mustValue(parsed, 'braid_errors_total', { code: 'BRAID_AGGREGATION_FAILED' })).toBe(0)
    expect(valueOf(parsed, 'braid_errors_total', { code: 'BRAID_USAGE' })).toBeUndefined()
    const codes = parsed.get('braid_errors_total')?.samples.map(s => s.labels['code'] ?? '') ?? []
    expect(codes).toEqual([...codes].sort())
  })

  it('reports the freshness p50 and p99 in /-/status next to the last value, null before any write', () => {
    const m = new Metrics(layout({ customers: 'crm.customers' }, ['customer_sv']))
    expect(m.status({ ready: true, startedAt: '', store: 's', eventLog: 'l', lags: new Map(), queued: new Map(), control: noPause, workers: [] }).singleViews['customer_sv'])
      .toMatchObject({ lastFreshnessMs: null, freshnessP50Ms: null, freshnessP99Ms: null })
    for (let i = 0; i < 98; i++) m.observeFreshness('customer_sv', 3)
    m.observeFreshness('customer_sv', 40)
    m.observeFreshness('customer_sv', 7)
    const status = m.status({ ready: true, startedAt: '', store: 's', eventLog: 'l', lags: new Map(), queued: new Map([['customer_sv', 4]]), control: noPause, workers: [] }).singleViews['customer_sv']
    expect(status?.lastFreshnessMs).toBe(7)
    expect(status?.queued).toBe(4)
    // 98 of 100 in (2.5 ms, 5 ms]: the median interpolates inside that bucket.
    expect(status?.freshnessP50Ms).toBeGreaterThan(2.5)
    expect(status?.freshnessP50Ms).toBeLessThanOrEqual(5)
    // rank 99 is the one in (5 ms, 10 ms].
    expect(status?.freshnessP99Ms).toBe(10)
  })

  it('reports the event-loop delay p99 since the previous scrape, beyond the sampling interval', async () => {
    const m = new Metrics(layout({ customers: 'crm.customers' }, ['customer_sv']))
    m.exposition(idle)
    await new Promise(resolve => setTimeout(resolve, 50))
    const quiet = mustValue(parseExposition(m.exposition(idle)), 'nodejs_eventloop_lag_seconds')
    expect(quiet).toBeLessThan(0.1)
    // The monitor restarts its interval after a scrape: let it tick, block the loop for 250 ms, then let it record the late tick.
    await new Promise(resolve => setTimeout(resolve, 30))
    const until = Date.now() + 250
    while (Date.now() < until) { /* busy */ }
    await new Promise(resolve => setTimeout(resolve, 30))
    expect(mustValue(parseExposition(m.exposition(idle)), 'nodejs_eventloop_lag_seconds')).toBeGreaterThan(0.2)
  })
})
