import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey } from '../../src/event-log/embedded/partitioner.ts'

describe('partitioner', () => {
  const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

  it('murmur2 should match Kafka\'s Utils.murmur2 test vectors', () => {
    // From Kafka's UtilsTest.testMurmur2.
    expect(murmur2(utf8('21'))).toBe(-973932308)
    expect(murmur2(utf8('foobar'))).toBe(-790332482)
    expect(murmur2(utf8('a-little-bit-long-string'))).toBe(-985981536)
    expect(murmur2(utf8('a-little-bit-longer-string'))).toBe(-1486304829)
    expect(murmur2(utf8('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971)
    expect(murmur2(new Uint8Array([0x61, 0x62, 0x63]))).toBe(479470107)
  })

  it('partitionForKey should be stable, in range, and hash UTF-8 bytes', () => {
    for (const key of ['', 'a', 'ünïcödé 😀', 'x'.repeat(1_000)]) {
      const p = partitionForKey(key, 7)
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThan(7)
      expect(partitionForKey(key, 7)).toBe(p)
      expect(p).toBe((murmur2(utf8(key)) & 0x7fffffff) % 7)
    }
    expect(partitionForKey('anything', 1)).toBe(0)
  })
})
