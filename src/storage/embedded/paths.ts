/**
 * Tracking of the JSON types held by indexed paths, which decides what query.ts may push down.
 * The set only grows (a path that once held an array stays "array" until its collection is
 * cleared): a stale bit only costs a mingo re-check, never a wrong answer.
 * @module
 */
import type { Doc } from '../../model/document.ts'
import { PathType } from './query.ts'

/** A path split once into segments, with its text. */
export interface TrackedPath {
  path: string
  segments: string[]
}

export function trackedPath (path: string): TrackedPath {
  return { path, segments: path.split('.') }
}

/** PathType bit of the value at `segments` (0 for null or missing; `array` when any step is an array). */
export function pathTypeOf (doc: Doc, segments: readonly string[]): number {
  let cur: unknown = doc
  for (const seg of segments) {
    if (Array.isArray(cur)) return PathType.array
    if (cur === null || typeof cur !== 'object') return 0
    cur = (cur as Doc)[seg]
  }
  return valueType(cur)
}

/** PathType bit of one value as it is stored (a Date is stored as an ISO string). */
export function valueType (value: unknown): number {
  switch (typeof value) {
    case 'number': return Number.isFinite(value) ? PathType.number : 0
    case 'string': return PathType.string
    case 'boolean': return PathType.boolean
    case 'bigint': return PathType.number
    case 'object':
      if (value === null) return 0
      if (Array.isArray(value)) return PathType.array
      if (value instanceof Date) return PathType.string
      return PathType.object
    default: return 0
  }
}

/** Maps a SQLite `json_type` answer onto PathType bits. */
export function jsonTypeBit (jsonType: string | null): number {
  switch (jsonType) {
    case 'integer':
    case 'real': return PathType.number
    case 'text': return PathType.string
    case 'true':
    case 'false': return PathType.boolean
    case 'object': return PathType.object
    case 'array': return PathType.array
    default: return 0
  }
}

/**
 * The SQL value `json_extract` yields at `segments` of a stored document (dates already ISO strings):
 * NULL for null, missing or a step through a non-object, 1/0 for booleans, the JSON text of objects
 * and arrays. The triggers of schema.ts correct any value this gets wrong, so it only has to be fast.
 */
export function sqlValueAt (doc: Doc, segments: readonly string[]): string | number | bigint | null {
  let cur: unknown = doc
  for (const seg of segments) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return null
    cur = (cur as Doc)[seg]
  }
  switch (typeof cur) {
    case 'string': return cur
    case 'number':
      if (!Number.isFinite(cur)) return null
      // JSON holds the shortest decimal of a large integer; SQLite reads it back as that integer.
      return Number.isSafeInteger(cur) || !Number.isInteger(cur) || Math.abs(cur) >= 2 ** 63 ? cur : BigInt(JSON.stringify(cur))
    case 'boolean': return cur ? 1 : 0
    case 'object':
      if (cur === null) return null
      if (cur instanceof Date) return Number.isNaN(cur.getTime()) ? null : cur.toISOString()
      return JSON.stringify(cur)
    default: return null
  }
}
