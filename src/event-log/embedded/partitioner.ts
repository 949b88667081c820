/**
 * Kafka's default partitioner for keyed records: `toPositive(murmur2(utf8(key))) % partitions`.
 * Using the same hash as Kafka means a key lands on the same partition number in the embedded log
 * and in a Kafka topic with the same partition count.
 * @module
 */

const encoder = new TextEncoder()
let scratch = new Uint8Array(256)

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2 (data: Uint8Array, length: number = data.length): number {
  const m = 0x5bd1e995
  const r = 24
  let h = 0x9747b28c ^ length
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = (data[i4] as number) | ((data[i4 + 1] as number) << 8) | ((data[i4 + 2] as number) << 16) | ((data[i4 + 3] as number) << 24)
    k = Math.imul(k, m)
    k ^= k >>> r
    k = Math.imul(k, m)
    h = Math.imul(h, m)
    h ^= k
  }
  const tail = length & ~3
  const rest = length & 3
  if (rest === 3) h ^= (data[tail + 2] as number) << 16
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8
  if (rest >= 1) {
    h ^= data[tail] as number
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** The partition of a key among `partitions`, as Kafka's default partitioner computes it. */
export function partitionForKey (key: string, partitions: number): number {
  if (partitions === 1) return 0
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3)
  const { written } = encoder.encodeInto(key, scratch)
  return (murmur2(scratch, written) & 0x7fffffff) % partitions
}
