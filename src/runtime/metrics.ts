/**
 * In-process counters of every stage, read by `/-/status` (and by `/-/metrics` once it lands).
 * @module
 */
import type { PipelineDefinition } from '../model/single-view.ts'
import type { ServiceStatus, StageCounters, ViewCounters } from './types.ts'

export class Metrics {
  readonly projections = new Map<string, StageCounters>()
  readonly views = new Map<string, Omit<ViewCounters, 'queued'>>()

  constructor (pipeline: PipelineDefinition) {
    for (const p of pipeline.projections.keys()) this.projections.set(p, { consumed: 0, applied: 0, stale: 0, duplicates: 0, deadLettered: 0 })
    for (const v of pipeline.singleViews.keys()) this.views.set(v, { written: 0, unchanged: 0, deleted: 0, failed: 0, patched: 0, lastFreshnessMs: null })
    this.#topics = new Map([...pipeline.projections.values()].map(p => [p.name, p.topic]))
  }

  #topics: Map<string, string>

  projection (name: string): StageCounters {
    const c = this.projections.get(name)
    if (c === undefined) throw new RangeError(`unknown projection ${name}`)
    return c
  }

  view (name: string): Omit<ViewCounters, 'queued'> {
    const c = this.views.get(name)
    if (c === undefined) throw new RangeError(`unknown single view ${name}`)
    return c
  }

  status (input: { ready: boolean, startedAt: string, store: string, eventLog: string, lags: Map<string, number>, queued: Map<string, number> }): ServiceStatus {
    const projections: ServiceStatus['projections'] = {}
    for (const [name, c] of this.projections) {
      const topic = this.#topics.get(name) ?? ''
      projections[name] = { ...c, topic, lag: input.lags.get(topic) ?? 0 }
    }
    const singleViews: ServiceStatus['singleViews'] = {}
    for (const [name, c] of this.views) singleViews[name] = { ...c, queued: input.queued.get(name) ?? 0 }
    return { ready: input.ready, startedAt: input.startedAt, store: input.store, eventLog: input.eventLog, projections, singleViews }
  }
}
