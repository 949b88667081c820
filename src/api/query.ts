/**
 * Read-query parameters of the CRUD-Service-compatible routes: `_q`, `_st`, `_l`, `_sk`, `_s`, `_p`
 * and `field=value` filters, turned into a store filter and find options.
 *
 * With the collection's schema (`schema`), as the CRUD Service does: every field `_q`, `_s` and
 * `field=value` name must have its first path segment in the schema (else `Unknown field: <name>`),
 * a `field=value` value is cast by the field's type, and `_id=…`, `__STATE__=…` are field filters. With `parameters`, any other query parameter
 * starting with `_` is refused, in the CRUD Service's words.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Filter, Sort } from '../model/document.ts'
import type { FindOptions } from '../storage/store.ts'
import { parseRawProjection, type RawProjection } from './raw-projection.ts'
import type { DocumentSchema, JsonSchema } from './schema.ts'

export const DEFAULT_LIMIT = 25
export const MAX_LIMIT = 200

const states = new Set(['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'])
const topLevelOperators = new Set(['$and', '$or'])
const fieldOperators = new Set(['$gt', '$lt', '$gte', '$lte', '$eq', '$ne', '$in', '$nin', '$all', '$exists', '$regex', '$options', '$elemMatch', '$size', '$not'])

/**
 * The `_` parameters each collection read route accepts, as the CRUD Service's querystring schemas
 * say: any other (`_s` on `/count`, `_exportOpts` on `GET /`) is refused with 400.
 */
export const ROUTE_PARAMETERS = {
  list: ['_q', '_st', '_p', '_rawp', '_s', '_l', '_sk'],
  byId: ['_q', '_st', '_p', '_rawp'],
  count: ['_q', '_st', '_useEstimate'],
  export: ['_q', '_st', '_p', '_rawp', '_s', '_l', '_sk', '_exportOpts']
} as const satisfies Record<string, readonly string[]>

export type ReadRoute = keyof typeof ROUTE_PARAMETERS

/** The `_` parameters of `GET /` (the longest list but `/export`'s). */
export const READ_PARAMETERS: readonly string[] = ROUTE_PARAMETERS.list

/** Every `_` parameter of some read route: never a field filter. */
const ALL_PARAMETERS: ReadonlySet<string> = new Set(Object.values(ROUTE_PARAMETERS).flat())

export type QueryString = Record<string, string | string[] | undefined>

export interface ReadQuery {
  filter: Filter
  options: FindOptions
  /** `_rawp`, checked: applied by the API to the documents the store returns (see raw-projection.ts). */
  rawProjection?: RawProjection
}

export interface ReadQueryOptions {
  paged: boolean
  /** false: collections without `__STATE__` (system collections). */
  stateful?: boolean
  /** true (exports): `_l` has no default and no maximum. */
  unbounded?: boolean
  /** The collection's schema: field names are checked and `field=value` values cast by it. */
  schema?: DocumentSchema
  /** The accepted `_` parameters: any other is refused. */
  parameters?: readonly string[]
}

/**
 * Builds `{ $and: [_q, field filters, state] }` and the paging options; throws BRAID_QUERY_INVALID.
 */
export function parseReadQuery (query: QueryString, { paged, stateful = true, unbounded = false, schema, parameters }: ReadQueryOptions): ReadQuery {
  if (parameters !== undefined) checkParameters(query, parameters, schema)
  const parts: Filter[] = []
  const q = single(query, '_q')
  if (q !== undefined) parts.push(parseFilter(q, schema))
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined || (name.startsWith('_') && !isSchemaField(name, schema))) continue
    const value = Array.isArray(raw) ? raw[raw.length - 1] ?? '' : raw
    parts.push(fieldFilter(name, value, schema))
  }
  if (stateful) parts.push(stateFilter(single(query, '_st')))
  else if (query['_st'] !== undefined) throw invalid('_st is not supported here: these records have no __STATE__')

  const options: FindOptions = {}
  if (paged) {
    const limit = unbounded ? integer(query, '_l', 1, Number.MAX_SAFE_INTEGER) : integer(query, '_l', 1, MAX_LIMIT) ?? DEFAULT_LIMIT
    if (limit !== undefined) options.limit = limit
    const skip = integer(query, '_sk', 0, Number.MAX_SAFE_INTEGER)
    if (skip !== undefined) options.skip = skip
    const sort = parseSort(query['_s'])
    if (sort !== undefined && schema !== undefined) for (const field of Object.keys(sort)) checkField(field, schema)
    if (sort !== undefined) options.sort = sort
  }
  const p = single(query, '_p')
  const rawp = single(query, '_rawp')
  // As the CRUD Service: empty values count as absent.
  if (p !== undefined && p !== '' && rawp !== undefined && rawp !== '') throw invalid('Use of both _rawp and _p parameter is not allowed')
  const projection = parseProjection(p)
  if (projection !== undefined) options.projection = projection
  const out: ReadQuery = { filter: parts.length <= 1 ? parts[0] ?? {} : { $and: parts }, options }
  if (rawp !== undefined && rawp !== '') {
    if (schema === undefined) throw invalid('_rawp is not supported here')
    out.rawProjection = parseRawProjection(rawp, schema)
  }
  return out
}

/** A boolean query parameter (`true` or `false`, as AJV coerces it); undefined when absent. */
export function booleanParameter (query: QueryString, name: string): boolean | undefined {
  const raw = single(query, name)
  if (raw === undefined) return undefined
  if (raw === 'true' || raw === 'false') return raw === 'true'
  throw invalid(`querystring/${name} must be boolean`)
}

/** `_st`: comma list of states, default PUBLIC. Documents without `__STATE__` never match. */
export function stateFilter (raw: string | undefined): Filter {
  if (raw === undefined || raw === '') return { __STATE__: 'PUBLIC' }
  const list = raw.split(',').map(s => s.trim())
  for (const s of list) {
    if (!states.has(s)) throw invalid(`_st: "${s}" is not a state; use a comma list of PUBLIC, DRAFT, TRASH, DELETED`)
  }
  return list.length === 1 ? { __STATE__: list[0] } : { __STATE__: { $in: list } }
}

/** A query parameter holding a JSON object; BRAID_QUERY_INVALID naming the parameter otherwise. */
export function parseJsonObject (text: string, name: string, what: string): Filter {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw invalid(`${name} is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(`${name} must be a JSON object (${what})`)
  return parsed as Filter
}

/** `_q`: a JSON MongoDB filter; with `schema`, every field it names must be in the schema. */
export function parseFilter (text: string, schema?: DocumentSchema): Filter {
  const parsed = parseJsonObject(text, '_q', 'a MongoDB filter')
  checkFilter(parsed, true, schema)
  return parsed
}

/** `schema`: the document schema the field names are checked against; none inside `$elemMatch`. */
function checkFilter (filter: Filter, topLevel: boolean, schema?: DocumentSchema): void {
  for (const [k, v] of Object.entries(filter)) {
    if (k.startsWith('$')) {
      // Inside $elemMatch on an array of scalars the operators apply to the elements: { $elemMatch: { $gte: 80 } }.
      if (!topLevel && fieldOperators.has(k)) {
        checkOperators({ [k]: v })
        continue
      }
      if (!topLevelOperators.has(k)) throw invalid(`Unknown operator: ${k}`)
      if (!Array.isArray(v)) throw invalid(`${k} needs an array of filters`)
      for (const sub of v) {
        if (sub === null || typeof sub !== 'object' || Array.isArray(sub)) throw invalid(`${k} needs an array of filters`)
        checkFilter(sub as Filter, topLevel, schema)
      }
      continue
    }
    if (schema !== undefined) checkField(k, schema)
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      checkOperators(v as Filter)
    }
  }
}

function checkOperators (expr: Filter): void {
  for (const [op, v] of Object.entries(expr)) {
    if (!op.startsWith('$')) continue
    if (!fieldOperators.has(op)) throw invalid(`Unsupported operator: ${op}`)
    if (op === '$elemMatch' && v !== null && typeof v === 'object') checkFilter(v as Filter, false)
  }
}

/** The first path segment of `name` must be a field of the schema. */
function checkField (name: string, schema: DocumentSchema): void {
  const first = name.split('.')[0] ?? name
  if (!Object.hasOwn(schema.properties, first)) throw invalid(`Unknown field: ${name}`)
}

/** `_id`, `__STATE__`: fields of the schema, filtered with `field=value` although they start with `_`. */
function isSchemaField (name: string, schema: DocumentSchema | undefined): boolean {
  return schema !== undefined && !ALL_PARAMETERS.has(name) && Object.hasOwn(schema.properties, name.split('.')[0] ?? name)
}

/** Query parameters starting with `_` (and not fields of the schema) must be among `parameters`, as the CRUD Service's querystring schema says. */
function checkParameters (query: QueryString, parameters: readonly string[], schema: DocumentSchema | undefined): void {
  for (const name of Object.keys(query)) {
    if (name.startsWith('_') && !parameters.includes(name) && !isSchemaField(name, schema)) {
      throw invalid(`querystring must NOT have additional properties. Property "${name}" is not defined in validation schema`)
    }
  }
}

/**
 * `field=value`: without a schema, or on a field without a type constraint, the value matches its
 * text or its JSON scalar reading; on a typed field it is cast by the type (400 when it cannot be).
 */
function fieldFilter (name: string, value: string, schema: DocumentSchema | undefined): Filter {
  if (schema === undefined) return { [name]: { $in: candidateValues(value) } }
  checkField(name, schema)
  const field = fieldSchema(schema, name)
  if (field?.type === undefined) return { [name]: { $in: candidateValues(value) } }
  return { [name]: castValue(name, value, field) }
}

/**
 * The schema of a dotted path: object properties, and for an array its items (a numeric segment is
 * an index, any other a field of the elements). Undefined when the schema does not say.
 */
export function fieldSchema (schema: DocumentSchema, path: string): JsonSchema | undefined {
  let current: JsonSchema | undefined = { type: 'object', properties: schema.properties }
  for (const segment of path.split('.')) {
    if (current?.type === 'array') {
      current = current.items
      if (/^\d+$/.test(segment)) continue
    }
    if (current?.type !== 'object' || current.properties === undefined || !Object.hasOwn(current.properties, segment)) return undefined
    current = current.properties[segment]
  }
  return current
}

/**
 * A query-string value read as the field's type, as AJV's type coercion does: integer and number
 * (a finite decimal), boolean (`true`, `false`), string (as is; a date-time must parse, and stays
 * the ISO string the store keeps; an enum must be one of its values). `null` on a nullable field
 * other than a plain string matches null. An array field takes a value of its items' type.
 */
function castValue (name: string, value: string, schema: JsonSchema): unknown {
  const fail = (what: string): BraidError => invalid(`querystring/${name} ${what}`)
  if (value === 'null' && schema.nullable === true && (schema.type !== 'string' || schema.format === 'date-time')) return null
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const n = Number(value)
      if (value.trim() === '' || !Number.isFinite(n)) throw fail(`must be ${schema.type}`)
      if (schema.type === 'integer' && !Number.isInteger(n)) throw fail('must be integer')
      return n
    }
    case 'boolean':
      if (value === 'true' || value === 'false') return value === 'true'
      throw fail('must be boolean')
    case 'string':
      if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) throw fail('must match format "date-time"')
      if (schema.enum !== undefined && !schema.enum.includes(value)) throw fail('must be equal to one of the allowed values')
      return value
    case 'array':
      if (schema.items?.type === undefined) return { $in: candidateValues(value) }
      return castValue(name, value, schema.items)
    default:
      throw fail(`must be ${String(schema.type)}`)
  }
}

/** A query-string value matches the text or its JSON scalar reading (`5` matches 5 and "5"). */
function candidateValues (value: string): unknown[] {
  const out: unknown[] = [value]
  if (value === 'true') out.push(true)
  else if (value === 'false') out.push(false)
  else if (value === 'null') out.push(null)
  else if (value.trim() !== '' && Number.isFinite(Number(value))) out.push(Number(value))
  return out
}

function parseSort (raw: string | string[] | undefined): Sort | undefined {
  if (raw === undefined) return undefined
  const items = (Array.isArray(raw) ? raw : [raw]).flatMap(s => s.split(',')).map(s => s.trim()).filter(s => s !== '')
  if (items.length === 0) return undefined
  const sort: Sort = {}
  for (const item of items) {
    const desc = item.startsWith('-')
    const field = desc ? item.slice(1) : item
    if (!/^[A-Za-z_][\w.]*$/.test(field)) throw invalid(`_s: "${item}" is not a field name; use field or -field, comma separated`)
    sort[field] = desc ? -1 : 1
  }
  return sort
}

function parseProjection (raw: string | undefined): Record<string, 1> | undefined {
  if (raw === undefined || raw === '') return undefined
  const projection: Record<string, 1> = {}
  for (const field of raw.split(',').map(s => s.trim()).filter(s => s !== '')) {
    if (!/^[A-Za-z_][\w.$]*$/.test(field)) throw invalid(`_p: "${field}" is not a field name`)
    projection[field] = 1
  }
  return projection
}

function integer (query: QueryString, name: string, min: number, max: number): number | undefined {
  const raw = single(query, name)
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw)) throw invalid(`${name} must be an integer, got "${raw}"`)
  const n = Number(raw)
  if (n < min) throw invalid(`${name} must be >= ${min}`)
  if (n > max) throw invalid(`${name} must be <= ${max}`)
  return n
}

function single (query: QueryString, name: string): string | undefined {
  const v = query[name]
  return Array.isArray(v) ? v[v.length - 1] : v
}

function invalid (message: string): BraidError {
  return new BraidError('BRAID_QUERY_INVALID', message)
}
