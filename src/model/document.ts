/**
 * Documents as stored in projections and single views: plain JSON-like objects.
 * @module
 */

/** A stored document (projection record, single view, system record). */
export type Doc = Record<string, unknown>

/** CRUD-Service document states. Projections and views use PUBLIC and DELETED. */
export const DocState = {
  PUBLIC: 'PUBLIC',
  DRAFT: 'DRAFT',
  TRASH: 'TRASH',
  DELETED: 'DELETED'
} as const
export type DocState = (typeof DocState)[keyof typeof DocState]

/** Field names braid writes on every projection record (never copied from a source message). */
export const MetaField = {
  id: '_id',
  state: '__STATE__',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  timestamp: 'timestamp',
  counter: '__internal__counter',
  counterType: '__internal__counterType',
  kafkaInfo: '__internal__kafkaInfo'
} as const

/** Metadata fields that a source message may not overwrite. */
export const reservedFields: ReadonlySet<string> = new Set([
  '_id',
  '__STATE__',
  'createdAt',
  'updatedAt',
  'creatorId',
  'updaterId',
  'timestamp',
  '__internal__counter',
  '__internal__counterType',
  '__internal__kafkaInfo'
])

/** A Mongo-style filter (the `_q` language). */
export type Filter = Record<string, unknown>

/** Sort specification: field → 1 (ascending) or -1 (descending), in priority order. */
export type Sort = Record<string, 1 | -1>

/**
 * The document with its top-level Dates replaced by ISO strings (what JSON.stringify would write):
 * V8's fast JSON serialiser gives up on objects holding Dates, so converting first is quicker.
 * Nested Dates are left to JSON.stringify.
 */
export function withIsoDates (doc: Doc): Doc {
  let out: Doc | undefined
  for (const k in doc) {
    const v = doc[k]
    if (v instanceof Date) {
      out ??= { ...doc }
      out[k] = Number.isNaN(v.getTime()) ? null : v.toISOString()
    }
  }
  return out ?? doc
}
