/**
 * A consumer-group subscription of the embedded log.
 *
 * One worker per topic: it serves the topic's partitions round robin, one batch (of one partition)
 * at a time, so a partition is handled strictly in order and sequentially, while different topics
 * are handled concurrently. A batch is committed once its handler resolves; a throwing handler gets
 * the same batch again after a backoff (100 ms doubling to 5 s), records are never skipped.
 * An idle worker sleeps until an append to its topic in this process, or the poll interval (to see
 * other processes' appends), whichever comes first.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { LogRecord } from '../../model/log-record.ts'
import type { BatchHandler, ConsumedBatch, ConsumeOptions, Subscription } from '../event-log.ts'
import { embeddedEventLogDefaults } from './options.ts'
import { Waker } from '../waker.ts'

/** What a subscription needs from the log (all synchronous: better-sqlite3 is). */
export interface LogAccess {
  readonly pollIntervalMs: number
  partitions (topic: string): number | undefined
  startOffset (topic: string, partition: number): number
  endOffset (topic: string, partition: number): number
  fetch (topic: string, partition: number, offset: number, limit: number): LogRecord[]
  committedOffset (group: string, topic: string, partition: number): number | undefined
  commit (group: string, topic: string, partition: number, offset: number): void
  /** Calls `listener` after every append to `topic` in this process; returns the unsubscribe function. */
  onAppend (topic: string, listener: () => void): () => void
}

/** The subscription whose handler is running, so that stop() called from a handler does not wait for itself. */
const runningHandler = new AsyncLocalStorage<EmbeddedSubscription>()

export class EmbeddedSubscription implements Subscription {
  readonly group: string
  readonly topics: readonly string[]
  readonly #access: LogAccess
  readonly #handler: BatchHandler
  readonly #options: ConsumeOptions
  readonly #maxBatch: number
  readonly #paused = new Set<string>()
  readonly #wakers = new Map<string, Waker>()
  /** Backoff sleeps, woken by stop() only (appends must not cut a backoff short). */
  readonly #backoffs = new Map<string, Waker>()
  readonly #unlisten: Array<() => void> = []
  readonly #positions = new Map<string, number[]>()
  readonly #workers: Array<Promise<void>>
  readonly #onStopped: () => void
  #stopped = false
  #stopping: Promise<void> | undefined

  /** Resolves start positions synchronously, so records appended after consume() returns are never missed. */
  constructor (access: LogAccess, options: ConsumeOptions, handler: BatchHandler, onStopped: () => void) {
    this.#access = access
    this.#options = options
    this.#handler = handler
    this.#onStopped = onStopped
    this.group = options.group
    this.topics = [...new Set(options.topics)]
    this.#maxBatch = options.maxBatch ?? embeddedEventLogDefaults.maxBatch
    for (const topic of this.topics) {
      const waker = new Waker()
      this.#wakers.set(topic, waker)
      this.#backoffs.set(topic, new Waker())
      this.#unlisten.push(access.onAppend(topic, () => waker.wake()))
      this.#initPositions(topic, options.start ?? 'earliest')
    }
    this.#workers = this.topics.map(async topic => await this.#run(topic))
  }

  /**
   * Start positions of an existing topic: the committed offset, else its start (earliest) or end
   * (latest). A `latest` start is committed at once, so a restart resumes from it instead of skipping
   * what was appended meanwhile. A topic created after the subscription started is read from its start.
   */
  #initPositions (topic: string, start: 'earliest' | 'latest'): boolean {
    const n = this.#access.partitions(topic)
    if (n === undefined) return false
    const positions: number[] = []
    for (let p = 0; p < n; p++) {
      const committed = this.#access.committedOffset(this.group, topic, p)
      if (committed !== undefined) {
        positions.push(committed)
      } else if (start === 'latest') {
        const end = this.#access.endOffset(topic, p)
        this.#access.commit(this.group, topic, p, end)
        positions.push(end)
      } else {
        positions.push(this.#access.startOffset(topic, p))
      }
    }
    this.#positions.set(topic, positions)
    return true
  }

  async #run (topic: string): Promise<void> {
    const waker = this.#wakers.get(topic) as Waker
    let cursor = 0
    // Let consume() return first: a handler may refer to the subscription, or the caller may pause it.
    await Promise.resolve()
    while (!this.#stopped) {
      if (this.#paused.has(topic)) {
        await waker.sleep(this.#access.pollIntervalMs)
        continue
      }
      let positions = this.#positions.get(topic)
      if (positions === undefined) {
        if (!this.#initPositions(topic, 'earliest')) {
          await waker.sleep(this.#access.pollIntervalMs)
          continue
        }
        positions = this.#positions.get(topic) as number[]
      }
      let batch: ConsumedBatch | undefined
      try {
        for (let i = 0; i < positions.length && batch === undefined; i++) {
          const partition = (cursor + i) % positions.length
          const records = this.#access.fetch(topic, partition, positions[partition] as number, this.#maxBatch)
          if (records.length > 0) {
            batch = { topic, partition, records }
            cursor = (partition + 1) % positions.length
          }
        }
      } catch (err) {
        // The log could not be read (locked by another process, closed): report, then poll again.
        this.#report(err, { topic, partition: cursor, records: [] })
        await (this.#backoffs.get(topic) as Waker).sleep(embeddedEventLogDefaults.retryInitialMs)
        continue
      }
      if (batch === undefined) {
        await waker.sleep(this.#access.pollIntervalMs)
        continue
      }
      if (await this.#deliver(batch)) {
        positions[batch.partition] = (batch.records[batch.records.length - 1] as LogRecord).offset + 1
      }
    }
  }

  /** Hands a batch to the handler until it succeeds (then commits), or the subscription stops. */
  async #deliver (batch: ConsumedBatch): Promise<boolean> {
    const backoff = this.#backoffs.get(batch.topic) as Waker
    let delay: number = embeddedEventLogDefaults.retryInitialMs
    for (;;) {
      try {
        await runningHandler.run(this, async () => await this.#handler(batch))
        this.#access.commit(this.group, batch.topic, batch.partition, (batch.records[batch.records.length - 1] as LogRecord).offset + 1)
        return true
      } catch (err) {
        this.#report(err, batch)
        if (this.#stopped) return false
        await backoff.sleep(delay)
        if (this.#stopped) return false
        delay = Math.min(delay * 2, embeddedEventLogDefaults.retryMaxMs)
      }
    }
  }

  #report (err: unknown, batch: ConsumedBatch): void {
    try {
      this.#options.onError?.(err, batch)
    } catch {
      // An onError callback that throws must not stop the consumer.
    }
  }

  async stop (): Promise<void> {
    if (this.#stopping === undefined) {
      this.#stopped = true
      for (const unlisten of this.#unlisten) unlisten()
      for (const waker of [...this.#wakers.values(), ...this.#backoffs.values()]) waker.wake()
      this.#stopping = Promise.allSettled(this.#workers).then(() => this.#onStopped())
    }
    // Called from one of our own handlers: the batch in flight is the caller's, waiting would deadlock.
    if (runningHandler.getStore() === this) return
    await this.#stopping
  }

  pause (topics: readonly string[]): void {
    for (const t of topics) if (this.#wakers.has(t)) this.#paused.add(t)
  }

  resume (topics: readonly string[]): void {
    for (const t of topics) {
      if (this.#paused.delete(t)) this.#wakers.get(t)?.wake()
    }
  }

  paused (): string[] {
    return [...this.#paused]
  }
}
