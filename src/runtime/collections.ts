/**
 * The store collections a pipeline needs, with their indexes: one per projection, one per single
 * view, and braid's system collections.
 * @module
 */
import type { PipelineDefinition } from '../model/single-view.ts'
import type { Logger } from '../logger.ts'
import type { ReadContext } from '../single-view/types.ts'
import type { CollectionSpec, Store } from '../storage/store.ts'

export const SystemCollection = {
  /** Messages that could not be decoded or cast, with their reason (inspectable, replayable). */
  deadLetters: '__braid_dead_letters',
  /** Failed single-view builds, one record per view key, updated on every attempt. */
  svErrors: '__braid_sv_errors',
  /** Source fields not in a projection's mapping, or not castable: counts, never values. */
  unmappedFields: '__braid_unmapped_fields'
} as const

const systemSpecs: CollectionSpec[] = [
  { name: SystemCollection.deadLetters, primaryKey: ['_id'], indexes: [{ fields: ['at'] }, { fields: ['topic'] }, { fields: ['status'] }] },
  { name: SystemCollection.svErrors, primaryKey: ['_id'], indexes: [{ fields: ['updatedAt'] }, { fields: ['type'] }] },
  { name: SystemCollection.unmappedFields, primaryKey: ['_id'], indexes: [{ fields: ['projection'] }] }
]

/**
 * Every collection of the pipeline: projections keyed by their primary key and indexed on key and ER
 * fields, views keyed by the view key. No index on `__STATE__`: nearly every record is PUBLIC, and
 * SQLite would pick that unselective index over the lookup field's.
 */
export function pipelineCollections (pipeline: PipelineDefinition, extra: readonly CollectionSpec[] = []): CollectionSpec[] {
  const specs: CollectionSpec[] = [...systemSpecs, ...extra]
  const erFields = erFieldsByNode(pipeline)
  for (const p of pipeline.projections.values()) {
    const fields = new Set([...p.indexedFields, ...(erFields.get(p.name) ?? [])])
    specs.push({
      name: p.collection,
      primaryKey: p.key,
      indexes: [{ fields: ['_id'] }, ...[...new Set([...p.key, ...fields])].map(f => ({ fields: [f] }))]
    })
  }
  for (const v of pipeline.singleViews.values()) {
    const keyFields = Object.keys(v.key)
    const fields = new Set(erFields.get(v.name) ?? [])
    specs.push({
      name: v.collection,
      primaryKey: keyFields,
      indexes: [{ fields: ['_id'] }, ...[...new Set([...keyFields, ...fields])].map(f => ({ fields: [f] }))]
    })
  }
  return specs
}

/** Fields of each ER node used by a condition (both sides), so lookups in either direction are indexed. */
function erFieldsByNode (pipeline: PipelineDefinition): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  const add = (node: string, field: string): void => {
    let set = out.get(node)
    if (set === undefined) out.set(node, set = new Set())
    set.add(field)
  }
  const visit = (from: string, to: string, condition: unknown): void => {
    if (condition === null || typeof condition !== 'object') return
    for (const [k, v] of Object.entries(condition as Record<string, unknown>)) {
      if (k === '$and' || k === '$or') {
        if (Array.isArray(v)) for (const sub of v) visit(from, to, sub)
        continue
      }
      add(to, k)
      if (typeof v === 'string' && !v.startsWith('__')) add(from, v)
    }
  }
  for (const edge of pipeline.er.edges.values()) visit(edge.from, edge.to, edge.condition)
  return out
}

/** Primary-key fields of a projection or view name (lookups on exactly the key become reads by id). */
export function keyFieldsOf (pipeline: PipelineDefinition): (name: string) => readonly string[] | undefined {
  return name => pipeline.projections.get(name)?.key ?? (pipeline.singleViews.has(name) ? Object.keys(pipeline.singleViews.get(name)?.key ?? {}) : undefined)
}

/** Store collection of a projection or view name. */
export function collectionOf (pipeline: PipelineDefinition): (name: string) => string {
  return name => pipeline.projections.get(name)?.collection ?? pipeline.singleViews.get(name)?.collection ?? name
}

/** What the single-view engine needs to read a pipeline's collections (aggregation, strategies). */
export function readContext (pipeline: PipelineDefinition, store: Store, logger: Logger): ReadContext {
  return { store, logger, collections: collectionOf(pipeline), projectionKey: keyFieldsOf(pipeline) }
}
