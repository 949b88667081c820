/**
 * Compiled projection definitions: the one internal model both config front doors produce.
 * @module
 */
import type { ChangeEvent } from './change-event.ts'
import type { Doc } from './document.ts'

/** A cast function: `(value, fieldName)` → cast value. `undefined` means "cannot cast". */
export type CastFunction = (value: unknown, fieldName: string) => unknown

/** Built-in ingestion formats (the Mia "message adapters" plus Fast Data v2). */
export const FormatType = {
  db2: 'db2',
  basic: 'basic',
  goldenGate: 'golden-gate',
  debezium: 'debezium',
  fastDataV2: 'fast-data-v2',
  custom: 'custom'
} as const
export type FormatType = (typeof FormatType)[keyof typeof FormatType]

/** A raw message handed to a format: text key/value plus log metadata. */
export interface RawMessage {
  key: string | null
  value: string | null
  timestamp: number
  offset: number
  partition: number
  topic: string
  headers: Record<string, string>
}

/**
 * A custom adapter: Mia RTU shape `(message, primaryKeys, logger)` or PS shape; braid normalises its
 * return value to ChangeEvents (see connectors/formats/custom.ts).
 */
export type CustomAdapterFunction = (message: unknown, primaryKeys: string[], logger: unknown) => unknown

export interface FormatDefinition {
  type: FormatType
  /** golden-gate: use `pos` as the ordering counter (default true). */
  usePosAsCounter?: boolean
  /** custom: the loaded adapter function, and the file it came from (for messages). */
  adapter?: CustomAdapterFunction
  adapterFile?: string
}

export interface FieldMapping {
  /** Field name in the source record. */
  source: string
  /** Field name in the projection. */
  target: string
  /** Cast function name (built-in or custom) and the resolved function. */
  castName: string
  cast: CastFunction
}

export interface ProjectionDefinition {
  /** Projection name (also the name used by ER schemas and aggregations). */
  name: string
  /** Store collection (Mia `customStorageNamespace`; default = name). */
  collection: string
  /** Ingestion topic on the event log. */
  topic: string
  /** Optional topic for pr-update events of this projection. */
  prUpdateTopic?: string
  format: FormatDefinition
  /** Primary key fields as named in the SOURCE record (Mia `primaryKeys`). */
  sourceKey: string[]
  /** Primary key fields as named in the PROJECTION (mapped names of sourceKey). */
  key: string[]
  /** Field mappings; source fields not listed are dropped (and recorded as unmapped). */
  fields: FieldMapping[]
  /** Soft delete (`__STATE__: DELETED`, default) or hard delete. */
  softDelete: boolean
  /** Fields that ER conditions or strategies look up: the store indexes them. */
  indexedFields: string[]
  /** System of record this projection belongs to (`source` in pr-update events). */
  system: string
  /**
   * Extra mount path of the read routes (`/customers`), besides `/projections/{name}`: the CRUD
   * Service's `endpointBasePath`, for drop-in compatibility.
   */
  endpointBasePath?: string
}

/** Result of mapping one ChangeEvent onto a projection (pure; see projections/mapper.ts). */
export interface MappedChange {
  op: 'upsert' | 'delete' | 'truncate'
  /** Projection key fields → values (projection names). Null for truncate. */
  key: Doc | null
  /** Previous key when the change moved the record to a new primary key (delete old + insert new). */
  previousKey?: Doc
  /** Mapped, cast fields for upsert (projection names); null for delete/truncate. */
  fields: Doc | null
  /** Fields present in the source but not in the mapping. */
  unmapped: string[]
  /** Fields whose cast failed (stored as null) with the cast name. */
  uncastable: Array<{ field: string, cast: string, value: unknown }>
  event: ChangeEvent
}

/**
 * One applied change of a projection record, as the strategies see it: the stored document before
 * and after (both with `__STATE__`). `before` is null for a new record, `after` null for a hard delete.
 */
export interface ProjectionChange {
  projection: string
  /** keyId of the record. */
  id: string
  before: Doc | null
  after: Doc | null
  /** Source event time, epoch ms (for freshness). */
  eventTime: number
}
