/**
 * In-process counters and histograms of every stage, read by `/-/status` (JSON) and `/-/metrics`
 * (Prometheus text exposition format 0.0.4, written here without a client library).
 *
 * Hot paths only bump numbers: stage counters are plain object fields, histograms increment one slot
 * of a preallocated array, and every label set is escaped once, when the pipeline is loaded. Gauges
 * (queue depth, consumer lag, outbox) are read from the store and the log at scrape time.
 * docs/observability.md documents every metric.
 * @module
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { ErrorCode } from '../errors.ts'
import { version } from '../version.ts'
import type { ServiceStatus, StageCounters, ViewCounters } from './types.ts'
import type { ControlState } from './control.ts'
import type { WorkerInfo } from './workers.ts'

/** Source event time → view written, seconds. */
export const freshnessBuckets: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/** Duration of a build round or an ingestion batch, seconds. */
export const durationBuckets: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Codes exported at 0 from the start, so that the first occurrence is a visible increase. */
const runtimeErrorCodes: readonly ErrorCode[] = [
  'BRAID_DECODE_FAILED', 'BRAID_KEY_MISSING', 'BRAID_CAST_FAILED', 'BRAID_AGGREGATION_FAILED',
  'BRAID_VALIDATOR_FAILED', 'BRAID_PATCH_FAILED', 'BRAID_INTERNAL'
]

/** The names `Metrics` labels series with; a `PipelineDefinition` is one. */
export interface MetricsLayout {
  readonly projections: ReadonlyMap<string, { readonly topic: string }>
  readonly singleViews: ReadonlyMap<string, unknown>
}

/** What `/-/status` counts per view; `queued` and the freshness quantiles are added when read. */
export type ViewStageCounters = Omit<ViewCounters, 'queued' | 'freshnessP50Ms' | 'freshnessP99Ms' | 'paused'>

/** What `/-/status` counts per projection; `paused` is added when read. */
export type ProjectionStageCounters = Omit<StageCounters, 'paused'>

/** Scrape-time gauges, read from the store and the log by the service. */
export interface ScrapeInput {
  ready: boolean
  /** Ingestion topic → records appended and not yet consumed by the projection stage. */
  lags: ReadonlyMap<string, number>
  /** Single view → entries in the trigger queue. */
  queued: ReadonlyMap<string, number>
  /** Events in the outbox not yet relayed to the log. */
  outboxPending: number
  /** Pause state per projection and view. */
  control: ControlState
  /** Live workers sharing the store. */
  workers: number
}

/** A Prometheus histogram with fixed upper bounds; observing increments one slot, nothing is allocated. */
export class Histogram {
  readonly bounds: Float64Array
  /** Per bucket (not cumulative); the last slot is the +Inf bucket. */
  readonly #counts: Float64Array
  count = 0
  sum = 0

  constructor (bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] ?? 0) > (bounds[i - 1] ?? 0))) throw new RangeError('histogram bounds must increase')
    }
    this.bounds = Float64Array.from(bounds)
    this.#counts = new Float64Array(bounds.length + 1)
  }

  /** Records one value; negative values (a clock behind the source's) count as 0. */
  observe (value: number): void {
    const v = value > 0 ? value : 0
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && v > (bounds[i] as number)) i++
    this.#counts[i] = (this.#counts[i] as number) + 1
    this.count++
    this.sum += v
  }

  /** Cumulative counts per bound, then the +Inf bucket (equal to `count`). */
  cumulative (): number[] {
    const out: number[] = []
    let total = 0
    for (const c of this.#counts) {
      total += c
      out.push(total)
    }
    return out
  }

  /**
   * The q-quantile estimated as Prometheus' `histogram_quantile` does: linear interpolation inside the
   * bucket holding the rank (the first bucket starts at 0); the highest finite bound when the rank falls
   * in +Inf. Null before any observation.
   */
  quantile (q: number): number | null {
    if (this.count === 0) return null
    const rank = Math.min(Math.max(q, 0), 1) * this.count
    let below = 0
    for (let i = 0; i < this.#counts.length; i++) {
      const inBucket = this.#counts[i] as number
      if (inBucket > 0 && below + inBucket >= rank) {
        if (i === this.bounds.length) return this.bounds[i - 1] ?? 0
        const lower = i === 0 ? 0 : this.bounds[i - 1] as number
        const upper = this.bounds[i] as number
        return lower + (upper - lower) * ((rank - below) / inBucket)
      }
      below += inBucket
    }
    return this.bounds[this.bounds.length - 1] ?? 0
  }
}

export class Metrics {
  readonly projections = new Map<string, ProjectionStageCounters>()
  readonly views = new Map<string, ViewStageCounters>()
  /** Wall time of each build round that claimed entries. */
  readonly buildRound = new Histogram(durationBuckets)
  /** Wall time of each ingestion batch handled (decode → store write). */
  readonly ingestBatch = new Histogram(durationBuckets)
  readonly #freshness = new Map<string, Histogram>()
  readonly #errors = new Map<string, number>()
  readonly #topics = new Map<string, string>()
  /** Escaped label pairs, computed once: `projection="…"`, `view="…"`, `topic="…"`. */
  readonly #projectionLabel = new Map<string, string>()
  readonly #viewLabel = new Map<string, string>()

  constructor (layout: MetricsLayout) {
    for (const [name, p] of layout.projections) {
      this.projections.set(name, { consumed: 0, applied: 0, stale: 0, duplicates: 0, deadLettered: 0 })
      this.#topics.set(name, p.topic)
      this.#projectionLabel.set(name, label('projection', name))
    }
    for (const name of layout.singleViews.keys()) {
      this.views.set(name, { written: 0, unchanged: 0, deleted: 0, failed: 0, patched: 0, lastFreshnessMs: null })
      this.#freshness.set(name, new Histogram(freshnessBuckets))
      this.#viewLabel.set(name, label('view', name))
    }
    for (const code of runtimeErrorCodes) this.#errors.set(code, 0)
  }

  projection (name: string): ProjectionStageCounters {
    const c = this.projections.get(name)
    if (c === undefined) throw new RangeError(`unknown projection ${name}`)
    return c
  }

  view (name: string): ViewStageCounters {
    const c = this.views.get(name)
    if (c === undefined) throw new RangeError(`unknown single view ${name}`)
    return c
  }

  /** The freshness histogram of a view (seconds). */
  freshness (name: string): Histogram {
    const h = this.#freshness.get(name)
    if (h === undefined) throw new RangeError(`unknown single view ${name}`)
    return h
  }

  /** A view was written `ms` after the source event that triggered it. */
  observeFreshness (view: string, ms: number): void {
    this.freshness(view).observe(ms / 1000)
    this.view(view).lastFreshnessMs = ms
  }

  /** One dead letter, failed build or failed patch, by its BraidError code. */
  error (code: ErrorCode): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1)
  }

  /** Occurrences per error code so far. */
  errors (): ReadonlyMap<string, number> {
    return this.#errors
  }

  status (input: { ready: boolean, startedAt: string, store: string, eventLog: string, lags: ReadonlyMap<string, number>, queued: ReadonlyMap<string, number>, control: ControlState, workers: WorkerInfo[] }): ServiceStatus {
    const projections: ServiceStatus['projections'] = {}
    for (const [name, c] of this.projections) {
      const topic = this.#topics.get(name) ?? ''
      projections[name] = { ...c, topic, lag: input.lags.get(topic) ?? 0, paused: input.control.projections[name]?.paused ?? false }
    }
    const singleViews: ServiceStatus['singleViews'] = {}
    for (const [name, c] of this.views) {
      const h = this.freshness(name)
      singleViews[name] = { ...c, queued: input.queued.get(name) ?? 0, freshnessP50Ms: toMs(h.quantile(0.5)), freshnessP99Ms: toMs(h.quantile(0.99)), paused: input.control.singleViews[name]?.paused ?? false }
    }
    return { ready: input.ready, startedAt: input.startedAt, store: input.store, eventLog: input.eventLog, projections, singleViews, workers: input.workers }
  }

  /** Every metric in the Prometheus text exposition format 0.0.4. */
  exposition (input: ScrapeInput): string {
    const out = new Exposition()

    out.family('braid_up', 'gauge', 'Always 1 while braid answers scrapes.')
    out.sample('braid_up', '', 1)
    out.family('braid_ready', 'gauge', '1 while the pipeline consumes (GET /-/ready answers 200), else 0.')
    out.sample('braid_ready', '', input.ready ? 1 : 0)
    out.family('braid_info', 'gauge', 'Always 1; the version label is the running braid version.')
    out.sample('braid_info', label('version', version), 1)

    out.family('braid_projection_consumed_total', 'counter', 'Source messages consumed by the projection stage, per projection.')
    for (const [name, c] of this.projections) out.sample('braid_projection_consumed_total', this.#projectionLabel.get(name) ?? '', c.consumed)
    out.family('braid_projection_events_total', 'counter', 'Projection stage outcomes per projection: applied (record written), stale (older than the stored record), duplicate (equal to it), dead_lettered (set aside).')
    for (const [name, c] of this.projections) {
      const l = this.#projectionLabel.get(name) ?? ''
      out.sample('braid_projection_events_total', `${l},result="applied"`, c.applied)
      out.sample('braid_projection_events_total', `${l},result="stale"`, c.stale)
      out.sample('braid_projection_events_total', `${l},result="duplicate"`, c.duplicates)
      out.sample('braid_projection_events_total', `${l},result="dead_lettered"`, c.deadLettered)
    }

    out.family('braid_view_builds_total', 'counter', 'Single view outcomes per view: written (inserted or updated), deleted, unchanged, failed (recorded in sv-errors, retried), patched (Single View Patch).')
    for (const [name, c] of this.views) {
      const l = this.#viewLabel.get(name) ?? ''
      out.sample('braid_view_builds_total', `${l},result="written"`, c.written - c.deleted)
      out.sample('braid_view_builds_total', `${l},result="deleted"`, c.deleted)
      out.sample('braid_view_builds_total', `${l},result="unchanged"`, c.unchanged)
      out.sample('braid_view_builds_total', `${l},result="failed"`, c.failed)
      out.sample('braid_view_builds_total', `${l},result="patched"`, c.patched)
    }

    out.family('braid_errors_total', 'counter', 'Dead letters, failed view builds and failed patches, by BraidError code.')
    for (const code of [...this.#errors.keys()].sort()) out.sample('braid_errors_total', label('code', code), this.#errors.get(code) ?? 0)

    out.family('braid_trigger_queue_depth', 'gauge', 'View rebuilds waiting in the trigger queue (due, backing off or being built), per view.')
    for (const name of this.views.keys()) out.sample('braid_trigger_queue_depth', this.#viewLabel.get(name) ?? '', input.queued.get(name) ?? 0)
    out.family('braid_consumer_lag', 'gauge', 'Records appended to an ingestion topic and not yet consumed by the projection stage.')
    for (const topic of [...new Set(this.#topics.values())].sort()) out.sample('braid_consumer_lag', label('topic', topic), input.lags.get(topic) ?? 0)
    out.family('braid_outbox_pending', 'gauge', 'sv-update and pr-update events written to the outbox and not yet appended to the log.')
    out.sample('braid_outbox_pending', '', input.outboxPending)
    out.family('braid_projection_paused', 'gauge', '1 while a projection\'s consumption is paused (by itself or with another projection of its topic), else 0.')
    for (const name of this.projections.keys()) out.sample('braid_projection_paused', this.#projectionLabel.get(name) ?? '', input.control.projections[name]?.paused === true ? 1 : 0)
    out.family('braid_view_paused', 'gauge', '1 while building a single view is paused (changes queue up), else 0.')
    for (const name of this.views.keys()) out.sample('braid_view_paused', this.#viewLabel.get(name) ?? '', input.control.singleViews[name]?.paused === true ? 1 : 0)
    out.family('braid_workers', 'gauge', 'Live workers sharing the store (each builds its share of the trigger queue partitions).')
    out.sample('braid_workers', '', input.workers)

    out.family('braid_view_freshness_seconds', 'histogram', 'Source event time to view written, per written (or deleted) view.')
    for (const [name, h] of this.#freshness) out.histogram('braid_view_freshness_seconds', this.#viewLabel.get(name) ?? '', h)
    out.family('braid_build_round_seconds', 'histogram', 'Duration of a view build round that claimed entries (claim, aggregate, write).')
    out.histogram('braid_build_round_seconds', '', this.buildRound)
    out.family('braid_ingest_batch_seconds', 'histogram', 'Duration of an ingestion batch (decode, map, apply, enqueue, one store write).')
    out.histogram('braid_ingest_batch_seconds', '', this.ingestBatch)

    const p = processSample()
    out.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.')
    out.sample('process_resident_memory_bytes', '', p.residentBytes)
    out.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.')
    out.sample('process_cpu_seconds_total', '', p.cpuSeconds)
    out.family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.')
    out.sample('process_start_time_seconds', '', p.startTimeSeconds)
    out.family('nodejs_eventloop_lag_seconds', 'gauge', 'Event loop delay beyond the 10 ms sampling interval, 99th percentile since the previous scrape.')
    out.sample('nodejs_eventloop_lag_seconds', '', p.eventLoopLagSeconds)

    return out.text()
  }
}

/** `name="value"` with the value escaped as the text format requires (backslash, double quote, line feed). */
export function label (name: string, value: string): string {
  return `${name}="${escapeLabelValue(value)}"`
}

export function escapeLabelValue (value: string): string {
  return value.replace(/[\\"\n]/g, c => c === '\n' ? '\\n' : `\\${c}`)
}

function escapeHelp (text: string): string {
  return text.replace(/[\\\n]/g, c => c === '\n' ? '\\n' : '\\\\')
}

/** A sample value: Go float syntax (`+Inf`, `-Inf`, `NaN`); JavaScript's shortest form is valid otherwise. */
function formatValue (v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

class Exposition {
  readonly #lines: string[] = []

  family (name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
  }

  sample (name: string, labels: string, value: number): void {
    this.#lines.push(labels === '' ? `${name} ${formatValue(value)}` : `${name}{${labels}} ${formatValue(value)}`)
  }

  histogram (name: string, labels: string, h: Histogram): void {
    const prefix = labels === '' ? '' : `${labels},`
    const cumulative = h.cumulative()
    h.bounds.forEach((bound, i) => this.sample(`${name}_bucket`, `${prefix}le="${formatValue(bound)}"`, cumulative[i] ?? 0))
    this.sample(`${name}_bucket`, `${prefix}le="+Inf"`, h.count)
    this.sample(`${name}_sum`, labels, h.sum)
    this.sample(`${name}_count`, labels, h.count)
  }

  text (): string {
    return `${this.#lines.join('\n')}\n`
  }
}

function toMs (seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds * 1e6) / 1e3
}

// ---------------------------------------------------------------- process metrics

const eventLoopResolutionMs = 10
const processStartSeconds = (Date.now() - process.uptime() * 1000) / 1000
/** One monitor per process, created on the first scrape; its timer does not keep the process alive. */
let eventLoop: IntervalHistogram | undefined
let lastEventLoopLag = 0

interface ProcessSample {
  residentBytes: number
  cpuSeconds: number
  startTimeSeconds: number
  eventLoopLagSeconds: number
}

function processSample (): ProcessSample {
  if (eventLoop === undefined) {
    eventLoop = monitorEventLoopDelay({ resolution: eventLoopResolutionMs })
    // Sampled from now on: the first scrape reports 0.
    eventLoop.enable()
  } else if (eventLoop.count > 0) {
    // The monitor records whole sampling intervals; the lag is what exceeds the resolution.
    lastEventLoopLag = Math.max(0, eventLoop.percentile(99) / 1e9 - eventLoopResolutionMs / 1000)
    eventLoop.reset()
  }
  const cpu = process.cpuUsage()
  return {
    residentBytes: process.memoryUsage.rss(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    startTimeSeconds: processStartSeconds,
    eventLoopLagSeconds: lastEventLoopLag
  }
}
