/**
 * pr-update events (Mia's v2.0.0 shape, as the Projection Storer produces them): one per applied
 * projection change, on the projection's `prUpdateTopic` when one is configured.
 * @module
 */
import type { Doc } from '../model/document.ts'
import { keyObject } from '../model/key.ts'
import type { AppendRecord } from '../model/log-record.ts'
import type { ProjectionChange, ProjectionDefinition } from '../model/projection.ts'

export const prUpdateSchema = { type: 'pr-update', version: 'v2.0.0' } as const

export function toPrUpdateRecords (def: ProjectionDefinition, changes: readonly ProjectionChange[]): AppendRecord[] {
  const now = Date.now()
  return changes.map(change => {
    const doc = change.after ?? change.before ?? {}
    const type = change.before === null || change.before['__STATE__'] === 'DELETED'
      ? (change.after === null || change.after['__STATE__'] === 'DELETED' ? 'DELETE' : 'INSERT')
      : change.after === null || change.after['__STATE__'] === 'DELETED' ? 'DELETE' : 'UPDATE'
    const value = {
      operation: { type, timestamp: new Date(change.eventTime).toISOString() },
      source: def.system,
      storageNamespace: def.collection,
      primaryKeys: def.key,
      before: strip(change.before),
      after: type === 'DELETE' ? null : strip(change.after)
    }
    return { key: JSON.stringify(keyObject(doc, def.key)), value: JSON.stringify(value), timestamp: now, headers: { messageSchema: JSON.stringify(prUpdateSchema) } }
  })
}

/** Record fields without braid's ordering bookkeeping. */
function strip (doc: Doc | null): Doc | null {
  if (doc === null) return null
  const out: Doc = {}
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('__internal__')) out[k] = v
  return out
}
