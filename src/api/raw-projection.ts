/**
 * `_rawp`: a raw MongoDB projection in JSON, as the CRUD Service accepts it on `GET /`, `/{id}` and
 * `/export` — inclusion, exclusion, or aggregation expressions restricted to a list of operators.
 * Every `$name` in the text must be an allowed operator or `$<field>` of a field of the collection's
 * schema; the system variables `$$ROOT`, `$$CURRENT`, … are refused (`Operator $$ROOT is not allowed
 * in raw projection`); other `$$` variables (`$$this`, a `$filter`'s `as`) are fine. `_rawp` with
 * `_p` is refused.
 *
 * The projection is applied by braid (mingo) to the documents the store returns, so it behaves the
 * same on every store.
 * @module
 */
import { Query } from 'mingo'
import { BraidError } from '../errors.ts'
import type { Doc } from '../model/document.ts'
import type { DocumentSchema } from './schema.ts'

/** Operators allowed in `_rawp`, as the CRUD Service lists them. */
export const RAW_PROJECTION_OPERATORS: readonly string[] = [
  '$eq', '$gt', '$gte', '$in', '$lt', '$lte', '$ne', '$nin', '$and', '$not', '$nor', '$or', '$exists', '$type', '$cond',
  '$regexMatch', '$mod', '$all', '$elemMatch', '$size', '$filter', '$reduce', '$concatArrays', '$first', '$map', '$dateToString'
]

/** System variables refused in `_rawp`. */
export const FORBIDDEN_VARIABLES: readonly string[] = ['$$ROOT', '$$CURRENT', '$$PRUNE', '$$DESCEND', '$$KEEP', '$$CLUSTER_TIME', '$$REMOVE', '$$NOW']

export type RawProjection = Record<string, unknown>

/** Parses and checks `_rawp`; throws BRAID_QUERY_INVALID with the CRUD Service's messages. */
export function parseRawProjection (text: string, schema: DocumentSchema): RawProjection {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw invalid(`_rawp is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('_rawp must be a JSON object (a MongoDB projection)')
  const fields = new Set(Object.keys(schema.properties).map(f => `$${f}`))
  for (const match of text.match(/\${1,2}[A-Za-z0-9_-]+/g) ?? []) {
    if (match.startsWith('$$')) {
      if (FORBIDDEN_VARIABLES.includes(match)) throw invalid(`Operator ${match} is not allowed in raw projection`)
      continue
    }
    if (!RAW_PROJECTION_OPERATORS.includes(match) && !fields.has(match)) {
      throw invalid(`Operator ${match} is not allowed in raw projection`)
    }
  }
  const projection: RawProjection = {}
  for (const [k, v] of Object.entries(parsed)) if (v !== null && v !== undefined) projection[k] = v
  // Nothing left: the _id only.
  return Object.keys(projection).length === 0 ? { _id: 1 } : projection
}

/** True when `projection` excludes fields (`{ a: 0 }`) rather than including or computing them. */
export function isExclusion (projection: RawProjection): boolean {
  return Object.entries(projection).every(([k, v]) => v === 0 || v === false || (k === '_id' && Object.keys(projection).length > 1))
}

/** The fields the projected documents have, in order, for CSV columns (`_id` first unless excluded). */
export function rawProjectionFields (projection: RawProjection, schemaFields: readonly string[]): string[] {
  if (isExclusion(projection)) return schemaFields.filter(f => projection[f] !== 0 && projection[f] !== false)
  const out = projection['_id'] === 0 || projection['_id'] === false ? [] : ['_id']
  for (const [k, v] of Object.entries(projection)) if (k !== '_id' && v !== 0 && v !== false) out.push(k)
  return out
}

/** Applies the projection to one document; `_id` comes first, as MongoDB writes it. */
export function applyRawProjection (doc: Doc, projection: RawProjection): Doc {
  let projected: Doc
  try {
    projected = new Query({}).find<Doc>([doc], projection).all()[0] ?? {}
  } catch (err) {
    // The reason may quote document values: it goes to the client in details, not to the log line.
    throw new BraidError('BRAID_QUERY_INVALID', '_rawp could not be applied (see details.reason)', { details: { reason: err instanceof Error ? err.message : String(err) } })
  }
  if (!('_id' in projected)) return projected
  const { _id, ...rest } = projected
  return { _id, ...rest }
}

function invalid (message: string): BraidError {
  return new BraidError('BRAID_QUERY_INVALID', message)
}
