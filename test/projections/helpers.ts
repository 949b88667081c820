/**
 * Test helpers for projections: a small projection definition built from a field list.
 * @module
 */
import type { CastFunction, FieldMapping, ProjectionDefinition } from '../../src/model/projection.ts'
import { resolveCast } from '../../src/projections/casts.ts'

/** `[source, target, castName]` triples; the cast is resolved among built-ins and `custom`. */
export function projection (
  fields: Array<[string, string, string]>,
  options: Partial<ProjectionDefinition> & { sourceKey: string[], custom?: Map<string, CastFunction> }
): ProjectionDefinition {
  const custom = options.custom ?? new Map<string, CastFunction>()
  const mappings: FieldMapping[] = fields.map(([source, target, castName]) => {
    const cast = resolveCast(castName, custom)
    if (cast === undefined) throw new Error(`unknown cast ${castName}`)
    return { source, target, castName, cast }
  })
  const targetOf = (source: string): string => mappings.find(m => m.source === source)?.target ?? source
  const { custom: _custom, ...rest } = options
  return {
    name: 'pr_users',
    collection: 'pr_users',
    topic: 'users.ingestion',
    format: { type: 'debezium' },
    key: options.sourceKey.map(targetOf),
    fields: mappings,
    softDelete: true,
    indexedFields: [],
    system: 'crm',
    ...rest
  }
}
