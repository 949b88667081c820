/**
 * `waitFor`: reports when a succeeded command's change has reached a single view, through CDC.
 *
 * 1. committed — the command committed in the target; `commitLsn` is the WAL position right after.
 * 2. captured  — the CDC slot of the target (`changeFeed.slot`) confirmed a position at or past it:
 *    every change of the command is on the event log. The end offsets of the ingestion topics are
 *    recorded then.
 * 3. projected — the projection stage has consumed up to those offsets: the projections hold the
 *    change and the affected views are in the trigger queue.
 * 4. reached   — the view's trigger queue was seen empty after that: every rebuild the change
 *    triggered is written (`reachedView: true`).
 *
 * Each stage only ever moves forward, so `reachedView` is never reported early; under continuous
 * load on the same view it may be reported late (the queue is seen empty less often).
 *
 * Reads are shared by the commands of one tick, but each read only counts for a command when it was
 * made after the reads that command's stage rests on: the queue depth in particular must be read
 * after the committed offsets that moved the command to `projected` (a depth read earlier in the
 * tick, for another command, may predate the enqueue of this command's views). Ticks never overlap.
 * @module
 */
import pg from 'pg'
import type { EventLog } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import { sourceStateKey } from '../connectors/postgres/support.ts'
import type { ChangeFeedDefinition, CommandsDefinition, SecretValue } from '../model/command.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import type { Store } from '../storage/store.ts'
import { CommandCollection, storeId } from './collections.ts'
import { secretValue, shortMessage } from './executors/executor.ts'
import type { CommandMetrics } from './metrics.ts'
import { WaitStage, type CommandRecord, type WaitForState } from './types.ts'

/** A PostgreSQL LSN (`16/B374D848`) as a number that orders like the WAL. */
export function parseLsn (text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim())
  if (m === null) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(text)}`)
  return (BigInt(`0x${m[1] as string}`) << 32n) | BigInt(`0x${m[2] as string}`)
}

/** How far the CDC of one target has come. */
export interface ChangeFeedReader {
  /** The position the CDC consumer confirmed (everything before it is on the log); undefined when unknown. */
  confirmed (): Promise<string | undefined>
  /** The target database's WAL position now (for targets whose executor does not report one). */
  current (): Promise<string | undefined>
  close (): Promise<void>
}

/** The feed reader of a target's `changeFeed`. */
export function changeFeedReader (target: string, feed: ChangeFeedDefinition, store: Store, logger: Logger): ChangeFeedReader {
  return feed.kind === 'source' ? new SourceReader(target, feed.source, feed.url, store, logger) : new SlotReader(target, feed.slot, feed.url, logger)
}

/** Common part: the target database's WAL position now. */
abstract class DatabaseReader implements ChangeFeedReader {
  readonly #pool: pg.Pool
  readonly #logger: Logger
  readonly #target: string
  #warned = false

  constructor (target: string, url: SecretValue, logger: Logger) {
    this.#target = target
    this.#logger = logger
    this.#pool = new pg.Pool({ connectionString: secretValue(url, `commands.targets.${target}.changeFeed.url`), max: 1, application_name: 'braid-commands-wait-for', idleTimeoutMillis: 10_000 })
    this.#pool.on('error', err => logger.warn({ target, err: shortMessage(err) }, 'idle connection of a change feed failed'))
  }

  abstract confirmed (): Promise<string | undefined>

  protected async query<R extends pg.QueryResultRow> (text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.#pool.query<R>(text, values)).rows
  }

  async current (): Promise<string | undefined> {
    try {
      // The insert position: past every commit that has returned, whatever `synchronous_commit` says.
      return (await this.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn'))[0]?.lsn
    } catch (err) {
      this.warnOnce(`cannot read the WAL position: ${shortMessage(err)}`)
      return undefined
    }
  }

  protected warnOnce (message: string): void {
    if (this.#warned) return
    this.#warned = true
    this.#logger.warn({ target: this.#target }, message)
  }

  async close (): Promise<void> {
    await this.#pool.end()
  }
}

/** A braid postgres source: the end of the last transaction it appended, from its progress in the store's meta. */
export class SourceReader extends DatabaseReader {
  readonly #source: string
  readonly #store: Store

  constructor (target: string, source: string, url: SecretValue, store: Store, logger: Logger) {
    super(target, url, logger)
    this.#source = source
    this.#store = store
  }

  async confirmed (): Promise<string | undefined> {
    const progress = await this.#store.getMeta(sourceStateKey(this.#source)) as { lsn?: unknown } | undefined
    return typeof progress?.lsn === 'string' ? progress.lsn : undefined
  }
}

/** An outside CDC connector: its replication slot's `confirmed_flush_lsn`. */
export class SlotReader extends DatabaseReader {
  readonly #slot: string

  constructor (target: string, slot: string, url: SecretValue, logger: Logger) {
    super(target, url, logger)
    this.#slot = slot
  }

  async confirmed (): Promise<string | undefined> {
    try {
      const rows = await this.query<{ lsn: string | null }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [this.#slot])
      if (rows.length === 0) this.warnOnce(`replication slot "${this.#slot}" does not exist; waitFor cannot progress until the CDC connector creates it`)
      return rows[0]?.lsn ?? undefined
    } catch (err) {
      this.warnOnce(`cannot read replication slot "${this.#slot}": ${shortMessage(err)}`)
      return undefined
    }
  }
}

export interface ViewWaiterOptions {
  pipeline: PipelineDefinition
  commands: CommandsDefinition
  store: Store
  log: EventLog
  logger: Logger
  /** Consumer group of the projection stage. */
  ingestionGroup: string
  pollMs: number
  /** Give up watching a command this long after it finished, ms. */
  timeoutMs: number
  /** Change feed readers by target (tests may pass their own); default: SlotReader of the target's changeFeed. */
  readerOf?: (target: string) => ChangeFeedReader | undefined
  /** Counts the views reached and the waits given up. */
  metrics?: CommandMetrics
}

export class ViewWaiter {
  readonly #options: ViewWaiterOptions
  readonly #tracked = new Map<string, CommandRecord>()
  readonly #readers = new Map<string, ChangeFeedReader>()
  /** Commands whose last check failed (warned once until one succeeds). */
  readonly #failing = new Set<string>()
  /**
   * Reads shared by the commands of one tick (one query per target, topic and view, not per
   * command). Each is made at its first use. A confirmed position is read before the end offsets that
   * follow it, and committed offsets only grow, so sharing those is sound; a queue depth is not: see
   * #committedReads.
   */
  #memo = new Map<string, Promise<unknown>>()
  /**
   * Committed-offset reads made so far in this tick. A queue depth is shared under this count: a
   * command that moved to `projected` on a committed read made after a shared depth read gets a depth
   * read of its own (the earlier one may predate the enqueue of its views, so it proves nothing).
   */
  #committedReads = 0
  #timer: NodeJS.Timeout | undefined
  #ticking: Promise<void> | undefined
  #stopped = false

  constructor (options: ViewWaiterOptions) {
    this.#options = options
  }

  /** Resumes watching the commands that were being watched when braid stopped. */
  async start (): Promise<void> {
    const awaiting = await this.#options.store.find(CommandCollection.commands, { awaitingView: true })
    for (const doc of awaiting) this.track(doc as unknown as CommandRecord)
    this.#schedule()
  }

  track (doc: CommandRecord): void {
    if (doc.waitFor === undefined || doc.waitFor.reachedView) return
    this.#tracked.set(doc._id, doc)
    this.#schedule()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#ticking
    await Promise.all([...this.#readers.values()].map(async r => await r.close()))
    this.#readers.clear()
  }

  #schedule (): void {
    // One tick at a time (a running tick schedules the next when it ends): ticks share the reads.
    if (this.#stopped || this.#timer !== undefined || this.#ticking !== undefined || this.#tracked.size === 0) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = undefined
        this.#schedule()
      })
    }, this.#options.pollMs)
  }

  async #tick (): Promise<void> {
    this.#memo = new Map()
    this.#committedReads = 0
    for (const [id, doc] of [...this.#tracked]) {
      if (this.#stopped) return
      try {
        const next = await this.advance(doc)
        this.#failing.delete(id)
        if (next === doc) continue
        await this.#options.store.write({ put: [{ collection: CommandCollection.commands, id: storeId(id), doc: { ...next } }] })
        if (next.awaitingView === true) this.#tracked.set(id, next)
        else this.#tracked.delete(id)
        this.#count(doc, next)
      } catch (err) {
        if (!this.#failing.has(id)) this.#options.logger.warn({ command: doc.name, id, err: shortMessage(err) }, 'waitFor check failed; trying again')
        this.#failing.add(id)
      }
    }
  }

  /** The metrics of a wait that ended in this step. */
  #count (before: CommandRecord, after: CommandRecord): void {
    const metrics = this.#options.metrics
    const wait = after.waitFor
    if (metrics === undefined || wait === undefined) return
    if (wait.reachedView && before.waitFor?.reachedView !== true) {
      const finished = Date.parse(after.finishedAt ?? after.updatedAt)
      metrics.waitForReached(wait.view, (Date.parse(wait.reachedAt ?? after.updatedAt) - finished) / 1000)
    } else if (wait.timedOut === true && before.waitFor?.timedOut !== true) {
      metrics.waitForTimedOut(wait.view)
    }
  }

  async #shared<T> (key: string, read: () => Promise<T>): Promise<T> {
    let pending = this.#memo.get(key) as Promise<T> | undefined
    if (pending === undefined) {
      pending = read()
      this.#memo.set(key, pending)
    }
    return await pending
  }

  /** The command with its waitFor moved as far as it can go now (the same object when nothing moved). */
  async advance (doc: CommandRecord): Promise<CommandRecord> {
    const wait = doc.waitFor
    if (wait === undefined || wait.reachedView) return doc
    const finished = Date.parse(doc.finishedAt ?? doc.updatedAt)
    if (Date.now() - finished > this.#options.timeoutMs) {
      this.#options.logger.warn({ command: doc.name, id: doc._id, view: wait.view, stage: wait.stage }, 'waitFor gave up: the change did not reach the view in time')
      return { ...doc, waitFor: { ...wait, timedOut: true }, awaitingView: false, updatedAt: new Date().toISOString() }
    }
    let state: WaitForState = wait
    let commitLsn = doc.commitLsn ?? undefined
    const reader = this.#reader(doc.target)
    if (state.stage === WaitStage.committed) {
      if (reader === undefined) return doc
      if (commitLsn === undefined) commitLsn = await reader.current()
      const confirmed = commitLsn === undefined ? undefined : await this.#shared(`confirmed:${doc.target}`, async () => await reader.confirmed())
      if (commitLsn !== undefined && confirmed !== undefined && parseLsn(confirmed) >= parseLsn(commitLsn)) {
        state = { ...state, stage: WaitStage.captured, offsets: await this.#shared(`offsets:${doc.target}`, async () => await this.#endOffsets()) }
      }
    }
    if (state.stage === WaitStage.captured && await this.#consumedThrough(state.offsets ?? {})) {
      state = { ...state, stage: WaitStage.projected }
    }
    if (state.stage === WaitStage.projected && await this.#shared(`depth:${state.view}:${this.#committedReads}`, async () => await this.#options.store.queueDepth(state.view)) === 0) {
      state = { ...state, stage: WaitStage.reached, reachedView: true, reachedAt: new Date().toISOString() }
    }
    if (state === wait && commitLsn === (doc.commitLsn ?? undefined)) return doc
    const next: CommandRecord = { ...doc, waitFor: state, commitLsn: commitLsn ?? null, updatedAt: new Date().toISOString() }
    if (state.reachedView) next.awaitingView = false
    return next
  }

  #reader (target: string): ChangeFeedReader | undefined {
    let reader = this.#readers.get(target)
    if (reader !== undefined) return reader
    reader = this.#options.readerOf?.(target)
    if (reader === undefined) {
      const feed = this.#options.commands.targets.get(target)?.changeFeed
      if (feed === undefined) return undefined
      reader = changeFeedReader(target, feed, this.#options.store, this.#options.logger)
    }
    this.#readers.set(target, reader)
    return reader
  }

  /** End offsets of every ingestion topic now, by partition. */
  async #endOffsets (): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {}
    const topics = new Set([...this.#options.pipeline.projections.values()].map(p => p.topic))
    for (const topic of topics) {
      const offsets = await this.#options.log.offsets(topic)
      out[topic] = offsets.sort((a, b) => a.partition - b.partition).map(p => p.end)
    }
    return out
  }

  /** True when the projection stage has committed at least `offsets` on every partition. */
  async #consumedThrough (offsets: Record<string, number[]>): Promise<boolean> {
    for (const [topic, ends] of Object.entries(offsets)) {
      const committed = new Map((await this.#shared(`committed:${topic}`, async () => {
        this.#committedReads++
        return await this.#options.log.committed(this.#options.ingestionGroup, topic)
      })).map(c => [c.partition, c.offset]))
      for (const [partition, end] of ends.entries()) {
        if (end > 0 && (committed.get(partition) ?? 0) < end) return false
      }
    }
    return true
  }
}
