import { describe, expect, it } from 'vitest'
import { formatAge } from '../../console/src/format.ts'

describe('formatAge', () => {
  const now = Date.parse('2025-06-01T12:00:00Z')
  const ago = (ms: number): string => new Date(now - ms).toISOString()

  it('should say how long ago a time was, in the largest whole unit', () => {
    expect(formatAge(ago(400), now)).toBe('just now')
    expect(formatAge(ago(42_000), now)).toBe('42 s ago')
    expect(formatAge(ago(5 * 60_000 + 59_000), now)).toBe('5 min ago')
    expect(formatAge(ago(3 * 3600_000 + 1), now)).toBe('3 h ago')
    expect(formatAge(ago(2 * 86_400_000 + 5), now)).toBe('2 d ago')
  })

  it('should count a time ahead of the clock as now, and show what it cannot read', () => {
    expect(formatAge(ago(-5000), now)).toBe('just now')
    expect(formatAge(undefined, now)).toBe('–')
    expect(formatAge(null, now)).toBe('–')
    expect(formatAge('not a time', now)).toBe('not a time')
  })
})
