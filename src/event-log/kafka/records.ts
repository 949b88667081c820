/**
 * Conversions between braid's records (text keys, values and headers) and Kafka's (bytes).
 * @module
 */
import { IS_CONTROL, type RecordsBatch } from '@platformatic/kafka'
import type { AppendRecord, LogRecord } from '../../model/log-record.ts'

/** Fixed bytes of one record in a v2 batch beyond its key, value and headers (length, attributes, deltas). */
const recordOverhead = 24

/** A record ready for the producer, with its partition chosen. */
export interface OutgoingRecord {
  topic: string
  partition: number
  /** The topic's partition count the partition was chosen with. */
  partitions: number
  key: Buffer | undefined
  value: Buffer | null
  headers: Map<Buffer, Buffer>
  timestamp: bigint
  /** Approximate bytes on the wire, for request sizing. */
  size: number
}

export function toOutgoing (topic: string, partition: number, partitions: number, r: AppendRecord, now: number): OutgoingRecord {
  const key = r.key === null ? undefined : Buffer.from(r.key, 'utf8')
  const value = r.value === null ? null : Buffer.from(r.value, 'utf8')
  const headers = new Map<Buffer, Buffer>()
  let size = recordOverhead + (key?.length ?? 0) + (value?.length ?? 0)
  if (r.headers !== undefined) {
    for (const [k, v] of Object.entries(r.headers)) {
      const hk = Buffer.from(k, 'utf8')
      const hv = Buffer.from(v, 'utf8')
      headers.set(hk, hv)
      size += hk.length + hv.length + 4
    }
  }
  return { topic, partition, partitions, key, value, headers, timestamp: BigInt(r.timestamp ?? now), size }
}

/**
 * Records of fetched batches from offset `from` on (a compressed batch may start before it),
 * skipping control batches (transaction markers). `next` is the offset after the last batch, so a
 * partition whose batches are all markers or compacted away still advances.
 */
export function fromBatches (topic: string, partition: number, batches: readonly RecordsBatch[], from: bigint): { records: LogRecord[], next: bigint } {
  const records: LogRecord[] = []
  let next = from
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    if (last + 1n > next) next = last + 1n
    if ((batch.attributes & IS_CONTROL) !== 0) continue
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta)
      if (offset < from) continue
      const headers: Record<string, string> = {}
      for (const [k, v] of r.headers) {
        if (k !== null) headers[k.toString('utf8')] = v === null ? '' : v.toString('utf8')
      }
      records.push({
        topic,
        partition,
        offset: Number(offset),
        key: r.key === null || r.key === undefined ? null : r.key.toString('utf8'),
        value: r.value === null || r.value === undefined ? null : r.value.toString('utf8'),
        timestamp: Number(batch.firstTimestamp + r.timestampDelta),
        headers
      })
    }
  }
  return { records, next }
}
