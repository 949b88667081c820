/**
 * What `GET /-/pipeline` answers: the pipeline definition described for people and the console.
 * Pure types (the console imports them too).
 * @module
 */
import type { ErCondition, UpdateEvents } from './single-view.ts'

export interface PipelineDescription {
  system: string
  /** Systems of record, each with the projections it feeds. */
  systems: Array<{ name: string, projections: string[] }>
  /** Ingestion topics, each with the projections that consume it. */
  topics: Array<{ name: string, projections: string[] }>
  projections: ProjectionDescription[]
  singleViews: SingleViewDescription[]
  /** ER relations as compiled: one entry per direction (a native relation yields both). */
  relations: RelationDescription[]
}

export interface ProjectionDescription {
  name: string
  collection: string
  topic: string
  system: string
  format: string
  /** Primary key, projection field names. */
  key: string[]
  fields: Array<{ source: string, target: string, cast: string }>
  softDelete: boolean
  prUpdateTopic?: string
  endpointBasePath?: string
}

export interface SingleViewDescription {
  name: string
  collection: string
  /** View field → identifier field. */
  key: Record<string, string>
  baseProjection: string
  /** Every projection (or view, when chained) the view reads, base first. */
  reads: string[]
  svUpdateTopic: string
  /** What the sv-update events carry (`full`, `key`), or `none`: no events and no change feed. */
  updateEvents: UpdateEvents
  upsert: string
  delete: string
  validator: boolean
  /** Projections whose changes patch the views in place (Single View Patch). */
  patches: string[]
  /** The aggregation blocks, root first. */
  blocks: BlockDescription[]
  endpointBasePath?: string
}

export interface BlockDescription {
  name: string
  /** Set when the block yields one element per document of this dependency (an array). */
  join?: string
  dependencies: Array<{ name: string, kind: 'projection' | 'select' | 'config', projections: string[], via?: string[] }>
  /** Output fields of the block and where each comes from (`customers.email`, `block orders`, `constant`…). */
  fields: Array<{ name: string, from: string }>
}

export interface RelationDescription {
  name: string
  from: string
  to: string
  oneToMany: boolean
  condition: ErCondition
}
