/**
 * A consumer-group subscription of the Kafka event log: one group member.
 *
 * Per generation (one assignment of partitions to this member):
 * - a fetch loop asks each partition leader for the member's partitions whose buffer is low
 *   (one request per leader, long polling), so partitions are prefetched while their batches run;
 * - one worker per partition hands its buffered records to the handler in batches, strictly in
 *   order and one at a time; a batch is committed (with the generation) once the handler resolves;
 *   a throwing handler gets the same batch again after a backoff (100 ms doubling to 5 s);
 * - a heartbeat loop keeps the membership; it ends the generation when the coordinator announces a
 *   rebalance, when the membership is lost (fenced, or no heartbeat for a session timeout), when
 *   the subscribed topics' partitions change, or on stop.
 * Ending a generation drains it before this member rejoins: workers finish the batch in flight
 * and commit it (abandon it, uncommitted, when the membership was lost), buffered records are
 * dropped. Partitions are thus never handled by two members at once, and a commit refused for a
 * stale generation never moves an offset backwards.
 *
 * Outages (brokers down, restarting): every loop retries with backoff (250 ms doubling to 10 s);
 * the log's connectivity tracker warns once per outage. Nothing is skipped: after a lost
 * membership the partitions resume from their last committed offsets.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Base, Broker } from '@platformatic/kafka'
import type { Logger } from '../../logger.ts'
import type { LogRecord } from '../../model/log-record.ts'
import type { BatchHandler, ConsumedBatch, ConsumeOptions, Subscription } from '../event-log.ts'
import { brokerConnection, callApi, type ClusterInfo, type Connectivity, createBaseClient, describeKafkaError, isNetworkError, isTransientError, TopicCache } from './client.ts'
import { type Generation, GroupMember, type GroupState } from './group.ts'
import { kafkaEventLogDefaults, type ResolvedKafkaEventLogOptions } from './options.ts'
import { fromBatches } from './records.ts'
import { Waker } from '../waker.ts'

export interface SubscriptionDeps {
  options: ResolvedKafkaEventLogOptions
  connectivity: Connectivity
  logger: Logger | undefined
  /** First retained (earliest) or next (latest) offsets of partitions. */
  listOffsets: (topic: string, partitions: readonly number[], which: 'earliest' | 'latest') => Promise<Map<number, bigint>>
}

/** The subscription whose handler is running, so that stop() called from a handler does not wait for itself. */
const runningHandler = new AsyncLocalStorage<KafkaSubscription>()

const OFFSET_OUT_OF_RANGE = 1

interface PartitionState {
  readonly topic: string
  readonly partition: number
  /** Next offset to fetch. */
  fetchOffset: bigint
  readonly buffer: LogRecord[]
  /** Last offset this member committed (-1: none). */
  committed: bigint
  /** False once the generation ends: no new batch starts. */
  active: boolean
  readonly waker: Waker
  readonly backoff: Waker
}

type EndReason = 'rebalance' | 'lost' | 'stop' | 'metadata'

/** One generation of this member: its partitions and how it ends. */
class GenerationRun {
  readonly gen: Generation
  readonly partitions = new Map<string, PartitionState>()
  /** Partition counts of the subscribed topics when the generation started (missing topics absent). */
  counts = new Map<string, number>()
  /** The membership is over: nothing may be committed any more. */
  lost = false
  draining = false
  ended = false
  end: EndReason | undefined
  readonly backoff = new Waker()
  readonly heartbeat = new Waker()
  readonly #ended: Promise<EndReason>
  #resolve: (reason: EndReason) => void = () => {}

  constructor (gen: Generation) {
    this.gen = gen
    this.#ended = new Promise<EndReason>(resolve => { this.#resolve = resolve })
  }

  finish (reason: EndReason): void {
    if (reason === 'lost') this.lost = true
    if (this.end !== undefined) return
    this.end = reason
    this.#resolve(reason)
    this.backoff.wake()
  }

  async whenEnded (): Promise<EndReason> {
    return await this.#ended
  }
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/** Coalesces the commits of concurrent partition workers into one OffsetCommit request at a time. */
class CommitBatcher {
  readonly #member: GroupMember
  readonly #pending = new Map<string, { topic: string, partition: number, offset: bigint, waiters: Array<{ resolve: (s: GroupState) => void, reject: (e: unknown) => void }> }>()
  #flushing = false

  constructor (member: GroupMember) {
    this.#member = member
  }

  async commit (gen: Generation, topic: string, partition: number, offset: bigint): Promise<GroupState> {
    return await new Promise<GroupState>((resolve, reject) => {
      const k = key(topic, partition)
      const entry = this.#pending.get(k)
      if (entry === undefined) this.#pending.set(k, { topic, partition, offset, waiters: [{ resolve, reject }] })
      else {
        if (offset > entry.offset) entry.offset = offset
        entry.waiters.push({ resolve, reject })
      }
      if (!this.#flushing) {
        this.#flushing = true
        this.#flush(gen).catch(() => {
          // #flush settles every waiter itself and never throws.
        })
      }
    })
  }

  async #flush (gen: Generation): Promise<void> {
    for (;;) {
      if (this.#pending.size === 0) {
        this.#flushing = false
        return
      }
      const entries = [...this.#pending.values()]
      this.#pending.clear()
      try {
        const state = await this.#member.commit(gen, entries)
        for (const e of entries) for (const w of e.waiters) w.resolve(state)
      } catch (err) {
        for (const e of entries) for (const w of e.waiters) w.reject(err)
      }
    }
  }
}

export class KafkaSubscription implements Subscription {
  readonly group: string
  readonly topics: readonly string[]
  readonly #deps: SubscriptionDeps
  readonly #o: ResolvedKafkaEventLogOptions
  readonly #options: ConsumeOptions
  readonly #handler: BatchHandler
  readonly #maxBatch: number
  readonly #groupClient: Base
  readonly #fetchClient: Base
  readonly #topicCache: TopicCache
  readonly #member: GroupMember
  readonly #commits: CommitBatcher
  readonly #paused = new Set<string>()
  readonly #fetchWaker = new Waker()
  readonly #sleeper = new Waker()
  readonly #onStopped: () => void
  readonly #warnedMissing = new Set<string>()
  /** Topics that existed when this subscription first got partitions; a topic created later is read from its start. */
  #topicsAtStart: Set<string> | undefined
  readonly #main: Promise<void>
  #current: GenerationRun | undefined
  #lastTrouble: string | undefined
  #stopped = false
  #stopping: Promise<void> | undefined

  constructor (deps: SubscriptionDeps, options: ConsumeOptions, handler: BatchHandler, onStopped: () => void) {
    this.#deps = deps
    this.#o = deps.options
    this.#options = options
    this.#handler = handler
    this.#onStopped = onStopped
    this.group = options.group
    this.topics = [...new Set(options.topics)]
    this.#maxBatch = options.maxBatch ?? kafkaEventLogDefaults.maxBatch
    // The coordinator answers a JoinGroup once every member has rejoined: up to the rebalance timeout.
    this.#groupClient = createBaseClient(this.#o, Math.max(this.#o.requestTimeoutMs, this.#o.rebalanceTimeoutMs + 5_000))
    this.#fetchClient = createBaseClient(this.#o)
    this.#topicCache = new TopicCache(this.#groupClient, this.#o.metadataMaxAgeMs)
    this.#member = new GroupMember(this.#groupClient, this.group, this.topics, this.#o, async topics => {
      const cluster = await this.#topicCache.get(topics, true)
      return new Map([...cluster.topics].map(([t, info]) => [t, info.partitions]))
    })
    this.#commits = new CommitBatcher(this.#member)
    this.#main = this.#run()
  }

  // --- lifecycle ---

  async #run (): Promise<void> {
    // Let consume() return first: the caller may pause topics before anything is fetched.
    await Promise.resolve()
    let delay: number = kafkaEventLogDefaults.reconnectInitialMs
    while (!this.#stopped) {
      let gen: Generation
      try {
        gen = await this.#member.join()
        this.#deps.connectivity.ok()
      } catch (err) {
        if (this.#stopped) break
        this.#trouble(err, 'join consumer group')
        await this.#sleeper.sleep(delay)
        delay = Math.min(delay * 2, kafkaEventLogDefaults.reconnectMaxMs)
        continue
      }
      delay = kafkaEventLogDefaults.reconnectInitialMs
      let reason: EndReason
      try {
        reason = await this.#runGeneration(gen)
      } catch (err) {
        // Not expected (every loop handles its errors): rejoin rather than let the subscription die.
        this.#deps.logger?.error({ group: this.group, error: describeKafkaError(err) }, 'consumer group generation failed unexpectedly; rejoining')
        await this.#sleeper.sleep(kafkaEventLogDefaults.reconnectMaxMs)
        continue
      }
      if (reason === 'stop') break
      this.#deps.logger?.debug({ group: this.group, reason }, 'consumer group generation ended; rejoining')
    }
    try {
      await withTimeout(this.#member.leave(), Math.min(this.#o.requestTimeoutMs, 5_000))
    } catch (err) {
      this.#deps.logger?.debug({ group: this.group, error: describeKafkaError(err) }, 'could not leave the consumer group; the session timeout will remove the member')
    }
    await Promise.allSettled([this.#groupClient.close(), this.#fetchClient.close()])
  }

  async #runGeneration (gen: Generation): Promise<EndReason> {
    const run = new GenerationRun(gen)
    this.#current = run
    if (this.#stopped) run.finish('stop')
    const heartbeats = this.#heartbeats(run)
    const workers: Array<Promise<void>> = []
    let fetching: Promise<void> | undefined
    try {
      await this.#startPartitions(run)
      if (run.end === undefined) {
        fetching = this.#fetchLoop(run)
        for (const ps of run.partitions.values()) workers.push(this.#work(run, ps))
      }
      const reason = await run.whenEnded()
      run.draining = true
      for (const ps of run.partitions.values()) {
        ps.active = false
        ps.waker.wake()
        ps.backoff.wake()
      }
      this.#fetchWaker.wake()
      await fetching
      await Promise.all(workers)
      return reason
    } finally {
      run.ended = true
      run.heartbeat.wake()
      await heartbeats
      this.#current = undefined
    }
  }

  /**
   * Start positions: committed offsets, else the start or end of the partition (`latest` is
   * committed at once). `latest` applies to a topic the group has no offset of yet and that existed
   * when the subscription started; partitions added later and topics created later are read from
   * their start, so nothing appended to them is skipped.
   */
  async #startPartitions (run: GenerationRun): Promise<void> {
    const start = this.#options.start ?? 'earliest'
    let delay: number = kafkaEventLogDefaults.reconnectInitialMs
    while (run.end === undefined) {
      try {
        const cluster = await this.#topicCache.get(this.topics, true)
        run.counts = new Map([...cluster.topics].map(([t, info]) => [t, info.partitions]))
        this.#topicsAtStart ??= new Set(cluster.topics.keys())
        this.#warnMissing(cluster)
        // Committed offsets of every partition of the assigned topics: `latest` applies to a group
        // new to a topic only, partitions added to a topic the group reads are read from their start.
        const everyPartition = new Map([...run.gen.assignment.keys()].map(t => [t, Array.from({ length: cluster.topics.get(t)?.partitions ?? 0 }, (_, i) => i)]))
        const committed = await this.#member.committed(everyPartition)
        const positions = new Map<string, { topic: string, partition: number, offset: bigint, committed: bigint }>()
        const toCommit: Array<{ topic: string, partition: number, offset: bigint }> = []
        for (const [topic, partitions] of run.gen.assignment) {
          const known = committed.get(topic) ?? new Map<number, bigint>()
          const missing = partitions.filter(p => !known.has(p))
          const from = this.#topicsAtStart?.has(topic) === true && known.size === 0 ? start : 'earliest'
          const fallback = missing.length === 0 ? new Map<number, bigint>() : await this.#deps.listOffsets(topic, missing, from)
          for (const p of partitions) {
            const c = known.get(p)
            if (c !== undefined) {
              positions.set(key(topic, p), { topic, partition: p, offset: c, committed: c })
            } else {
              const offset = fallback.get(p) ?? 0n
              positions.set(key(topic, p), { topic, partition: p, offset, committed: -1n })
              if (from === 'latest') toCommit.push({ topic, partition: p, offset })
            }
          }
        }
        if (toCommit.length > 0) {
          // A `latest` start is committed at once, so a restart resumes from it instead of skipping what came meanwhile.
          const state = await this.#member.commit(run.gen, toCommit)
          if (state !== 'ok') {
            run.finish(state === 'lost' ? 'lost' : 'rebalance')
            return
          }
          for (const c of toCommit) (positions.get(key(c.topic, c.partition)) as { committed: bigint }).committed = c.offset
        }
        for (const [k, p] of positions) {
          run.partitions.set(k, { topic: p.topic, partition: p.partition, fetchOffset: p.offset, buffer: [], committed: p.committed, active: true, waker: new Waker(), backoff: new Waker() })
        }
        this.#deps.logger?.debug({ group: this.group, generation: run.gen.generationId, partitions: positions.size }, 'consumer group partitions assigned')
        return
      } catch (err) {
        this.#trouble(err, 'resolve start offsets')
        await run.backoff.sleep(delay)
        delay = Math.min(delay * 2, kafkaEventLogDefaults.reconnectMaxMs)
      }
    }
  }

  #warnMissing (cluster: ClusterInfo): void {
    for (const topic of cluster.missing) {
      if (this.#warnedMissing.has(topic)) continue
      this.#warnedMissing.add(topic)
      this.#deps.logger?.warn({ group: this.group, topic }, 'subscribed topic does not exist; it is consumed from its start once created')
    }
  }

  async #heartbeats (run: GenerationRun): Promise<void> {
    let lastOk = Date.now()
    let lastCheck = Date.now()
    while (!run.ended && !run.lost) {
      await run.heartbeat.sleep(this.#o.heartbeatIntervalMs)
      if (run.ended) return
      try {
        // The group client waits longer than requestTimeoutMs for a JoinGroup; a heartbeat should not.
        const state = await withTimeout(this.#member.heartbeat(run.gen), this.#o.requestTimeoutMs)
        lastOk = Date.now()
        this.#deps.connectivity.ok()
        if (state !== 'ok') run.finish(state)
      } catch (err) {
        this.#trouble(err, 'heartbeat')
        if (Date.now() - lastOk > this.#o.sessionTimeoutMs) {
          // The coordinator has removed this member by now: its partitions may be someone else's.
          this.#deps.logger?.warn({ group: this.group }, 'no heartbeat answered for a session timeout; abandoning the partitions and rejoining')
          run.finish('lost')
        }
      }
      if (!run.draining && Date.now() - lastCheck >= this.#o.metadataMaxAgeMs) {
        lastCheck = Date.now()
        try {
          const cluster = await this.#topicCache.get(this.topics, true)
          const changed = this.topics.some(t => (cluster.topics.get(t)?.partitions ?? -1) !== (run.counts.get(t) ?? -1))
          if (changed) run.finish('metadata')
        } catch (err) {
          this.#trouble(err, 'refresh topic metadata')
        }
      }
    }
  }

  // --- fetching ---

  async #fetchLoop (run: GenerationRun): Promise<void> {
    let delay: number = kafkaEventLogDefaults.reconnectInitialMs
    while (run.end === undefined) {
      const wanted = [...run.partitions.values()].filter(ps => ps.active && !this.#paused.has(ps.topic) && ps.buffer.length < this.#maxBatch)
      if (wanted.length === 0) {
        await this.#fetchWaker.sleep(this.#o.fetchMaxWaitMs)
        continue
      }
      let failed = false
      try {
        const cluster = await this.#topicCache.get(this.topics)
        const byLeader = new Map<number, PartitionState[]>()
        for (const ps of wanted) {
          const leader = cluster.topics.get(ps.topic)?.leaders[ps.partition] ?? -1
          if (leader < 0 || !cluster.brokers.has(leader)) {
            this.#topicCache.invalidate([ps.topic])
            failed = true
            continue
          }
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), ps])
        }
        const results = await Promise.allSettled([...byLeader].map(async ([node, parts]) => await this.#fetchFrom(run, cluster, cluster.brokers.get(node) as Broker, parts)))
        for (const r of results) {
          if (r.status === 'rejected') {
            failed = true
            this.#topicCache.invalidate()
            this.#trouble(r.reason, 'fetch')
          }
        }
      } catch (err) {
        failed = true
        this.#trouble(err, 'fetch topic metadata')
      }
      if (failed) {
        await run.backoff.sleep(delay)
        delay = Math.min(delay * 2, kafkaEventLogDefaults.reconnectMaxMs)
      } else {
        delay = kafkaEventLogDefaults.reconnectInitialMs
      }
    }
  }

  async #fetchFrom (run: GenerationRun, cluster: ClusterInfo, broker: Broker, parts: PartitionState[]): Promise<void> {
    const connection = await brokerConnection(this.#fetchClient, broker)
    const requested = new Map<PartitionState, bigint>()
    const byTopic = new Map<string, PartitionState[]>()
    for (const ps of parts) byTopic.set(ps.topic, [...(byTopic.get(ps.topic) ?? []), ps])
    const names = new Map<string, string>()
    const topics = [...byTopic].map(([topic, list]) => {
      const id = (cluster.topics.get(topic) as { id: string }).id
      names.set(id, topic)
      return {
        topicId: id,
        partitions: list.map(ps => {
          requested.set(ps, ps.fetchOffset)
          return { partition: ps.partition, currentLeaderEpoch: -1, fetchOffset: ps.fetchOffset, lastFetchedEpoch: -1, partitionMaxBytes: this.#o.fetchMaxBytesPerPartition }
        })
      }
    })
    type FetchResponse = { responses: Array<{ topicId: string, partitions: Array<{ partitionIndex: number, errorCode: number, records?: Parameters<typeof fromBatches>[2] }> }> }
    let response: FetchResponse
    try {
      // Session-less full fetch (session id 0, epoch -1), read_uncommitted like Kafka's Java consumer by default.
      response = await callApi<FetchResponse>(this.#fetchClient, 'Fetch', connection, [this.#o.fetchMaxWaitMs, 1, kafkaEventLogDefaults.fetchMaxBytes, 0, 0, -1, topics, [], ''])
    } catch (err) {
      const partial = (err as { response?: FetchResponse }).response
      if (partial?.responses === undefined || isNetworkError(err)) throw err
      response = partial
    }
    this.#deps.connectivity.ok()
    for (const t of response.responses) {
      const topic = names.get(t.topicId)
      if (topic === undefined) continue
      for (const p of t.partitions) {
        const ps = run.partitions.get(key(topic, p.partitionIndex))
        if (ps === undefined || !ps.active) continue
        const from = requested.get(ps)
        if (from === undefined || from !== ps.fetchOffset) continue
        if (p.errorCode === 0) {
          if (p.records === undefined || p.records.length === 0) continue
          const { records, next } = fromBatches(topic, p.partitionIndex, p.records, from)
          ps.fetchOffset = next
          if (records.length > 0) {
            for (const r of records) ps.buffer.push(r)
            ps.waker.wake()
          }
        } else if (p.errorCode === OFFSET_OUT_OF_RANGE) {
          await this.#resetOutOfRange(ps)
        } else {
          // Leader moved, topic recreated, broker restarting: look the partition up again and retry.
          this.#topicCache.invalidate([topic])
          this.#deps.logger?.debug({ group: this.group, topic, partition: p.partitionIndex, kafkaErrorCode: p.errorCode }, 'fetch error; retrying')
        }
      }
    }
  }

  /** A position outside the partition (records removed by retention, topic recreated): continue from its nearest end. */
  async #resetOutOfRange (ps: PartitionState): Promise<void> {
    const [start, end] = await Promise.all([
      this.#deps.listOffsets(ps.topic, [ps.partition], 'earliest'),
      this.#deps.listOffsets(ps.topic, [ps.partition], 'latest')
    ])
    const first = start.get(ps.partition) ?? 0n
    const next = end.get(ps.partition) ?? 0n
    const to = ps.fetchOffset < first ? first : ps.fetchOffset > next ? next : ps.fetchOffset
    this.#deps.logger?.warn({ group: this.group, topic: ps.topic, partition: ps.partition, from: Number(ps.fetchOffset), to: Number(to) },
      ps.fetchOffset < first ? 'records were removed by retention before being consumed; continuing from the first retained one' : 'position beyond the end of the partition; continuing from its end')
    ps.fetchOffset = to
  }

  // --- handling ---

  async #work (run: GenerationRun, ps: PartitionState): Promise<void> {
    while (ps.active) {
      if (this.#paused.has(ps.topic) || ps.buffer.length === 0) {
        await ps.waker.sleep(1_000)
        continue
      }
      const records = ps.buffer.splice(0, this.#maxBatch)
      this.#fetchWaker.wake()
      const batch: ConsumedBatch = { topic: ps.topic, partition: ps.partition, records }
      if (!await this.#deliver(run, ps, batch)) return
      if (!await this.#commit(run, ps, BigInt((records[records.length - 1] as LogRecord).offset + 1))) return
    }
  }

  /** Hands a batch to the handler until it succeeds; gives up (uncommitted) once the generation ends. */
  async #deliver (run: GenerationRun, ps: PartitionState, batch: ConsumedBatch): Promise<boolean> {
    let delay: number = kafkaEventLogDefaults.retryInitialMs
    for (;;) {
      try {
        await runningHandler.run(this, async () => await this.#handler(batch))
        return true
      } catch (err) {
        this.#report(err, batch)
        if (!ps.active || run.lost) return false
        await ps.backoff.sleep(delay)
        if (!ps.active || run.lost) return false
        delay = Math.min(delay * 2, kafkaEventLogDefaults.retryMaxMs)
      }
    }
  }

  /** Commits a handled batch; retries through outages until it is committed or the membership is lost. */
  async #commit (run: GenerationRun, ps: PartitionState, offset: bigint): Promise<boolean> {
    if (offset <= ps.committed) return true
    let delay: number = kafkaEventLogDefaults.reconnectInitialMs
    while (!run.lost) {
      let state: GroupState | undefined
      try {
        state = await this.#commits.commit(run.gen, ps.topic, ps.partition, offset)
      } catch (err) {
        this.#trouble(err, 'commit')
      }
      if (state === 'ok') {
        ps.committed = offset
        return true
      }
      if (state === 'lost') {
        run.finish('lost')
        return false
      }
      if (state === 'rebalance') run.finish('rebalance')
      await ps.backoff.sleep(delay)
      delay = Math.min(delay * 2, kafkaEventLogDefaults.reconnectMaxMs)
    }
    return false
  }

  #report (err: unknown, batch: ConsumedBatch): void {
    try {
      this.#options.onError?.(err, batch)
    } catch {
      // An onError callback that throws must not stop the consumer.
    }
  }

  /**
   * Network errors feed the outage tracker (one warning per outage); "not now" answers (coordinator
   * loading or moved, leader election) are routine while brokers start and are logged at debug;
   * anything else is a warning, once per distinct message.
   */
  #trouble (err: unknown, action: string): void {
    if (this.#deps.connectivity.report(err, `${action} (group ${this.group})`)) return
    const message = describeKafkaError(err)
    if (isTransientError(err)) {
      this.#deps.logger?.debug({ group: this.group, action, error: message }, 'Kafka consumer group operation deferred by the brokers; retrying')
      return
    }
    if (message === this.#lastTrouble) return
    this.#lastTrouble = message
    this.#deps.logger?.warn({ group: this.group, action, error: message }, 'Kafka consumer group operation failed; retrying')
  }

  // --- Subscription ---

  async stop (): Promise<void> {
    if (this.#stopping === undefined) {
      this.#stopped = true
      this.#current?.finish('stop')
      this.#sleeper.wake()
      this.#stopping = this.#main.then(() => this.#onStopped())
    }
    // Called from one of our own handlers: the batch in flight is the caller's, waiting would deadlock.
    if (runningHandler.getStore() === this) return
    await this.#stopping
  }

  pause (topics: readonly string[]): void {
    for (const t of topics) if (this.topics.includes(t)) this.#paused.add(t)
  }

  resume (topics: readonly string[]): void {
    for (const t of topics) {
      if (!this.#paused.delete(t)) continue
      for (const ps of this.#current?.partitions.values() ?? []) if (ps.topic === t) ps.waker.wake()
      this.#fetchWaker.wake()
    }
  }

  paused (): string[] {
    return [...this.#paused]
  }
}

async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}
