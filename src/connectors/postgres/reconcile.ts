/**
 * Delete reconciliation: after reading every key of a table (a whole-table snapshot) or of a polled
 * query (the delete scan), the projections reading its topic may still hold records whose row is gone
 * — deleted while no change was streamed (a lost slot, a polling source, a projection that drifted).
 * For each such record a Debezium delete is appended, at the position of the read, so the ordering
 * guard decides as for any other change:
 *
 * - a row deleted before the read: its record is older than the delete, which applies;
 * - a row inserted after the read and already applied: its record is newer, the delete is stale.
 *
 * Before scanning, it waits until the projection stage has consumed everything appended to the topic
 * so far (the read itself included): a record still in the log would otherwise be missed, and
 * resurrect a deleted row when applied later.
 *
 * Only projections whose source key is exactly the key columns take part (a projection keyed by other
 * columns cannot tell which row a record came from); the others are skipped with a warning.
 * @module
 */
import type { Doc } from '../../model/document.ts'
import { DocState, MetaField } from '../../model/document.ts'
import { keyId } from '../../model/key.ts'
import type { AppendRecord } from '../../model/log-record.ts'
import type { ProjectionDefinition } from '../../model/projection.ts'
import { mapChange } from '../../projections/mapper.ts'
import { sleep } from './support.ts'
import type { SourceContext } from './types.ts'

export interface ReconcileInput {
  /** Source name, for logs. */
  source: string
  topic: string
  /** Key columns of the rows, in key order. */
  keyColumns: string[]
  /** Every key read, as `JSON.stringify` of `{ column: value }` in key-column order. */
  seen: ReadonlySet<string>
  /** The delete event of a key that is gone. */
  deleteRecord: (key: Doc) => AppendRecord
  signal?: AbortSignal
}

/** Appends a delete for every record of the topic's projections whose key was not read; returns how many. */
export async function reconcileDeletes (ctx: SourceContext, input: ReconcileInput): Promise<number> {
  const readers = [...ctx.pipeline.projections.values()].filter(p => p.topic === input.topic && p.format.type === 'debezium')
  const usable = readers.filter(p => sameColumns(p.sourceKey, input.keyColumns))
  for (const p of readers) {
    if (!usable.includes(p)) {
      ctx.logger.warn({ source: input.source, projection: p.name, topic: input.topic }, 'projection is keyed by other columns than the source rows; deleted rows are not reconciled for it')
    }
  }
  if (usable.length === 0) return 0
  if (!await waitConsumed(ctx, input.topic, input.signal)) return 0
  const gone = new Map<string, Doc>()
  for (const def of usable) {
    const seenIds = projectionIds(def, input.seen)
    for await (const page of ctx.store.scan(def.collection, { [MetaField.state]: DocState.PUBLIC }, 1000)) {
      if (input.signal?.aborted === true) return 0
      for (const doc of page) {
        if (seenIds.has(keyId(doc, def.key))) continue
        const key: Doc = {}
        for (const column of input.keyColumns) key[column] = doc[def.key[def.sourceKey.indexOf(column)] ?? column] ?? null
        gone.set(JSON.stringify(key), key)
      }
    }
  }
  const records = [...gone.values()].map(input.deleteRecord)
  for (let i = 0; i < records.length; i += 1000) {
    await ctx.log.append(input.topic, records.slice(i, i + 1000))
  }
  return records.length
}

/** Resolves true once the projection stage has committed every record appended to `topic` so far; false when aborted. */
export async function waitConsumed (ctx: SourceContext, topic: string, signal?: AbortSignal): Promise<boolean> {
  const targets = await ctx.log.offsets(topic)
  for (;;) {
    const committed = new Map((await ctx.log.committed(ctx.consumerGroup, topic)).map(c => [c.partition, c.offset]))
    if (targets.every(t => (committed.get(t.partition) ?? t.start) >= t.end)) return true
    if (signal?.aborted === true) return false
    await sleep(100, signal)
  }
}

/** The projection ids (keyId of the mapped, cast key) of the keys read. */
function projectionIds (def: ProjectionDefinition, seen: ReadonlySet<string>): Set<string> {
  const ids = new Set<string>()
  for (const text of seen) {
    try {
      const mapped = mapChange(def, { op: 'delete', key: JSON.parse(text) as Doc, before: null, after: null })
      if (mapped.key !== null) ids.add(keyId(mapped.key, def.key))
    } catch {
      // A key the projection cannot cast: its records are keyed otherwise, nothing to match.
    }
  }
  return ids
}

function sameColumns (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every(c => b.includes(c))
}
