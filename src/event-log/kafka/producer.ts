/**
 * The Kafka event log's producer: acks=all, idempotent, and one produce request in flight at a time.
 *
 * One request at a time because `@platformatic/kafka` 1.35 assigns idempotent sequence numbers when
 * a request succeeds, so concurrent sends to one partition reuse a sequence and the broker drops all
 * but one of them as duplicates while every send resolves (platformatic/kafka#326, reproduced
 * against Kafka 4.1.1: 20 concurrent sends, 1 record written). Appends arriving while a request is
 * in flight are coalesced into the next one (up to `maxRequestBytes`, and `maxBatchBytes` per
 * partition), so throughput stays high and records keep the order of the append calls. After a
 * failed request the producer is replaced (new producer id): its sequences may no longer match the
 * broker's.
 * @module
 */
import { ProduceAcks, Producer } from '@platformatic/kafka'
import type { LogPosition } from '../../model/log-record.ts'
import { clientOptions, type Connectivity, logUnavailable } from './client.ts'
import type { ResolvedKafkaEventLogOptions } from './options.ts'
import type { OutgoingRecord } from './records.ts'

interface PendingAppend {
  records: readonly OutgoingRecord[]
  positions: LogPosition[]
  /** First record not yet put into a request. */
  next: number
  /** Records of this append not yet acknowledged. */
  remaining: number
  failed: boolean
  resolve: (positions: LogPosition[]) => void
  reject: (err: unknown) => void
}

/** A slice of one append, sent within one request. */
interface Unit {
  append: PendingAppend
  from: number
  to: number
}

/**
 * Largest timestamp distance to the first record of its partition within one request, in ms.
 * Record timestamps travel as deltas to the batch's first one, and `@platformatic/dynamic-buffer`
 * 0.3 zigzag-encodes 64-bit varints with `value >> 31n` instead of `value >> 63n`: a delta beyond
 * ±2^31 ms (about 24.8 days) comes back wrong by a few ms. Such records go to the next request.
 */
const maxTimestampDelta = 2n ** 31n - 1n

export class KafkaAppender {
  readonly #options: ResolvedKafkaEventLogOptions
  readonly #connectivity: Connectivity
  #producer: Producer | undefined
  readonly #queue: PendingAppend[] = []
  #pumping: Promise<void> | undefined
  #running = false

  constructor (options: ResolvedKafkaEventLogOptions, connectivity: Connectivity) {
    this.#options = options
    this.#connectivity = connectivity
  }

  /** Resolves with each record's position once the brokers acknowledged all of them (acks=all). */
  async append (records: readonly OutgoingRecord[]): Promise<LogPosition[]> {
    if (records.length === 0) return []
    return await new Promise<LogPosition[]>((resolve, reject) => {
      this.#queue.push({ records, positions: new Array<LogPosition>(records.length), next: 0, remaining: records.length, failed: false, resolve, reject })
      if (!this.#running) {
        this.#running = true
        this.#pumping = this.#pump()
      }
    })
  }

  async #pump (): Promise<void> {
    for (;;) {
      while (this.#queue.length > 0 && ((this.#queue[0] as PendingAppend).failed || (this.#queue[0] as PendingAppend).next === (this.#queue[0] as PendingAppend).records.length)) this.#queue.shift()
      if (this.#queue.length === 0) {
        // Cleared in the same tick as the emptiness check, so an append never finds a pump about to end.
        this.#running = false
        return
      }
      await this.#send(this.#nextRequest())
    }
  }

  /**
   * The queued records of the next request, in append order: at least one record, at most
   * maxRequestBytes in all and maxBatchBytes per partition.
   */
  #nextRequest (): Unit[] {
    const units: Unit[] = []
    const batches = new Map<string, { firstTimestamp: bigint, bytes: number }>()
    let bytes = 0
    for (const append of this.#queue) {
      if (append.failed) continue
      const from = append.next
      let i = from
      for (; i < append.records.length; i++) {
        const r = append.records[i] as OutgoingRecord
        if (bytes > 0 && bytes + r.size > this.#options.maxRequestBytes) break
        const k = `${r.topic}\u0000${r.partition}`
        const batch = batches.get(k)
        if (batch === undefined) {
          batches.set(k, { firstTimestamp: r.timestamp, bytes: r.size })
        } else {
          if (batch.bytes + r.size > this.#options.maxBatchBytes) break
          if (r.timestamp - batch.firstTimestamp > maxTimestampDelta || batch.firstTimestamp - r.timestamp > maxTimestampDelta) break
          batch.bytes += r.size
        }
        bytes += r.size
      }
      if (i > from) units.push({ append, from, to: i })
      append.next = i
      if (i < append.records.length) break
    }
    return units
  }

  async #send (units: Unit[]): Promise<void> {
    const messages = []
    for (const u of units) {
      for (let i = u.from; i < u.to; i++) {
        const r = u.append.records[i] as OutgoingRecord
        messages.push({ topic: r.topic, partition: r.partition, key: r.key, value: r.value as Buffer, headers: r.headers, timestamp: r.timestamp })
      }
    }
    try {
      const producer = this.#producer ?? new Producer<Buffer, Buffer, Buffer, Buffer>({
        ...clientOptions(this.#options, 3),
        acks: ProduceAcks.ALL,
        idempotent: true
      } as ConstructorParameters<typeof Producer<Buffer, Buffer, Buffer, Buffer>>[0])
      this.#producer = producer
      // The client takes each record's partition modulo its cached partition count: a cache older
      // than the partition count braid chose with would move records to another partition.
      const metadata = producer.currentMetadata
      for (const u of units) {
        const r = u.append.records[u.from] as OutgoingRecord
        const known = metadata?.topics.get(r.topic)?.partitionsCount
        if (known !== undefined && known !== r.partitions) producer.clearMetadata()
      }
      const result = await producer.send({ messages })
      this.#connectivity.ok()
      const base = new Map<string, bigint>()
      for (const o of result.offsets ?? []) base.set(`${o.topic}\u0000${o.partition}`, o.offset)
      const next = new Map<string, bigint>()
      for (const u of units) {
        for (let i = u.from; i < u.to; i++) {
          const r = u.append.records[i] as OutgoingRecord
          const k = `${r.topic}\u0000${r.partition}`
          const offset = next.get(k) ?? base.get(k)
          if (offset === undefined) throw new Error(`the broker acknowledged no offset for ${r.topic} partition ${r.partition}`)
          next.set(k, offset + 1n)
          u.append.positions[i] = { topic: r.topic, partition: r.partition, offset: Number(offset) }
        }
        u.append.remaining -= u.to - u.from
        if (u.append.remaining === 0) u.append.resolve(u.append.positions)
      }
    } catch (err) {
      this.#connectivity.report(err, 'append')
      const failed = this.#producer
      this.#producer = undefined
      failed?.close(true, () => {
        // The failed producer is discarded; closing it is best effort.
      })
      const topics = [...new Set(units.flatMap(u => u.append.records.slice(u.from, u.to).map(r => r.topic)))]
      const error = logUnavailable(err, `append to ${topics.join(', ')}`)
      for (const u of units) {
        if (u.append.failed) continue
        u.append.failed = true
        u.append.reject(error)
      }
    }
  }

  /** Waits for the appends in flight, then closes the producer. */
  async close (): Promise<void> {
    await this.#pumping
    const producer = this.#producer
    this.#producer = undefined
    await producer?.close()
  }
}
