/**
 * Primary keys and their canonical string form.
 * @module
 */
import type { Doc } from './document.ts'

/**
 * Canonical id of a record for a list of key fields: a JSON array of the values in field order.
 * Two records have the same key exactly when their ids are equal. Dates are keyed by ISO string.
 */
export function keyId (doc: Doc, fields: readonly string[]): string {
  return JSON.stringify(fields.map(f => normaliseKeyValue(getPath(doc, f))))
}

/** The key fields of a document as an object (`{ field: value }`), in field order. */
export function keyObject (doc: Doc, fields: readonly string[]): Doc {
  const out: Doc = {}
  for (const f of fields) out[f] = getPath(doc, f)
  return out
}

/** True when every key field has a value (not undefined, not null, not ''). */
export function hasKey (doc: Doc, fields: readonly string[]): boolean {
  return fields.every(f => {
    const v = getPath(doc, f)
    return v !== undefined && v !== null && v !== ''
  })
}

function normaliseKeyValue (v: unknown): unknown {
  if (v instanceof Date) return v.toISOString()
  if (v === undefined) return null
  return v
}

/** Reads a dotted path (`a.b.c`) from a document; undefined when any step is missing. */
export function getPath (doc: unknown, path: string): unknown {
  if (!path.includes('.')) return (doc as Doc | null | undefined)?.[path]
  let cur: unknown = doc
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined
    cur = (cur as Doc)[part]
  }
  return cur
}

/** A 24-hex-digit id in the shape of a MongoDB ObjectId (time-ordered, unique per process). */
export function newObjectId (): string {
  const time = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0')
  counter = (counter + 1) % 0xffffff
  return time + processPart + counter.toString(16).padStart(6, '0')
}

let counter = Math.floor(Math.random() * 0xffffff)
const processPart = Array.from({ length: 10 }, () => Math.floor(Math.random() * 16).toString(16)).join('')
