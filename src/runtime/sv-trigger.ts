/**
 * sv-trigger events: with a view's `triggerTopic`, one per rebuild a projection change causes, in
 * Mia's shape (SVTG, `messageSchema` sv-trigger v1.0.0), so consumers built for the incumbent's
 * event-driven architecture keep working. braid's own builders do not read them (they use the
 * coalescing trigger queue).
 * @module
 */
import type { Doc } from '../model/document.ts'
import { getPath } from '../model/key.ts'
import type { AppendRecord } from '../model/log-record.ts'
import type { ProjectionChange } from '../model/projection.ts'
import type { PipelineDefinition } from '../model/single-view.ts'

export const svTriggerSchema = { type: 'sv-trigger', version: 'v1.0.0' } as const

export interface TriggeredView {
  view: string
  identifier: Doc
  /** The projection change that caused the rebuild. */
  origin: ProjectionChange
}

/** sv-trigger records grouped by topic, for the views that have a `triggerTopic`. */
export function toSvTriggerRecords (pipeline: PipelineDefinition, triggered: readonly TriggeredView[]): Map<string, AppendRecord[]> {
  const out = new Map<string, AppendRecord[]>()
  const now = Date.now()
  for (const t of triggered) {
    const def = pipeline.singleViews.get(t.view)
    if (def?.svTriggerTopic === undefined) continue
    const projection = pipeline.projections.get(t.origin.projection)
    const data = t.origin.after ?? t.origin.before ?? {}
    const projectionIdentifier: Doc = {}
    for (const field of projection?.key ?? []) projectionIdentifier[field] = getPath(data, field)
    const value = {
      type: 'aggregation',
      singleViewName: def.name,
      singleViewIdentifier: t.identifier,
      change: { projectionName: t.origin.projection, projectionIdentifier, data },
      __internal__kafkaInfo: data['__internal__kafkaInfo'] ?? null
    }
    const list = out.get(def.svTriggerTopic) ?? []
    list.push({ key: JSON.stringify(t.identifier), value: JSON.stringify(value), timestamp: now, headers: { messageSchema: JSON.stringify(svTriggerSchema) } })
    out.set(def.svTriggerTopic, list)
  }
  return out
}
