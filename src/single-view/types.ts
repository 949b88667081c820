/**
 * Types shared by the single-view modules and their callers (the runtime, `braid explain`).
 * @module
 */
import type { BraidError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import type { Store } from '../storage/store.ts'

/** What reading projections needs. */
export interface ReadContext {
  store: Store
  logger: Logger
  /** Store collection of a projection (or view) name. */
  collections: (projection: string) => string
  /** Values per `$in` list in one store query (default 1000). */
  maxQueryValues?: number
  /**
   * Primary-key fields of a projection (or view), when known: lookups on exactly those fields
   * become `getMany` by id, and lineage entries carry the key. Strongly recommended.
   */
  projectionKey?: (projection: string) => readonly string[] | undefined
}

export interface AggregationContext extends ReadContext {
  /** Record the lineage of each view (default true; the build loop may turn it off). */
  lineage?: boolean
}

/** One projection document a view was built from (`braid explain`). */
export interface LineageEntry {
  projection: string
  /** Dependency path in the aggregation (`SV_CONFIG.ORDERS.pr_orders`). */
  dependency: string
  _id?: unknown
  /** Primary key of the document (when the projection's key fields are known). */
  key?: Doc
  __STATE__?: unknown
  __internal__kafkaInfo?: unknown
  __internal__counter?: unknown
  updatedAt?: unknown
}

export interface AggregationResult {
  identifier: Doc
  /** Store id of the view (keyId of the view key). */
  id: string
  /** View key (`{ viewField: value }`). */
  key: Doc
  /** The aggregated view (mapped fields only), or null when the base record is missing or the build failed. */
  view: Doc | null
  /** Why the view is null (`base record missing`, or the failure message). */
  reason?: string
  /** Set when the build failed (BRAID_AGGREGATION_FAILED): the stored view must be left alone and the build retried. */
  error?: BraidError
  lineage: LineageEntry[]
}

export const ViewOperation = { insert: 'INSERT', update: 'UPDATE', delete: 'DELETE' } as const
export type ViewOperation = (typeof ViewOperation)[keyof typeof ViewOperation]

/** A change of a stored view (the lead turns these into sv-update messages). */
export interface ViewEvent {
  view: string
  id: string
  key: Doc
  operation: ViewOperation
  before: Doc | null
  after: Doc | null
}

export interface ViewPut {
  collection: string
  id: string
  doc: Doc
}

export interface ViewDelete {
  collection: string
  id: string
}
