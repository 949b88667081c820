/**
 * Query push-down of the embedded store: which parts of a Mongo-style filter and sort SQLite can
 * evaluate on the columns of indexed paths (which hold `json_extract` of the document, see schema.ts),
 * and so on the collection's indexes.
 *
 * The SQL condition is always a SUPERSET of the documents the filter matches; mingo then applies
 * the full filter to the candidates, unless every part of the filter was translated EXACTLY, in which
 * case SQLite's answer is final (and skip/limit/count run in SQL too).
 *
 * Exactness depends on the values a field holds, because SQL and Mongo disagree on a few points:
 * json_extract yields 1/0 for booleans (so `= 1` also matches `true`), an object's JSON text is
 * compared as a string, and Mongo matches `{ f: v }` against arrays containing v (json_extract does
 * not). The store therefore tracks, for every indexed path, which JSON types it has ever held
 * (see paths.ts); only indexed paths are pushed down, and never one that has held an array.
 * @module
 */
import type { Filter, Sort } from '../../model/document.ts'
import { fieldColumn, fieldExpr, isExpressiblePath } from './sql.ts'

/** JSON types seen at a path (bit set). Null and missing are not tracked: SQL and Mongo agree on them. */
export const PathType = {
  number: 1,
  string: 2,
  boolean: 4,
  object: 8,
  /** An array at the path or at any prefix of it. */
  array: 16
} as const

export type SqlParam = string | number | null

/** SQL translation of the pushable part of a filter. */
export interface FilterPlan {
  /** Conjunction of SQL conditions (empty: no condition). */
  where: string[]
  params: SqlParam[]
  /** True when SQLite's answer is the filter's answer (no mingo re-check needed). */
  exact: boolean
}

/** How find orders its results: in SQL (`orderBy`) or in memory (`memory`). */
export type SortPlan = { kind: 'sql', orderBy: string } | { kind: 'memory' }

/**
 * Copies a filter with every Date replaced by its ISO string: documents are stored as JSON, so a
 * Date field is an ISO string on disk and filters must compare against the same representation.
 */
export function normaliseFilter (filter: Filter): Filter {
  return normaliseValue(filter) as Filter
}

function normaliseValue (value: unknown): unknown {
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(normaliseValue)
  if (value !== null && typeof value === 'object' && !(value instanceof RegExp)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = normaliseValue(v)
    return out
  }
  return value
}

/** Scalar a pushed condition compares with, and the PathType bit of its JSON type. */
interface Bound { param: SqlParam, bit: number }

/** Only these strings order the same in SQLite (UTF-8 bytes) and mingo (UTF-16 units) against any other string. */
const orderSafeString = /^[\u0000-\ud7ff]*$/

function toBound (value: unknown): Bound | undefined {
  switch (typeof value) {
    case 'string': return { param: value, bit: PathType.string }
    case 'number': return Number.isFinite(value) ? { param: value, bit: PathType.number } : undefined
    case 'boolean': return { param: value ? 1 : 0, bit: PathType.boolean }
    default: return undefined
  }
}

/** True when a range condition against a `bit` bound is exact on a path holding `types`. */
function exactRange (types: number, bit: number): boolean {
  return (types & ~bit) === 0
}

/**
 * True when equality against bounds of the types in `bits` is exact on a path holding `types`:
 * SQL only confuses numbers with booleans (both integers) and strings with objects (JSON text).
 */
function exactEquality (types: number, bits: number): boolean {
  const confusable = (a: number, b: number): boolean => (bits & a) !== 0 && (types & b) !== 0
  return !confusable(PathType.number, PathType.boolean) &&
    !confusable(PathType.boolean, PathType.number) &&
    !confusable(PathType.string, PathType.object)
}

const rangeOps: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }

/**
 * Translates the top-level conjunction of a (normalised) filter. `pathTypes` gives the tracked types
 * of the collection's indexed paths; fields not in it stay in memory. `columns` are the indexed
 * paths held in columns.
 */
export function planFilter (filter: Filter, pathTypes: ReadonlyMap<string, number>, columns: ReadonlySet<string>): FilterPlan {
  const plan: FilterPlan = { where: [], params: [], exact: true }
  addConjunction(filter, pathTypes, columns, plan)
  return plan
}

/** The SQL reading an indexed path: its column, or (collection not yet upgraded) the expression of its old index. */
function pathSql (path: string, columns: ReadonlySet<string>): string {
  return columns.has(path) ? fieldColumn(path) : fieldExpr(path)
}

function addConjunction (filter: Filter, pathTypes: ReadonlyMap<string, number>, columns: ReadonlySet<string>, plan: FilterPlan): void {
  for (const [field, cond] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(cond)) {
      for (const sub of cond) {
        if (sub !== null && typeof sub === 'object' && !Array.isArray(sub)) addConjunction(sub as Filter, pathTypes, columns, plan)
        else plan.exact = false
      }
      continue
    }
    if (field.startsWith('$')) {
      plan.exact = false
      continue
    }
    const types = pathTypes.get(field)
    if (types === undefined || (types & PathType.array) !== 0 || !isExpressiblePath(field)) {
      plan.exact = false
      continue
    }
    addFieldCondition(pathSql(field, columns), cond, types, plan)
  }
}

function isOperatorObject (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof RegExp) return false
  const keys = Object.keys(value)
  return keys.length > 0 && keys.every(k => k.startsWith('$'))
}

function addFieldCondition (expr: string, cond: unknown, types: number, plan: FilterPlan): void {
  if (!isOperatorObject(cond)) {
    addEquality(expr, cond, types, plan)
    return
  }
  for (const [op, operand] of Object.entries(cond)) {
    if (op === '$eq') {
      addEquality(expr, operand, types, plan)
    } else if (op === '$in' && Array.isArray(operand)) {
      addIn(expr, operand, types, plan)
    } else if (rangeOps[op] !== undefined) {
      const bound = toBound(operand)
      if (bound === undefined || (typeof bound.param === 'string' && !orderSafeString.test(bound.param))) {
        plan.exact = false
        continue
      }
      plan.where.push(`${expr} ${rangeOps[op]} ?`)
      plan.params.push(bound.param)
      if (!exactRange(types, bound.bit)) plan.exact = false
    } else {
      // $ne, $nin, $exists, $regex, $elemMatch, $size, $type, $not, …: evaluated by mingo.
      plan.exact = false
    }
  }
}

function addEquality (expr: string, value: unknown, types: number, plan: FilterPlan): void {
  if (value === null) {
    // Mongo `{ f: null }` matches null and missing fields; json_extract yields NULL for both.
    plan.where.push(`${expr} IS NULL`)
    return
  }
  const bound = toBound(value)
  if (bound === undefined) {
    plan.exact = false
    return
  }
  plan.where.push(`${expr} = ?`)
  plan.params.push(bound.param)
  if (!exactEquality(types, bound.bit)) plan.exact = false
}

function addIn (expr: string, values: unknown[], types: number, plan: FilterPlan): void {
  const params: SqlParam[] = []
  let hasNull = false
  let bits = 0
  for (const v of values) {
    if (v === null) {
      hasNull = true
      continue
    }
    const bound = toBound(v)
    if (bound === undefined) {
      // Regexes, objects or arrays inside $in: leave the whole condition to mingo.
      plan.exact = false
      return
    }
    params.push(bound.param)
    bits |= bound.bit
  }
  const parts: string[] = []
  if (params.length > 0) parts.push(`${expr} IN (${params.map(() => '?').join(',')})`)
  if (hasNull) parts.push(`${expr} IS NULL`)
  plan.where.push(parts.length === 0 ? '0' : parts.length === 1 ? parts[0] as string : `(${parts.join(' OR ')})`)
  plan.params.push(...params)
  if (!exactEquality(types, bits)) plan.exact = false
}

/**
 * Sorts in SQL when every sort field is an indexed path that has only ever held one scalar type
 * (plus null/missing): SQLite then orders exactly as Mongo does (NULL first ascending, last descending,
 * strings by code point). Ties break on id, as the in-memory sort does (it is stable over id order).
 */
export function planSort (sort: Sort | undefined, pathTypes: ReadonlyMap<string, number>, columns: ReadonlySet<string>): SortPlan {
  const entries = Object.entries(sort ?? {})
  if (entries.length === 0) return { kind: 'sql', orderBy: 'id' }
  const terms: string[] = []
  for (const [field, dir] of entries) {
    const types = pathTypes.get(field)
    if (types === undefined || !isExpressiblePath(field)) return { kind: 'memory' }
    if ((types & (PathType.array | PathType.object)) !== 0) return { kind: 'memory' }
    const scalar = types & (PathType.number | PathType.string | PathType.boolean)
    if ((scalar & (scalar - 1)) !== 0) return { kind: 'memory' }
    terms.push(`${pathSql(field, columns)}${dir === -1 ? ' DESC' : ''}`)
  }
  terms.push('id')
  return { kind: 'sql', orderBy: terms.join(', ') }
}
