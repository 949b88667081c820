/**
 * Read-query parameters of the CRUD-Service-compatible routes: `_q`, `_st`, `_l`, `_sk`, `_s`, `_p`
 * and `field=value` filters, turned into a store filter and find options.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Filter, Sort } from '../model/document.ts'
import type { FindOptions } from '../storage/store.ts'

export const DEFAULT_LIMIT = 25
export const MAX_LIMIT = 200

const states = new Set(['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'])
const topLevelOperators = new Set(['$and', '$or'])
const fieldOperators = new Set(['$gt', '$lt', '$gte', '$lte', '$eq', '$ne', '$in', '$nin', '$all', '$exists', '$regex', '$options', '$elemMatch', '$size', '$not'])

export type QueryString = Record<string, string | string[] | undefined>

export interface ReadQuery {
  filter: Filter
  options: FindOptions
}

/**
 * Builds `{ $and: [_q, field filters, state] }` and the paging options; throws BRAID_QUERY_INVALID.
 * `stateful: false` is for collections without `__STATE__` (system collections); `unbounded: true`
 * (exports) gives `_l` no default and no maximum.
 */
export function parseReadQuery (query: QueryString, { paged, stateful = true, unbounded = false }: { paged: boolean, stateful?: boolean, unbounded?: boolean }): ReadQuery {
  const parts: Filter[] = []
  const q = single(query, '_q')
  if (q !== undefined) parts.push(parseFilter(q))
  for (const [name, raw] of Object.entries(query)) {
    if (name.startsWith('_') || raw === undefined) continue
    const value = Array.isArray(raw) ? raw[raw.length - 1] ?? '' : raw
    parts.push({ [name]: { $in: candidateValues(value) } })
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
    if (sort !== undefined) options.sort = sort
    const projection = parseProjection(single(query, '_p'))
    if (projection !== undefined) options.projection = projection
  }
  return { filter: parts.length <= 1 ? parts[0] ?? {} : { $and: parts }, options }
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

export function parseFilter (text: string): Filter {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw invalid(`_q is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('_q must be a JSON object (a MongoDB filter)')
  checkFilter(parsed as Filter, true)
  return parsed as Filter
}

function checkFilter (filter: Filter, topLevel: boolean): void {
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
        checkFilter(sub as Filter, topLevel)
      }
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
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
