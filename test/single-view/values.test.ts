import { describe, expect, it } from 'vitest'
import { stableStringify, storedEqual } from '../../src/single-view/values.ts'

/** A small seeded generator (mulberry32): the same cases on every run. */
function random (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const scalars: unknown[] = [0, -0, 1, 1.5, 'a', '1', '', true, false, null, undefined, Number.NaN, Infinity, 5n, 5,
  new Date('2026-01-02T03:04:05.000Z'), '2026-01-02T03:04:05.000Z']

function value (next: () => number, depth: number): unknown {
  const r = next()
  if (depth > 2 || r < 0.5) return scalars[Math.floor(next() * scalars.length)]
  if (r < 0.75) return Array.from({ length: Math.floor(next() * 3) }, () => value(next, depth + 1))
  const doc: Record<string, unknown> = {}
  for (const k of ['a', 'b', 'c', 'updatedAt']) if (next() < 0.6) doc[k] = value(next, depth + 1)
  return doc
}

/** A copy with one random change (or none), keys possibly in another order. */
function variant (v: unknown, next: () => number): unknown {
  if (v instanceof Date || v === null || typeof v !== 'object') return next() < 0.3 ? scalars[Math.floor(next() * scalars.length)] : v
  if (Array.isArray(v)) return next() < 0.1 ? [...v, 1] : v.map(e => next() < 0.2 ? variant(e, next) : e)
  const entries = Object.entries(v).reverse()
  const out: Record<string, unknown> = {}
  for (const [k, e] of entries) out[k] = next() < 0.2 ? variant(e, next) : e
  if (next() < 0.1) out['d'] = undefined
  if (next() < 0.05) out['e'] = 1
  return out
}

describe('storedEqual', () => {
  it('should agree with comparing stableStringify texts on 20,000 generated pairs', () => {
    const next = random(42)
    let equal = 0
    for (let i = 0; i < 20_000; i++) {
      const a = value(next, 0)
      const b = variant(a, next)
      const expected = stableStringify(a) === stableStringify(b)
      if (expected) equal++
      expect(storedEqual(a, b), `${stableStringify(a)} vs ${stableStringify(b)}`).toBe(expected)
    }
    // Both outcomes are exercised.
    expect(equal).toBeGreaterThan(2_000)
    expect(equal).toBeLessThan(18_000)
  })

  it('should ignore the named top-level field only', () => {
    expect(storedEqual({ a: 1, updatedAt: new Date(1) }, { a: 1, updatedAt: new Date(2) }, 'updatedAt')).toBe(true)
    expect(storedEqual({ a: 1, updatedAt: 1 }, { a: 1 }, 'updatedAt')).toBe(true)
    expect(storedEqual({ a: { updatedAt: 1 } }, { a: { updatedAt: 2 } }, 'updatedAt')).toBe(false)
    expect(storedEqual({ a: 1, updatedAt: 1 }, { a: 2, updatedAt: 1 }, 'updatedAt')).toBe(false)
  })

  it('should equal a Date and its ISO string, and tell apart 1 and "1"', () => {
    expect(storedEqual({ at: new Date('2026-01-02T03:04:05.000Z') }, { at: '2026-01-02T03:04:05.000Z' })).toBe(true)
    expect(storedEqual([1], ['1'])).toBe(false)
    expect(storedEqual({ a: [undefined] }, { a: [null] })).toBe(true)
    expect(storedEqual({ a: undefined }, {})).toBe(true)
  })
})
