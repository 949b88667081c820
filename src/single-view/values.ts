/**
 * Value helpers shared by conditions, `_select`, the writer and the patcher: Mia constants,
 * Mongo-like equality and ordering, canonical value keys and deep equality.
 *
 * Documents live in the store as JSON, so a Date compares as its ISO string everywhere here.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Doc } from '../model/document.ts'

const constantPattern = /^__(string|integer|boolean|constant)__\[([\s\S]*)\]$/

/** True when a mapping or condition string is a Mia constant (`__string__[x]`, `__integer__[1]`, …). */
export function isConstant (text: string): boolean {
  return constantPattern.test(text)
}

/**
 * The value of a Mia constant, or undefined when the text is not a constant (a field reference).
 * `__integer__` must hold an integer and `__boolean__` `true` or `false` (BRAID_CONFIG_INVALID otherwise).
 */
export function parseConstant (text: string): { value: string | number | boolean } | undefined {
  const m = constantPattern.exec(text)
  if (m === null) return undefined
  const kind = m[1] as string
  const raw = m[2] as string
  switch (kind) {
    case 'integer': {
      const n = Number(raw.trim())
      if (raw.trim() === '' || !Number.isInteger(n)) throw new BraidError('BRAID_CONFIG_INVALID', `constant ${text} is not an integer`)
      return { value: n }
    }
    case 'boolean': {
      const t = raw.trim().toLowerCase()
      if (t !== 'true' && t !== 'false') throw new BraidError('BRAID_CONFIG_INVALID', `constant ${text} is not true or false`)
      return { value: t === 'true' }
    }
    default:
      return { value: raw }
  }
}

/**
 * Canonical text of a value: equal texts ⇔ equal values in the store's sense (types distinct:
 * `1` ≠ `'1'`; Dates equal their ISO string; objects compared by content, key order ignored).
 * null and undefined share one key.
 */
export function valueKey (v: unknown): string {
  switch (typeof v) {
    case 'string': return `s${v}`
    case 'number': return Number.isNaN(v) ? 'null' : `n${Object.is(v, -0) ? 0 : v}`
    case 'boolean': return v ? 'btrue' : 'bfalse'
    case 'bigint': return `n${v}`
    case 'undefined': return 'null'
    default:
      if (v === null) return 'null'
      if (v instanceof Date) return `s${v.toISOString()}`
      return `j${stableStringify(v)}`
  }
}

/** JSON text with object keys sorted and Dates as ISO strings: equal texts ⇔ equal stored documents. */
export function stableStringify (v: unknown): string {
  if (v === undefined || v === null) return 'null'
  if (v instanceof Date) return JSON.stringify(v.toISOString())
  if (Array.isArray(v)) return `[${v.map(e => e === undefined || typeof e === 'function' ? 'null' : stableStringify(e)).join(',')}]`
  if (typeof v === 'object') {
    const parts: string[] = []
    for (const k of Object.keys(v).sort()) {
      const e = (v as Doc)[k]
      if (e === undefined || typeof e === 'function') continue
      parts.push(`${JSON.stringify(k)}:${stableStringify(e)}`)
    }
    return `{${parts.join(',')}}`
  }
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number' && !Number.isFinite(v)) return 'null'
  return JSON.stringify(v) ?? 'null'
}

/**
 * `stableStringify(a) === stableStringify(b)` without building the texts (the writer compares every
 * rebuilt view with the stored one): Dates equal their ISO string, undefined object fields are
 * ignored, undefined array elements and non-finite numbers are null, key order does not matter.
 * `ignore` names a top-level field left out of the comparison.
 */
export function storedEqual (a: unknown, b: unknown, ignore?: string): boolean {
  const x = storedScalar(a)
  const y = storedScalar(b)
  if (x === y) return true
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) {
    // A bigint is written as its digits, like a number.
    return (typeof x === 'bigint' || typeof y === 'bigint') && (typeof x === 'number' || typeof x === 'bigint') && (typeof y === 'number' || typeof y === 'bigint') && String(x) === String(y)
  }
  const xa = Array.isArray(x)
  if (xa !== Array.isArray(y)) return false
  if (xa) {
    const ya = y as unknown[]
    if (x.length !== ya.length) return false
    for (let i = 0; i < x.length; i++) {
      if (!storedEqual(arrayElement(x[i]), arrayElement(ya[i]))) return false
    }
    return true
  }
  const xo = x as Doc
  const yo = y as Doc
  let present = 0
  for (const k in xo) {
    if (k === ignore || !Object.hasOwn(xo, k)) continue
    const v = xo[k]
    if (v === undefined || typeof v === 'function') continue
    present++
    const w = yo[k]
    if (w === undefined || typeof w === 'function' || !Object.hasOwn(yo, k) || !storedEqual(v, w)) return false
  }
  for (const k in yo) {
    if (k === ignore || !Object.hasOwn(yo, k)) continue
    const w = yo[k]
    if (w !== undefined && typeof w !== 'function') present--
  }
  return present === 0
}

/** A scalar as stableStringify writes it (Date → ISO string, undefined and non-finite numbers → null). */
function storedScalar (v: unknown): unknown {
  if (v === undefined) return null
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString()
  if (typeof v === 'number' && !Number.isFinite(v)) return null
  return v
}

function arrayElement (v: unknown): unknown {
  return typeof v === 'function' ? null : v
}

/** Deep equality as stored JSON (null ≡ undefined at the top, missing object fields ignored). */
export function sameValue (a: unknown, b: unknown): boolean {
  if (a === b) return true
  return valueKey(a) === valueKey(b)
}

/** Ordering of two values of the same kind (numbers, strings incl. Dates, booleans); undefined when incomparable. */
export function compareValues (a: unknown, b: unknown): number | undefined {
  const x = a instanceof Date ? a.toISOString() : a
  const y = b instanceof Date ? b.toISOString() : b
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : 0
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0
  if (typeof x === 'boolean' && typeof y === 'boolean') return x === y ? 0 : x ? 1 : -1
  if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : x > y ? 1 : 0
  return undefined
}

/** Query operators a condition may use, with Mongo semantics (an array field matches when one element does). */
export type QueryOp = '$eq' | '$ne' | '$gt' | '$gte' | '$lt' | '$lte' | '$in' | '$nin'

/** Evaluates `field <op> operand` the way a Mongo query does for the operators above. */
export function evalQueryOp (fieldValue: unknown, op: QueryOp, operand: unknown): boolean {
  switch (op) {
    case '$eq': return queryEquals(fieldValue, operand)
    case '$ne': return !queryEquals(fieldValue, operand)
    case '$in': return Array.isArray(operand) && operand.some(o => queryEquals(fieldValue, o))
    case '$nin': return !(Array.isArray(operand) && operand.some(o => queryEquals(fieldValue, o)))
    default: {
      const test = (v: unknown): boolean => {
        const c = compareValues(v, operand)
        if (c === undefined) return false
        return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0
      }
      return Array.isArray(fieldValue) ? fieldValue.some(test) : test(fieldValue)
    }
  }
}

function queryEquals (fieldValue: unknown, operand: unknown): boolean {
  if (sameValue(fieldValue, operand)) return true
  if (Array.isArray(fieldValue) && !Array.isArray(operand)) return fieldValue.some(e => sameValue(e, operand))
  return false
}

/** `_select` comparison (`==`, `!=`, `>`, `<`, `>=`, `<=`): missing ≡ null; ordering only between comparable values. */
export function evalSelectOp (left: unknown, op: string, right: unknown): boolean {
  switch (op) {
    case '==': return sameValue(left ?? null, right ?? null)
    case '!=': return !sameValue(left ?? null, right ?? null)
    default: {
      if (left === undefined || left === null || right === undefined || right === null) return false
      const c = compareValues(left, right)
      if (c === undefined) return false
      switch (op) {
        case '>': return c > 0
        case '<': return c < 0
        case '>=': return c >= 0
        case '<=': return c <= 0
        default: return false
      }
    }
  }
}

/** A copy of a value that shares nothing with its source (plain values are returned as is). */
export function cloneValue<T> (v: T): T {
  if (v === null || typeof v !== 'object') return v
  return structuredClone(v)
}

/** True for a non-null, non-array object. */
export function isPlainObject (v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof RegExp)
}
