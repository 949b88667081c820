/**
 * `GET /-/pipeline`: the shape of the running pipeline, for the console's graphs and for people
 * finding their way: systems of record → topics → projections → single views, the aggregation tree
 * of every view and the ER relations. Built from the compiled definition only, so it holds names,
 * casts and conditions, never a key value or a document.
 *
 * `GET /-/unmapped-fields`: the unmapped and uncastable field report (`__braid_unmapped_fields`):
 * per projection and field, how many messages carried a field the mapping does not list
 * (`UNKNOWN_FIELD`) or whose value the cast could not convert (`UNCASTABLE_FIELD`). Counts, never values.
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { ProjectionDefinition } from '../../model/projection.ts'
import type { AggregationBlock, Dependency, PipelineDefinition, SingleViewDefinition, ValueRef } from '../../model/single-view.ts'
import { SystemCollection } from '../../runtime/collections.ts'
import type { BraidService } from '../../runtime/types.ts'
import { Access } from '../auth/scopes.ts'
import type { BlockDescription, PipelineDescription, ProjectionDescription, RelationDescription, SingleViewDescription } from '../../model/pipeline-description.ts'

export type { BlockDescription, PipelineDescription, ProjectionDescription, RelationDescription, SingleViewDescription }

/**
 * Registers `GET /-/pipeline` (any authenticated caller: it holds configuration, no data) and
 * `GET /-/unmapped-fields` (the `admin` scope, as every other `/-/` route).
 */
export function registerPipelineRoutes (app: FastifyInstance, service: BraidService): void {
  const description = describePipeline(service.pipeline)
  app.get('/-/pipeline', { config: { scope: Access.authenticated } }, async () => description)

  app.get<{ Querystring: { projection?: string } }>('/-/unmapped-fields', async (request) => {
    const projection = request.query.projection
    if (projection !== undefined && !service.pipeline.projections.has(projection)) {
      throw new BraidError('BRAID_NOT_FOUND', `no projection "${projection}"`)
    }
    const docs = await service.store.find(SystemCollection.unmappedFields, projection === undefined ? {} : { projection }, { sort: { projection: 1, count: -1 } })
    return docs.map(d => ({
      projection: d['projection'],
      field: d['field'],
      type: d['type'],
      count: d['count'],
      firstSeenAt: d['firstSeenAt'],
      lastSeenAt: d['lastSeenAt']
    }))
  })
}

/** The JSON description of a pipeline definition (pure). */
export function describePipeline (pipeline: PipelineDefinition): PipelineDescription {
  const projections = [...pipeline.projections.values()]
  return {
    system: pipeline.system,
    systems: groupBy(projections, p => p.system),
    topics: groupBy(projections, p => p.topic),
    projections: projections.map(describeProjection),
    singleViews: [...pipeline.singleViews.values()].map(describeView),
    relations: [...pipeline.er.edges.values()].map(e => ({ name: e.name, from: e.from, to: e.to, oneToMany: e.oneToMany, condition: e.condition }))
  }
}

function groupBy (projections: readonly ProjectionDefinition[], by: (p: ProjectionDefinition) => string): Array<{ name: string, projections: string[] }> {
  const groups = new Map<string, string[]>()
  for (const p of projections) {
    const name = by(p)
    groups.set(name, [...groups.get(name) ?? [], p.name])
  }
  return [...groups].map(([name, names]) => ({ name, projections: names }))
}

function describeProjection (p: ProjectionDefinition): ProjectionDescription {
  return {
    name: p.name,
    collection: p.collection,
    topic: p.topic,
    system: p.system,
    format: p.format.type,
    key: p.key,
    fields: p.fields.map(f => ({ source: f.source, target: f.target, cast: f.castName })),
    softDelete: p.softDelete,
    ...(p.prUpdateTopic === undefined ? {} : { prUpdateTopic: p.prUpdateTopic }),
    ...(p.endpointBasePath === undefined ? {} : { endpointBasePath: p.endpointBasePath })
  }
}

function describeView (v: SingleViewDefinition): SingleViewDescription {
  const blocks = [v.root, ...[...v.blocks.values()].filter(b => b !== v.root)]
  const reads = new Set<string>([v.baseProjection])
  for (const b of blocks) for (const d of b.dependencies) for (const p of dependencyProjections(d)) reads.add(p)
  return {
    name: v.name,
    collection: v.collection,
    key: v.key,
    baseProjection: v.baseProjection,
    reads: [...reads],
    svUpdateTopic: v.svUpdateTopic,
    updateEvents: v.updateEvents,
    upsert: v.upsert,
    delete: v.delete,
    validator: v.validator !== undefined,
    patches: [...new Set(v.patchRules.map(r => r.projection))],
    blocks: blocks.map(describeBlock),
    ...(v.endpointBasePath === undefined ? {} : { endpointBasePath: v.endpointBasePath })
  }
}

function describeBlock (b: AggregationBlock): BlockDescription {
  return {
    name: b.name,
    ...(b.joinDependency === undefined ? {} : { join: b.joinDependency }),
    dependencies: b.dependencies.map(d => {
      const via = dependencyConditions(d)
      return { name: d.name, kind: d.kind, projections: dependencyProjections(d), ...(via.length === 0 ? {} : { via }) }
    }),
    fields: b.mapping.map(([name, ref]) => ({ name, from: describeRef(ref) }))
  }
}

function dependencyProjections (d: Dependency): string[] {
  if (d.kind === 'projection') return [d.projection]
  if (d.kind === 'select') return [...new Set([...d.select.options.map(o => o.value.projection), ...(d.select.default === undefined ? [] : [d.select.default.projection])])]
  return []
}

function dependencyConditions (d: Dependency): string[] {
  if (d.kind === 'projection') return d.link.kind === 'condition' ? [d.link.condition] : []
  if (d.kind === 'select') return [...new Set([...d.select.options.map(o => o.value.condition), ...(d.select.default === undefined ? [] : [d.select.default.condition])])]
  return []
}

/** Where a mapped value comes from, in words; constants are configuration, shown as `constant`. */
function describeRef (ref: ValueRef): string {
  switch (ref.kind) {
    case 'field': return `${ref.dependency}.${ref.path}`
    case 'config': return `block ${ref.config}`
    case 'constant': return 'constant'
    case 'function': return `function ${ref.name}`
    case 'object': return 'object'
    case 'select': return 'select'
  }
}
