/**
 * The Kafka event log: the EventLog interface over an Apache Kafka cluster (3.5+, 4.x).
 *
 * - Topics: `ensureTopics` fails with BRAID_TOPIC_MISSING naming the missing topics (and the
 *   command that creates them) unless `autoCreateTopics` is on; a topic's partition count is never
 *   changed.
 * - Append: the partition of a keyed record is Kafka's default `murmur2(key) % partitions` (the
 *   Java client's, so Debezium / Kafka Connect producers put a key on the same partition), records
 *   without a key go round robin; acks=all with an idempotent producer (see producer.ts).
 * - Consume: one consumer group member per subscription (see subscription.ts and group.ts).
 * @module
 */
import { Admin } from '@platformatic/kafka'
import { BraidError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'
import type { AppendRecord, LogPosition, LogRecord } from '../../model/log-record.ts'
import type { BatchHandler, ConsumeOptions, EventLog, EventLogHealth, PartitionOffsets, Subscription, TopicSpec } from '../event-log.ts'
import { partitionForKey } from '../embedded/partitioner.ts'
import { brokerConnection, callApi, clientOptions, type ClusterInfo, Connectivity, type TopicInfo, isNetworkError, logUnavailable, protocolErrorIds, TopicCache } from './client.ts'
import { type KafkaEventLogOptions, resolveKafkaEventLogOptions, type ResolvedKafkaEventLogOptions } from './options.ts'
import { KafkaAppender } from './producer.ts'
import { fromBatches, type OutgoingRecord, toOutgoing } from './records.ts'
import { KafkaSubscription } from './subscription.ts'

/** The Kafka log: the EventLog interface plus its connection state. */
export interface KafkaEventLog extends EventLog {
  readonly kind: 'kafka'
  health (): EventLogHealth
}

/** Connects lazily: creating the log opens no connection; the first operation does. */
export function createKafkaEventLog (options: KafkaEventLogOptions): KafkaEventLog {
  return new KafkaLog(options)
}

const EARLIEST = -2n
const LATEST = -1n

class KafkaLog implements KafkaEventLog {
  readonly kind = 'kafka' as const
  readonly #o: ResolvedKafkaEventLogOptions
  readonly #logger: Logger | undefined
  readonly #connectivity: Connectivity
  readonly #admin: Admin
  readonly #topics: TopicCache
  readonly #appender: KafkaAppender
  readonly #subscriptions = new Set<KafkaSubscription>()
  /** topic → next partition for records without a key (round robin). */
  readonly #roundRobin = new Map<string, number>()
  #closing: Promise<void> | undefined

  constructor (options: KafkaEventLogOptions) {
    this.#o = resolveKafkaEventLogOptions(options)
    this.#logger = options.logger
    this.#connectivity = new Connectivity(this.#logger)
    this.#admin = new Admin(clientOptions(this.#o, 3) as ConstructorParameters<typeof Admin>[0])
    this.#topics = new TopicCache(this.#admin, this.#o.metadataMaxAgeMs)
    this.#appender = new KafkaAppender(this.#o, this.#connectivity)
  }

  health (): EventLogHealth {
    return this.#connectivity.health()
  }

  #checkOpen (action: string): void {
    if (this.#closing !== undefined) throw new BraidError('BRAID_LOG_UNAVAILABLE', `${action}: the Kafka event log is closed`, { retryable: false })
  }

  /** Runs a broker operation: network failures feed the outage tracker, errors become BraidErrors. */
  async #op<T> (action: string, fn: () => Promise<T>): Promise<T> {
    this.#checkOpen(action)
    try {
      const result = await fn()
      this.#connectivity.ok()
      return result
    } catch (err) {
      if (err instanceof BraidError) throw err
      this.#connectivity.report(err, action)
      throw logUnavailable(err, action)
    }
  }

  #missingError (topics: readonly string[], partitions: (topic: string) => number): BraidError {
    const brokers = this.#o.brokers.join(',')
    const commands = topics.map(t => `kafka-topics.sh --bootstrap-server ${brokers} --create --topic ${t} --partitions ${partitions(t)}${this.#o.replicationFactor > 0 ? ` --replication-factor ${this.#o.replicationFactor}` : ''}`)
    return new BraidError('BRAID_TOPIC_MISSING',
      `Kafka topic${topics.length > 1 ? 's' : ''} missing: ${topics.join(', ')}. Create ${topics.length > 1 ? 'them' : 'it'} (${commands.join('; ')}) or set autoCreateTopics: true in the Kafka event log options`,
      { details: { topics: [...topics], brokers: this.#o.brokers } })
  }

  async ensureTopics (specs: TopicSpec[]): Promise<void> {
    for (const spec of specs) {
      if (typeof spec?.name !== 'string' || spec.name === '') throw new BraidError('BRAID_INTERNAL', `ensureTopics: invalid topic name ${JSON.stringify(spec?.name)}`)
      const n = spec.partitions ?? this.#o.defaultPartitions
      if (!Number.isInteger(n) || n < 1) throw new BraidError('BRAID_INTERNAL', `Topic ${spec.name}: partitions must be an integer >= 1, got ${String(n)}`)
    }
    if (specs.length === 0) return
    const wanted = new Map(specs.map(s => [s.name, s.partitions ?? this.#o.defaultPartitions]))
    await this.#op('ensureTopics', async () => {
      const cluster = await this.#topics.get([...wanted.keys()], true)
      for (const [name, info] of cluster.topics) {
        const spec = specs.find(s => s.name === name)
        if (spec?.partitions !== undefined && spec.partitions !== info.partitions) {
          this.#logger?.warn({ topic: name, partitions: info.partitions, requested: spec.partitions }, 'topic exists with another partition count; keeping it (a key maps to the same partition only while the count stays)')
        }
      }
      if (cluster.missing.length === 0) return
      if (!this.#o.autoCreateTopics) throw this.#missingError(cluster.missing, t => wanted.get(t) ?? this.#o.defaultPartitions)
      await this.#create(cluster.missing.map(name => ({ name, partitions: wanted.get(name) ?? this.#o.defaultPartitions })))
    })
  }

  /** Creates topics (one that appeared meanwhile is fine) and waits until every partition has a leader. */
  async #create (specs: ReadonlyArray<{ name: string, partitions: number }>): Promise<void> {
    const byCount = new Map<number, string[]>()
    for (const s of specs) byCount.set(s.partitions, [...(byCount.get(s.partitions) ?? []), s.name])
    for (const [partitions, topics] of byCount) {
      try {
        await this.#admin.createTopics({ topics, partitions, replicas: this.#o.replicationFactor })
      } catch (err) {
        const ids = protocolErrorIds(err)
        if (ids.length === 0 || !ids.every(id => id === 'TOPIC_ALREADY_EXISTS')) throw err
      }
      this.#logger?.info({ topics, partitions }, 'Kafka topics created')
    }
    const names = specs.map(s => s.name)
    const deadline = Date.now() + this.#o.requestTimeoutMs
    for (;;) {
      const cluster = await this.#topics.get(names, true)
      const ready = cluster.missing.length === 0 && [...cluster.topics.values()].every(t => t.partitions > 0 && t.leaders.every(l => l >= 0))
      // Metadata names a leader a moment before that broker serves the partition (NOT_LEADER_OR_FOLLOWER):
      // the topics are usable once their offsets can be listed.
      if (ready && await this.#offsetsListable(names)) return
      if (Date.now() > deadline) throw new BraidError('BRAID_LOG_UNAVAILABLE', `created topics ${names.join(', ')} have no partition leaders after ${this.#o.requestTimeoutMs} ms`, { retryable: true })
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  async #offsetsListable (topics: readonly string[]): Promise<boolean> {
    try {
      for (const topic of topics) await this.offsets(topic)
      return true
    } catch {
      return false
    }
  }

  /** A topic's metadata, looked up again when the cache says it is missing (it may have been created since). */
  async #topicInfo (topic: string): Promise<TopicInfo | undefined> {
    return (await this.#topics.get([topic])).topics.get(topic) ?? (await this.#topics.get([topic], true)).topics.get(topic)
  }

  /** The partition count of a topic to append to; a missing topic is created (auto-create) or an error. */
  async #partitionsOf (topic: string): Promise<number> {
    const info = await this.#topicInfo(topic)
    if (info !== undefined && info.partitions > 0) return info.partitions
    if (!this.#o.autoCreateTopics) throw this.#missingError([topic], () => this.#o.defaultPartitions)
    await this.#create([{ name: topic, partitions: this.#o.defaultPartitions }])
    return (await this.#topics.get([topic])).topics.get(topic)?.partitions ?? this.#o.defaultPartitions
  }

  async append (topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]> {
    this.#checkOpen(`append to ${topic}`)
    if (records.length === 0) return []
    for (const r of records) {
      if ((r.key !== null && typeof r.key !== 'string') || (r.value !== null && typeof r.value !== 'string')) {
        throw new BraidError('BRAID_INTERNAL', `append to ${topic}: record keys and values must be strings or null`)
      }
    }
    const partitions = await this.#op(`append to ${topic}`, async () => await this.#partitionsOf(topic))
    const now = Date.now()
    let rr = this.#roundRobin.get(topic) ?? 0
    const outgoing: OutgoingRecord[] = records.map(r => {
      let partition: number
      if (r.key === null) {
        partition = rr % partitions
        rr = (rr + 1) % partitions
      } else {
        partition = partitionForKey(r.key, partitions)
      }
      return toOutgoing(topic, partition, partitions, r, now)
    })
    this.#roundRobin.set(topic, rr)
    try {
      return await this.#appender.append(outgoing)
    } catch (err) {
      // The producer may hold stale leaders: look the topic up again before the caller retries.
      this.#topics.invalidate([topic])
      throw err
    }
  }

  async read (topic: string, partition: number, offset: number, limit: number): Promise<LogRecord[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new BraidError('BRAID_INTERNAL', `read: limit must be an integer >= 0, got ${String(limit)}`)
    if (!Number.isInteger(offset) || offset < 0) throw new BraidError('BRAID_INTERNAL', `read: offset must be an integer >= 0, got ${String(offset)}`)
    if (limit === 0) return []
    return await this.#op(`read ${topic}`, async () => {
      let cluster = await this.#topics.get([topic])
      let info = cluster.topics.get(topic)
      if (info === undefined || partition >= info.partitions || (info.leaders[partition] ?? -1) < 0) {
        cluster = await this.#topics.get([topic], true)
        info = cluster.topics.get(topic)
      }
      if (info === undefined || !Number.isInteger(partition) || partition < 0 || partition >= info.partitions) return []
      const out: LogRecord[] = []
      let from = BigInt(offset)
      while (out.length < limit) {
        const { records, next, end } = await this.#fetchOnce(cluster, info.name, info.id, partition, from)
        for (const r of records) {
          if (out.length >= limit) break
          out.push(r)
        }
        if (records.length === 0 || next >= end) break
        from = next
      }
      return out
    })
  }

  /** One fetch without waiting; below the log start it reads from the first retained record, beyond the end it reads nothing. */
  async #fetchOnce (cluster: ClusterInfo, topic: string, topicId: string, partition: number, from: bigint): Promise<{ records: LogRecord[], next: bigint, end: bigint }> {
    const leader = cluster.topics.get(topic)?.leaders[partition] ?? -1
    const broker = cluster.brokers.get(leader)
    if (broker === undefined) {
      this.#topics.invalidate([topic])
      throw new BraidError('BRAID_LOG_UNAVAILABLE', `read ${topic}: partition ${partition} has no leader right now`, { retryable: true })
    }
    const connection = await brokerConnection(this.#admin, broker)
    type Partition = { errorCode: number, highWatermark: bigint, logStartOffset: bigint, records?: Parameters<typeof fromBatches>[2] }
    let response: { responses: Array<{ partitions: Partition[] }> }
    try {
      response = await callApi(this.#admin, 'Fetch', connection, [0, 1, this.#o.fetchMaxBytesPerPartition, 0, 0, -1,
        [{ topicId, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: from, lastFetchedEpoch: -1, partitionMaxBytes: this.#o.fetchMaxBytesPerPartition }] }], [], ''])
    } catch (err) {
      const partial = (err as { response?: typeof response }).response
      if (partial?.responses === undefined || isNetworkError(err)) {
        this.#topics.invalidate([topic])
        throw err
      }
      response = partial
    }
    const p = response.responses[0]?.partitions[0]
    if (p === undefined) return { records: [], next: from, end: from }
    if (p.errorCode === 1) {
      // OFFSET_OUT_OF_RANGE: before the first retained record, read from there; beyond the end, nothing.
      const [start] = await this.#listOffsets(topic, [partition], EARLIEST)
      const first = start?.offset ?? 0n
      if (from < first) return await this.#fetchOnce(cluster, topic, topicId, partition, first)
      return { records: [], next: from, end: from }
    }
    if (p.errorCode !== 0) {
      this.#topics.invalidate([topic])
      throw new BraidError('BRAID_LOG_UNAVAILABLE', `read ${topic} partition ${partition}: Kafka error code ${p.errorCode}`, { retryable: true, details: { kafkaErrorCode: p.errorCode } })
    }
    const { records, next } = fromBatches(topic, partition, p.records ?? [], from)
    return { records, next, end: p.highWatermark }
  }

  async #listOffsets (topic: string, partitions: readonly number[], timestamp: bigint): Promise<Array<{ partition: number, offset: bigint }>> {
    const request = { topics: [{ name: topic, partitions: partitions.map(partitionIndex => ({ partitionIndex, timestamp })) }] }
    let listed
    try {
      listed = await this.#admin.listOffsets(request)
    } catch (err) {
      if (isNetworkError(err)) throw err
      // The client's own metadata may predate a partition or a leader change: refresh it once.
      this.#admin.clearMetadata()
      listed = await this.#admin.listOffsets(request)
    }
    const out: Array<{ partition: number, offset: bigint }> = []
    for (const t of listed) for (const p of t.partitions) out.push({ partition: p.partitionIndex, offset: p.offset })
    return out.sort((a, b) => a.partition - b.partition)
  }

  async offsets (topic: string): Promise<PartitionOffsets[]> {
    return await this.#op(`offsets of ${topic}`, async () => {
      const info = await this.#topicInfo(topic)
      if (info === undefined || info.partitions === 0) return []
      const all = Array.from({ length: info.partitions }, (_, i) => i)
      const [starts, ends] = await Promise.all([this.#listOffsets(topic, all, EARLIEST), this.#listOffsets(topic, all, LATEST)])
      const startOf = new Map(starts.map(s => [s.partition, s.offset]))
      return ends.map(e => ({ partition: e.partition, start: Number(startOf.get(e.partition) ?? e.offset), end: Number(e.offset) }))
    })
  }

  async committed (group: string, topic: string): Promise<Array<{ partition: number, offset: number }>> {
    return await this.#op('committed', async () => {
      const info = await this.#topicInfo(topic)
      if (info === undefined || info.partitions === 0) return []
      const partitionIndexes = Array.from({ length: info.partitions }, (_, i) => i)
      const groups = await this.#admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes }] }] })
      const out: Array<{ partition: number, offset: number }> = []
      for (const g of groups) {
        for (const t of g.topics) {
          if (t.name !== topic) continue
          for (const p of t.partitions) if (p.committedOffset >= 0n) out.push({ partition: p.partitionIndex, offset: Number(p.committedOffset) })
        }
      }
      return out.sort((a, b) => a.partition - b.partition)
    })
  }

  consume (options: ConsumeOptions, handler: BatchHandler): Subscription {
    this.#checkOpen(`consume ${options?.topics?.join(', ') ?? ''}`)
    if (typeof options?.group !== 'string' || options.group === '') throw new BraidError('BRAID_INTERNAL', 'consume: group must be a non-empty string')
    if (!Array.isArray(options.topics) || options.topics.length === 0 || options.topics.some(t => typeof t !== 'string' || t === '')) {
      throw new BraidError('BRAID_INTERNAL', 'consume: topics must be a non-empty list of topic names')
    }
    if (options.maxBatch !== undefined && (!Number.isInteger(options.maxBatch) || options.maxBatch < 1)) {
      throw new BraidError('BRAID_INTERNAL', `consume: maxBatch must be an integer >= 1, got ${String(options.maxBatch)}`)
    }
    if (options.start !== undefined && options.start !== 'earliest' && options.start !== 'latest') {
      throw new BraidError('BRAID_INTERNAL', `consume: start must be earliest or latest, got ${String(options.start)}`)
    }
    const deps = {
      options: this.#o,
      connectivity: this.#connectivity,
      logger: this.#logger,
      listOffsets: async (topic: string, partitions: readonly number[], which: 'earliest' | 'latest') =>
        new Map((await this.#listOffsets(topic, partitions, which === 'earliest' ? EARLIEST : LATEST)).map(o => [o.partition, o.offset]))
    }
    const subscription: KafkaSubscription = new KafkaSubscription(deps, options, handler, () => this.#subscriptions.delete(subscription))
    this.#subscriptions.add(subscription)
    return subscription
  }

  async close (): Promise<void> {
    this.#closing ??= this.#close()
    await this.#closing
  }

  async #close (): Promise<void> {
    await Promise.all([...this.#subscriptions].map(async s => await s.stop()))
    const results = await Promise.allSettled([this.#appender.close(), this.#admin.close()])
    const failed = results.find(r => r.status === 'rejected')
    if (failed !== undefined) throw logUnavailable((failed as PromiseRejectedResult).reason, 'close')
  }
}
