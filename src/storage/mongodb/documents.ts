/**
 * How braid documents map onto MongoDB documents, and filters, sorts, projections and index keys
 * onto MongoDB's.
 *
 * The store id (keyId of the primary key) is the MongoDB `_id`, so the primary key is unique and
 * reads by id use the `_id` index. The document's own `_id` field (projections and views carry an
 * ObjectId-like hex string there) is stored under `__braid_doc_id`, at the same position, and
 * renamed back on every read. Filters, sorts, projections and index fields naming `_id` (or
 * `_id.x`) are rewritten to name `__braid_doc_id` instead; nothing else of a filter changes, so
 * `_q` runs as a native MongoDB query on every field, `_id` included.
 *
 * Documents are stored as their JSON form (what JSON.stringify writes, as in the embedded store):
 * Dates become ISO-8601 strings, undefined fields disappear, non-finite numbers become null. Dates
 * in filters are compared as the same ISO strings.
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { Doc, Filter, Sort } from '../../model/document.ts'
import type { FindOptions } from '../store.ts'

/** Field holding the document's own `_id` (the MongoDB `_id` holds the store id). Reserved. */
export const docIdField = '__braid_doc_id'

/** A stored MongoDB document: `_id` is the store id. */
export type StoredDoc = Doc & { _id: string }

/** The field name a braid path has in MongoDB (`_id` → docIdField). */
export function mongoPath (path: string): string {
  if (path === '_id') return docIdField
  if (path.startsWith('_id.')) return docIdField + path.slice(3)
  return path
}

/** The stored form of a document put under `id`; throws BRAID_INTERNAL for the reserved field or a BigInt. */
export function toStored (doc: Doc, id: string, collection: string): StoredDoc {
  if (Object.hasOwn(doc, docIdField)) {
    throw new BraidError('BRAID_INTERNAL', `put ${collection}: documents may not hold the field ${docIdField} (reserved by the MongoDB store for the document's _id)`, {
      details: { collection }
    })
  }
  let json: Doc
  try {
    json = JSON.parse(JSON.stringify(doc)) as Doc
  } catch (err) {
    throw new BraidError('BRAID_INTERNAL', `put ${collection}: the document cannot be stored as JSON: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
      details: { collection }
    })
  }
  const out: StoredDoc = { _id: id }
  for (const key of Object.keys(json)) out[key === '_id' ? docIdField : key] = json[key]
  return out
}

/** The braid document of a stored (or projected) one: MongoDB's `_id` dropped, docIdField renamed `_id`. */
export function fromStored (stored: Doc): Doc {
  const out: Doc = {}
  for (const key of Object.keys(stored)) {
    if (key === '_id') continue
    out[key === docIdField ? '_id' : key] = stored[key]
  }
  return out
}

/** Top-level operators taking an array of filters. */
const logical = new Set(['$and', '$or', '$nor'])
/** Top-level operators that reach fields without naming them as keys: they would see the store id as `_id`. */
const refused = new Set(['$where', '$expr', '$function', '$accumulator'])

/**
 * The MongoDB filter of a braid filter: fields renamed by mongoPath (in `$and`/`$or`/`$nor` too),
 * Dates turned into ISO strings. Operator expressions (`$elemMatch`, `$not`, …) are kept as they are.
 */
export function toMongoFilter (filter: Filter): Filter {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new BraidError('BRAID_QUERY_INVALID', 'A filter must be an object', { details: { filter } })
  }
  const out: Filter = {}
  for (const [key, value] of Object.entries(filter)) {
    if (logical.has(key)) {
      if (!Array.isArray(value)) throw new BraidError('BRAID_QUERY_INVALID', `${key} needs an array of filters`, { details: { filter } })
      out[key] = value.map(sub => toMongoFilter(sub as Filter))
    } else if (refused.has(key)) {
      throw new BraidError('BRAID_QUERY_INVALID', `${key} is not supported by the MongoDB store; use field conditions`, { details: { filter } })
    } else if (key.startsWith('$')) {
      out[key] = isoDates(value)
    } else {
      out[mongoPath(key)] = isoDates(value)
    }
  }
  return out
}

function isoDates (value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (Array.isArray(value)) return value.map(isoDates)
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = isoDates(v)
    return out
  }
  return value
}

/** A MongoDB sort as ordered pairs: the braid sort, then `_id` (store id) to break ties as the embedded store does. */
export function toMongoSort (sort: Sort | undefined): Array<[string, 1 | -1]> {
  const out: Array<[string, 1 | -1]> = []
  for (const [field, dir] of Object.entries(sort ?? {})) {
    if (dir !== 1 && dir !== -1) throw new BraidError('BRAID_QUERY_INVALID', `sort: direction of ${field} must be 1 or -1, got ${String(dir)}`)
    out.push([mongoPath(field), dir])
  }
  out.push(['_id', 1])
  return out
}

/**
 * The MongoDB projection of a braid projection. As in MongoDB, the document's `_id` is kept unless
 * the projection excludes it; the store id is never returned. Undefined for "every field".
 */
export function toMongoProjection (projection: FindOptions['projection']): Record<string, 0 | 1> | undefined {
  if (projection === undefined) return undefined
  const entries = Object.entries(projection)
  if (entries.length === 0) return undefined
  const inclusion = entries.some(([field, v]) => field !== '_id' && v === 1)
  const out: Record<string, 0 | 1> = {}
  for (const [field, v] of entries) {
    if (v !== 0 && v !== 1) throw new BraidError('BRAID_QUERY_INVALID', `Invalid projection: ${field} must be 0 or 1`, { details: { projection } })
    if (field === '_id' && inclusion && v === 0) continue
    out[mongoPath(field)] = v
  }
  // Including `_id.x` already includes part of the document's _id (adding the whole would collide).
  if (inclusion && projection['_id'] !== 0 && !entries.some(([field]) => field.startsWith('_id.'))) out[docIdField] = 1
  out['_id'] = 0
  return out
}

/** The MongoDB key pattern of an index on braid fields. */
export function indexKey (fields: readonly string[]): Record<string, 1> {
  const key: Record<string, 1> = {}
  for (const f of fields) key[mongoPath(f)] = 1
  return key
}
