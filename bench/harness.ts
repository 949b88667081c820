/**
 * Measurement primitives: wall time, CPU (process.cpuUsage), peak RSS (sampled), and the backlog and
 * paced runs of a braid service on the embedded engines.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import type { Logger } from '../src/logger.ts'
import type { PipelineDefinition } from '../src/model/single-view.ts'
import type { Engines } from '../src/runtime/engines.ts'
import { consumerLag, createService, ingestionGroup, type Service } from '../src/runtime/service.ts'
import type { TopicBatch, RetailData, Marker } from './generators.ts'
import { markersOfView } from './generators.ts'
import type { ProbeStore } from './probe-store.ts'

export interface Measured {
  wallMs: number
  /** User + system CPU of the process, ms. */
  cpuMs: number
  peakRssMiB: number
}

/** Peak RSS of the process over a phase, sampled every 25 ms (plus start and end). */
export class Meter {
  readonly #t0 = performance.now()
  readonly #cpu0 = process.cpuUsage()
  #peak = process.memoryUsage.rss()
  readonly #timer: NodeJS.Timeout

  constructor () {
    this.#timer = setInterval(() => { this.#peak = Math.max(this.#peak, process.memoryUsage.rss()) }, 25)
  }

  stop (): Measured {
    clearInterval(this.#timer)
    this.#peak = Math.max(this.#peak, process.memoryUsage.rss())
    const cpu = process.cpuUsage(this.#cpu0)
    return { wallMs: performance.now() - this.#t0, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMiB: this.#peak / 2 ** 20 }
  }
}

/**
 * Runs `fn` under the V8 CPU profiler when `dir` is set and writes `<dir>/<name>.cpuprofile`
 * (summarise it with profile-summary.js). Profiles one phase, where `node --cpu-prof` profiles the run.
 */
export async function profiled<T> (dir: string | undefined, name: string, fn: () => Promise<T>): Promise<T> {
  if (dir === undefined) return await fn()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  try {
    return await fn()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

export interface Env {
  engines: Engines
  probe: ProbeStore
  logger: Logger
}

export function serviceOf (env: Env, pipeline: PipelineDefinition): Service {
  return createService({ pipeline, engines: { store: env.probe, log: env.engines.log, ownsStore: env.engines.ownsStore }, logger: env.logger })
}

export function topicsOf (pipeline: PipelineDefinition): string[] {
  return [...new Set([...pipeline.projections.values()].map(p => p.topic))]
}

export function countEvents (batches: readonly TopicBatch[]): number {
  return batches.reduce((n, b) => n + b.messages.length, 0)
}

export interface BacklogResult {
  events: number
  /** `service.ingest` of every message (decode + map validation, then the durable log append). */
  append: Measured
  /** From start until the ingestion consumer has no lag (projections written, triggers queued). */
  projectedMs: number
  /** From start until idle: every view built, queue and outbox empty. */
  endToEnd: Measured
  /** Builds attempted (written + unchanged) and views patched. */
  rebuilds: number
  viewsWritten: number
  patched: number
}

/**
 * Appends `batches` while the pipeline is stopped, then starts it and times how long the projection
 * stage and the whole pipeline take to drain the backlog.
 */
export async function runBacklog (env: Env, pipeline: PipelineDefinition, batches: readonly TopicBatch[], timeoutMs = 30 * 60_000): Promise<BacklogResult> {
  const { service, topics, append } = await ingestBacklog(env, pipeline, batches)
  const m = new Meter()
  const t0 = performance.now()
  await service.start()
  await untilProjected(env, topics)
  const projectedMs = performance.now() - t0
  await service.idle(timeoutMs)
  const endToEnd = m.stop()
  const status = await service.status()
  await service.stop()
  const v = status.singleViews['customer_sv']
  return {
    events: countEvents(batches),
    append,
    projectedMs,
    endToEnd,
    rebuilds: buildsOf(v),
    viewsWritten: v?.written ?? 0,
    patched: v?.patched ?? 0
  }
}

/** A service of `pipeline` (not started) with `batches` appended to its topics; `append` measures the appends. */
async function ingestBacklog (env: Env, pipeline: PipelineDefinition, batches: readonly TopicBatch[]): Promise<{ service: Service, topics: string[], append: Measured }> {
  const service = serviceOf(env, pipeline)
  const topics = topicsOf(pipeline)
  await env.engines.log.ensureTopics(topics.map(name => ({ name })))
  const a = new Meter()
  for (const b of batches) await service.ingest(b.topic, b.messages)
  return { service, topics, append: a.stop() }
}

/** Resolves once the ingestion consumer group has no lag on `topics` (projections written, rebuilds queued). */
async function untilProjected (env: Env, topics: readonly string[]): Promise<void> {
  while (await consumerLag(env.engines.log, ingestionGroup, topics) !== 0) await sleep(5)
}

export interface StagedResult {
  events: number
  /** The projection stage alone (the view paused): from start until the ingestion consumer has no lag. */
  projection: Measured
  /** The view stage alone: from resuming the view until idle (every queued view built, outbox empty). */
  views: Measured
  rebuilds: number
}

/**
 * Appends `batches` while the pipeline is stopped, then runs the two stages one after the other: the
 * projection stage with `view` paused (its rebuilds stay queued), then the view stage alone once it
 * is resumed. Each stage's time and CPU is its capacity when it has the thread to itself, as when the
 * stages run as separate services (the incumbent's Real-Time Updater and Single View Creator).
 */
export async function runStaged (env: Env, pipeline: PipelineDefinition, view: string, batches: readonly TopicBatch[], timeoutMs = 30 * 60_000): Promise<StagedResult> {
  const { service, topics } = await ingestBacklog(env, pipeline, batches)
  await service.setPaused('singleView', view, true)
  const p = new Meter()
  await service.start()
  await untilProjected(env, topics)
  const projection = p.stop()
  const v = new Meter()
  await service.setPaused('singleView', view, false)
  await service.idle(timeoutMs)
  const views = v.stop()
  const status = await service.status()
  await service.stop()
  return { events: countEvents(batches), projection, views, rebuilds: buildsOf(status.singleViews[view]) }
}

/** The builds in a view's counters: written plus unchanged (failed builds are not counted). */
function buildsOf (counters: { written: number, unchanged: number } | undefined): number {
  return (counters?.written ?? 0) + (counters?.unchanged ?? 0)
}

export interface PacedResult {
  targetRate: number
  achievedRate: number
  events: number
  measured: number
  /** Events whose marker never showed in a written view (should be 0). */
  unresolved: number
  /** Latency from the scheduled send time (no coordinated omission), ms, sorted. */
  latencies: number[]
  /** Latency from the moment the append resolved, ms, sorted. */
  fromAppend: number[]
  run: Measured
}

/**
 * A paced producer at `rate` events/s for `durationS`, one marked update per event; a view is visible
 * when the store write that carries it has committed. Events of the first `warmupS` are not counted.
 * Markers start at `firstSeq`, above every marker already in the views: an older, higher marker would
 * count a new event as visible before it is.
 */
export async function runPaced (env: Env, pipeline: PipelineDefinition, data: RetailData, rate: number, durationS: number, firstSeq = 0, warmupS = 1): Promise<PacedResult> {
  const service = serviceOf(env, pipeline)
  await service.start()
  const pending = new Map<string, Array<{ seq: number, scheduled: number, appended: number }>>()
  const latencies: number[] = []
  const fromAppend: number[] = []
  const warmupSeq = firstSeq + Math.floor(rate * warmupS)
  env.probe.listener = (docs, at) => {
    for (const doc of docs) {
      markersOfView(doc, (entity, seq) => {
        const q = pending.get(entity)
        while (q !== undefined && q.length > 0 && (q[0]?.seq ?? Infinity) <= seq) {
          const e = q.shift() as { seq: number, scheduled: number, appended: number }
          if (e.seq >= warmupSeq) {
            latencies.push(at - e.scheduled)
            fromAppend.push(at - e.appended)
          }
        }
        if (q !== undefined && q.length === 0) pending.delete(entity)
      })
    }
  }
  const total = Math.floor(rate * durationS)
  const m = new Meter()
  const start = performance.now()
  let seq = 0
  while (seq < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / 1000 * rate))
    if (due <= seq) {
      // The producer lingers like a CDC connector's client (Kafka linger.ms): what is due within
      // 10 ms goes in one append per topic. Latency still counts from each event's scheduled time.
      await sleep(lingerMs)
      continue
    }
    const byTopic = new Map<string, Array<{ message: TopicBatch['messages'][number], marker: Marker, scheduled: number }>>()
    for (; seq < due && seq < total; seq++) {
      const e = data.markedEvent(firstSeq + seq)
      const list = byTopic.get(e.topic) ?? []
      list.push({ message: e.message, marker: e.marker, scheduled: start + seq * 1000 / rate })
      byTopic.set(e.topic, list)
    }
    for (const [topic, list] of byTopic) {
      await service.ingest(topic, list.map(l => l.message))
      const appended = performance.now()
      for (const l of list) {
        const q = pending.get(l.marker.entity) ?? []
        q.push({ seq: l.marker.seq, scheduled: l.scheduled, appended })
        pending.set(l.marker.entity, q)
      }
    }
  }
  const sentMs = performance.now() - start
  await service.idle(10 * 60_000)
  const run = m.stop()
  env.probe.listener = undefined
  await service.stop()
  let unresolved = 0
  for (const q of pending.values()) unresolved += q.filter(e => e.seq >= warmupSeq).length
  latencies.sort((x, y) => x - y)
  fromAppend.sort((x, y) => x - y)
  return { targetRate: rate, achievedRate: total / (sentMs / 1000), events: total, measured: latencies.length, unresolved, latencies, fromAppend, run }
}

/** How long the paced producer gathers due events before appending them. */
export const lingerMs = 10

export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[i] as number
}
