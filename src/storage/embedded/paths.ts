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
