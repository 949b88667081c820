/**
 * sv-update events: one per single-view write, in Mia's v2.0.0 shape (the same envelope as
 * pr-update v2), so a view can drive another view (chaining) and Mia consumers keep working. A view's
 * `updateEvents` leaves out before and after (`key`) or the events themselves (`none`).
 * @module
 */
import { withIsoDates, type Doc } from '../model/document.ts'
import type { AppendRecord } from '../model/log-record.ts'
import type { PipelineDefinition } from '../model/single-view.ts'

export interface SvUpdateEvent {
  view: string
  /** The view key (`{ viewField: value }`). */
  key: Doc
  operation: 'INSERT' | 'UPDATE' | 'DELETE'
  before: Doc | null
  after: Doc | null
}

export const svUpdateSchema = { type: 'sv-update', version: 'v2.0.0' } as const
const svUpdateHeader = JSON.stringify(svUpdateSchema)

/**
 * Groups events by their view's sv-update topic, as log records: with the view before and after
 * (`updateEvents: full`), without them (`key`: the record key is the view key), or none (`none`).
 */
export function toSvUpdateRecords (pipeline: PipelineDefinition, events: readonly SvUpdateEvent[]): Map<string, AppendRecord[]> {
  const out = new Map<string, AppendRecord[]>()
  const now = Date.now()
  const timestamp = new Date(now).toISOString()
  for (const e of events) {
    const def = pipeline.singleViews.get(e.view)
    if (def === undefined || def.updateEvents === 'none') continue
    const envelope = {
      operation: { type: e.operation, timestamp },
      source: pipeline.system,
      storageNamespace: def.collection,
      primaryKeys: Object.keys(def.key)
    }
    const value = def.updateEvents === 'key'
      ? envelope
      : { ...envelope, before: e.before === null ? null : withIsoDates(e.before), after: e.after === null ? null : withIsoDates(e.after) }
    const list = out.get(def.svUpdateTopic) ?? []
    list.push({ key: JSON.stringify(e.key), value: JSON.stringify(value), timestamp: now, headers: { messageSchema: svUpdateHeader } })
    out.set(def.svUpdateTopic, list)
  }
  return out
}

/** Reads an sv-update record back: the view and its before/after documents. */
export function parseSvUpdate (value: string | null): { storageNamespace: string, operation: string, before: Doc | null, after: Doc | null } | null {
  if (value === null) return null
  const parsed = JSON.parse(value) as { storageNamespace?: unknown, operation?: { type?: unknown }, before?: Doc | null, after?: Doc | null }
  if (typeof parsed.storageNamespace !== 'string') return null
  return { storageNamespace: parsed.storageNamespace, operation: String(parsed.operation?.type ?? ''), before: parsed.before ?? null, after: parsed.after ?? null }
}
