/**
 * The single-view stage: claims due entries of the trigger queue (coalesced per view key), builds
 * them set-at-a-time, writes views and completes entries in one store write, then appends the
 * sv-update events. Failures are recorded in sv-errors and retried with exponential backoff; one bad
 * view never stops the others. Also consumes upstream views' sv-update events (view chaining).
 * @module
 */
import { performance } from 'node:perf_hooks'
import { isBraidError } from '../errors.ts'
import type { ConsumedBatch } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import type { ProjectionChange } from '../model/projection.ts'
import type { PipelineDefinition, SingleViewDefinition } from '../model/single-view.ts'
import { affectedIdentifiers, aggregateViews, writeViews } from '../single-view/index.ts'
import type { EnqueueOp, QueueEntry, Store, WriteBatch } from '../storage/store.ts'
import { readsProjection } from '../single-view/plan.ts'
import type { ReadContext } from '../single-view/types.ts'
import { readContext, SystemCollection } from './collections.ts'
import { svErrorRecord, svErrorStoreId } from './sv-errors.ts'
import type { Metrics } from './metrics.ts'
import { Mutex } from './mutex.ts'
import type { Outbox } from './outbox.ts'
import { parseSvUpdate, toSvUpdateRecords, type SvUpdateEvent } from './sv-update.ts'
import { queuePartition } from './workers.ts'

export interface ViewBuilderOptions {
  pipeline: PipelineDefinition
  store: Store
  /** Where sv-update events go, written with the views they describe. */
  outbox: Outbox
  logger: Logger
  metrics?: Metrics
  /** Views claimed and built per round (default 500). */
  batchSize?: number
  /** How long a claim is exclusive, ms (default 60 s); an expired claim is taken over. */
  leaseMs?: number
  /**
   * This builder is the only one of its store (`Engines.ownsStore`): claims take no lease. Its rounds
   * never overlap (the lock), and an entry changed during a round keeps its newer seq and is built again.
   */
  onlyBuilder?: boolean
  /** First retry delay after a failed build, ms (default 1 s); doubles per attempt up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
  /**
   * Shared with the projection stage: a round (aggregate → write) must not interleave with a batch that
   * patches views or changes projections, or an older aggregation could overwrite a newer patch.
   */
  lock?: Mutex
}

export interface BuildRound {
  claimed: number
  written: number
  deleted: number
  unchanged: number
  failed: number
}

export class ViewBuilder {
  readonly #pipeline: PipelineDefinition
  readonly #read: ReadContext
  readonly #store: Store
  readonly #outbox: Outbox
  readonly #logger: Logger
  readonly #metrics: Metrics | undefined
  readonly #batchSize: number
  readonly #leaseMs: number
  readonly #backoffMs: number
  readonly #maxBackoffMs: number
  /** Views that are nodes of other views' ER schemas: view name → dependent views. */
  readonly #dependents = new Map<string, SingleViewDefinition[]>()
  #running = false
  #busy = false
  #loop: Promise<void> = Promise.resolve()
  #wake: (() => void) | undefined
  #woken = false
  #paused = new Set<string>()
  /** Trigger-queue partitions this worker builds; undefined builds every partition (one worker). */
  #partitions: number[] | undefined
  readonly #lock: Mutex

  constructor (options: ViewBuilderOptions) {
    this.#pipeline = options.pipeline
    this.#store = options.store
    this.#outbox = options.outbox
    this.#logger = options.logger
    this.#read = readContext(options.pipeline, options.store, options.logger)
    this.#metrics = options.metrics
    this.#batchSize = options.batchSize ?? 500
    this.#leaseMs = options.onlyBuilder === true ? 0 : options.leaseMs ?? 60_000
    this.#backoffMs = options.backoffMs ?? 1000
    this.#maxBackoffMs = options.maxBackoffMs ?? 5 * 60_000
    this.#lock = options.lock ?? new Mutex()
    for (const upstream of this.#pipeline.singleViews.values()) {
      const dependents = [...this.#pipeline.singleViews.values()].filter(v => v !== upstream && readsProjection(v, upstream.name))
      if (dependents.length > 0) this.#dependents.set(upstream.name, dependents)
    }
  }

  /** sv-update topics this builder must consume for view chaining. */
  chainedTopics (): string[] {
    return [...this.#dependents.keys()].map(name => this.#pipeline.singleViews.get(name)?.svUpdateTopic ?? '').filter(t => t !== '')
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    this.#loop = this.#run()
  }

  async stop (): Promise<void> {
    this.#running = false
    this.wake()
    await this.#loop
  }

  /** New work is queued: build now. A wake-up while a round runs is kept, so the loop does not sleep after it. */
  wake (): void {
    const w = this.#wake
    this.#wake = undefined
    if (w === undefined) this.#woken = true
    else w()
  }

  isIdle (): boolean {
    return !this.#busy
  }

  /** Views not built while paused (entries stay queued). */
  setPaused (views: Iterable<string>): void {
    this.#paused = new Set(views)
    this.wake()
  }

  /** The queue partitions this worker owns (scale-out, see workers.ts). */
  setPartitions (partitions: readonly number[]): void {
    this.#partitions = [...partitions]
    this.wake()
  }

  async #run (): Promise<void> {
    while (this.#running) {
      let round: BuildRound | undefined
      this.#woken = false
      this.#busy = true
      try {
        round = await this.buildRound()
      } catch (err) {
        this.#logger.error({ err }, 'view build round failed; retrying')
      } finally {
        this.#busy = false
      }
      if (round !== undefined && round.claimed > 0) continue
      if (this.#woken) {
        this.#woken = false
        continue
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, 250)
        this.#wake = () => { clearTimeout(timer); resolve() }
      })
    }
  }

  /** Claims one batch of due entries (of `views`, default all unpaused) and builds it. */
  async buildRound (views?: readonly string[]): Promise<BuildRound> {
    return this.#lock.run(async () => this.#buildRound(views))
  }

  async #buildRound (views?: readonly string[]): Promise<BuildRound> {
    const started = performance.now()
    const allowed = views ?? [...this.#pipeline.singleViews.keys()].filter(v => !this.#paused.has(v))
    const round: BuildRound = { claimed: 0, written: 0, deleted: 0, unchanged: 0, failed: 0 }
    if (allowed.length === 0) return round
    const entries = await this.#store.claimDue({ limit: this.#batchSize, now: Date.now(), leaseMs: this.#leaseMs, views: allowed, ...(views === undefined && this.#partitions !== undefined ? { partitions: this.#partitions } : {}) })
    round.claimed = entries.length
    if (entries.length === 0) return round
    const byView = new Map<string, QueueEntry[]>()
    for (const e of entries) {
      const list = byView.get(e.view) ?? []
      list.push(e)
      byView.set(e.view, list)
    }
    const write: Required<Pick<WriteBatch, 'put' | 'delete' | 'complete' | 'retry'>> = { put: [], delete: [], complete: [], retry: [] }
    const events: SvUpdateEvent[] = []
    /** Entries whose view was written or deleted: their freshness is observed once the write is durable. */
    const freshness: QueueEntry[] = []
    for (const [name, list] of byView) {
      const def = this.#pipeline.singleViews.get(name)
      if (def === undefined) {
        for (const e of list) write.complete.push({ view: e.view, id: e.id, seq: e.seq })
        continue
      }
      await this.#buildView(def, list, write, events, round, freshness)
    }
    const records = toSvUpdateRecords(this.#pipeline, events)
    await this.#outbox.commit(write, this.#outbox.entries(records))
    const metrics = this.#metrics
    if (metrics !== undefined) {
      const now = Date.now()
      for (const e of freshness) metrics.observeFreshness(e.view, now - e.eventTime)
      metrics.buildRound.observe((performance.now() - started) / 1000)
    }
    return round
  }

  async #buildView (def: SingleViewDefinition, entries: QueueEntry[], write: Required<Pick<WriteBatch, 'put' | 'delete' | 'complete' | 'retry'>>, events: SvUpdateEvent[], round: BuildRound, freshness: QueueEntry[]): Promise<void> {
    // Lineage is for `braid explain`; a build does not record it.
    const ctx = { ...this.#read, lineage: false }
    const counters = this.#metrics?.view(def.name)
    const results = await aggregateViews(def, this.#pipeline.er, entries.map(e => e.identifier), ctx)
    const out = await writeViews(def, results, ctx)
    write.put.push(...out.put)
    write.delete.push(...out.delete)
    events.push(...out.events)
    const failed = new Map(out.failures.map(f => [f.id, f.error]))
    const changed = new Set(out.events.map(e => e.id))
    // sv-error records of keys that failed before keep their createdAt (the first failure).
    const retried = entries.filter(e => e.attempts > 0 && failed.has(e.id)).map(e => svErrorStoreId(def.name, e.identifier, 'AGGREGATION'))
    const previous = retried.length === 0 ? new Map<string, Doc>() : await this.#store.getMany(SystemCollection.svErrors, retried)
    for (const e of entries) {
      const error = failed.get(e.id)
      if (error === undefined) {
        write.complete.push({ view: e.view, id: e.id, seq: e.seq })
        if (changed.has(e.id)) freshness.push(e)
        if (e.attempts > 0) write.delete.push({ collection: SystemCollection.svErrors, id: svErrorStoreId(def.name, e.identifier, 'AGGREGATION') })
        continue
      }
      round.failed++
      if (counters !== undefined) counters.failed++
      this.#metrics?.error(isBraidError(error) ? error.code : 'BRAID_INTERNAL')
      const attempts = e.attempts + 1
      const delay = Math.min(this.#backoffMs * 2 ** (attempts - 1), this.#maxBackoffMs)
      const message = error instanceof Error ? error.message : String(error)
      write.retry.push({ view: e.view, id: e.id, dueAt: Date.now() + delay, error: message })
      const record = svErrorRecord(def.name, e.identifier, error, 'AGGREGATION', attempts)
      const createdAt = previous.get(record.id)?.['createdAt']
      if (createdAt !== undefined) record.doc['createdAt'] = createdAt
      write.put.push(record)
      this.#logger.warn({ view: def.name, code: isBraidError(error) ? error.code : 'BRAID_INTERNAL', attempts, retryInMs: delay, reason: message }, 'single view build failed; will retry')
    }
    round.written += out.events.filter(e => e.operation !== 'DELETE').length
    round.deleted += out.events.filter(e => e.operation === 'DELETE').length
    round.unchanged += entries.length - out.events.length - failed.size
    if (counters !== undefined) {
      counters.written += out.events.length
      counters.deleted += out.events.filter(e => e.operation === 'DELETE').length
      counters.unchanged += entries.length - out.events.length - failed.size
    }
  }

  /** sv-update events of upstream views ⇒ rebuilds of the views that read them. */
  async handleUpstreamUpdates (batch: ConsumedBatch): Promise<void> {
    const byView = new Map<string, ProjectionChange[]>()
    for (const record of batch.records) {
      const update = parseSvUpdate(record.value)
      if (update === null) continue
      const upstream = [...this.#pipeline.singleViews.values()].find(v => v.collection === update.storageNamespace)
      if (upstream === undefined) continue
      const doc = update.after ?? update.before
      if (doc === null) continue
      const list = byView.get(upstream.name) ?? []
      list.push({ projection: upstream.name, id: keyId(doc, Object.keys(upstream.key)), before: update.before, after: update.after, eventTime: record.timestamp })
      byView.set(upstream.name, list)
    }
    const enqueue: EnqueueOp[] = []
    for (const [upstream, changes] of byView) {
      for (const dependent of this.#dependents.get(upstream) ?? []) {
        const affected = await affectedIdentifiers(dependent, this.#pipeline.er, changes, this.#read)
        for (const [id, a] of affected) enqueue.push({ view: dependent.name, id, identifier: a.identifier, eventTime: a.eventTime, partition: queuePartition(dependent.name, id) })
      }
    }
    if (enqueue.length === 0) return
    await this.#store.write({ enqueue })
    this.wake()
  }
}
