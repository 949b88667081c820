/**
 * In-memory sort in MongoDB's order, for sorts SQLite cannot run (non-indexed or mixed-type fields).
 * Mongo order: null/missing < numbers < strings (by code point, like SQLite's BINARY collation on
 * UTF-8) < objects < arrays < booleans. An array field sorts by its smallest element ascending and its
 * largest descending. The sort is stable, so ties keep the input's id order.
 * @module
 */
import type { Doc, Sort } from '../../model/document.ts'

function typeRank (v: unknown): number {
  if (v === null || v === undefined) return 1
  switch (typeof v) {
    case 'number':
    case 'bigint': return 2
    case 'string': return 3
    case 'boolean': return 8
    case 'object':
      if (v instanceof Date) return 9
      return Array.isArray(v) ? 5 : 4
    default: return 10
  }
}

/** Compares strings by Unicode code point (JS `<` compares UTF-16 units, which differs above U+D7FF). */
export function compareStrings (a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    }
    return x < y ? -1 : 1
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0
}

/** Total order over JSON values following MongoDB's comparison order. */
export function compareValues (a: unknown, b: unknown): number {
  const ra = typeRank(a)
  const rb = typeRank(b)
  if (ra !== rb) return ra < rb ? -1 : 1
  switch (ra) {
    case 1: return 0
    case 2: {
      const x = Number(a)
      const y = Number(b)
      return x < y ? -1 : x > y ? 1 : 0
    }
    case 3: return compareStrings(a as string, b as string)
    case 8: return a === b ? 0 : a === false ? -1 : 1
    case 9: return compareValues((a as Date).getTime(), (b as Date).getTime())
    case 5: return compareArrays(a as unknown[], b as unknown[])
    case 4: return compareObjects(a as Doc, b as Doc)
    default: return 0
  }
}

function compareArrays (a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i])
    if (c !== 0) return c
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0
}

function compareObjects (a: Doc, b: Doc): number {
  const ea = Object.entries(a)
  const eb = Object.entries(b)
  const n = Math.min(ea.length, eb.length)
  for (let i = 0; i < n; i++) {
    const [ka, va] = ea[i] as [string, unknown]
    const [kb, vb] = eb[i] as [string, unknown]
    const byType = typeRank(va) - typeRank(vb)
    if (byType !== 0) return byType < 0 ? -1 : 1
    const byName = compareStrings(ka, kb)
    if (byName !== 0) return byName
    const byValue = compareValues(va, vb)
    if (byValue !== 0) return byValue
  }
  return ea.length < eb.length ? -1 : ea.length > eb.length ? 1 : 0
}

/** Every value a dotted path reaches, traversing arrays like MongoDB (array fields contribute their elements). */
function collect (value: unknown, segments: readonly string[], index: number, out: unknown[]): void {
  if (index === segments.length) {
    if (Array.isArray(value)) out.push(...value)
    else out.push(value)
    return
  }
  if (Array.isArray(value)) {
    const seg = segments[index] as string
    if (/^\d+$/.test(seg)) collect(value[Number(seg)], segments, index + 1, out)
    for (const el of value) {
      if (el !== null && typeof el === 'object' && !Array.isArray(el)) collect(el, segments, index, out)
    }
    return
  }
  if (value === null || typeof value !== 'object') return
  collect((value as Doc)[segments[index] as string], segments, index + 1, out)
}

function sortKey (doc: Doc, segments: readonly string[], dir: 1 | -1): unknown {
  const values: unknown[] = []
  collect(doc, segments, 0, values)
  if (values.length === 0) return null
  let best = values[0]
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i], best)
    if (dir === 1 ? c < 0 : c > 0) best = values[i]
  }
  return best
}

/** Sorts documents (stable) by a Mongo sort specification. */
export function sortDocs (docs: readonly Doc[], sort: Sort): Doc[] {
  const fields = Object.entries(sort).map(([path, dir]) => ({ segments: path.split('.'), dir: dir === -1 ? -1 as const : 1 as const }))
  const keyed = docs.map(doc => ({ doc, keys: fields.map(f => sortKey(doc, f.segments, f.dir)) }))
  keyed.sort((x, y) => {
    for (let i = 0; i < fields.length; i++) {
      const c = compareValues(x.keys[i], y.keys[i])
      if (c !== 0) return c * (fields[i] as { dir: 1 | -1 }).dir
    }
    return 0
  })
  return keyed.map(k => k.doc)
}
