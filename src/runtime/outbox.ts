/**
 * The outbox: events (sv-update, pr-update) are written to the store in the same write as the change
 * that makes them true, then relayed to the event log and removed. A crash between the two leaves
 * them in the outbox, and the next relay (at the latest on start) appends them: at least once, in order.
 *
 * Removal rides on the next write of a stage (`commit`), so relaying costs no store transaction of
 * its own under load; a timer removes what no write took within `settleMs`, and `close` removes the
 * rest. Entries relayed but not yet removed are never relayed again by this process; after a crash
 * they are (at least once).
 *
 * A write that fails may still have committed (the connection to a store server broke after the
 * server applied it), and an append that fails leaves its entries in the store. Either way the
 * outbox relays from the store: with the next commit, or after `retryMs` if no write comes.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { EventLog } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import type { AppendRecord } from '../model/log-record.ts'
import type { OutboxEntry, Store, WriteBatch } from '../storage/store.ts'

const pageSize = 1000
/** How long relayed entries may wait for a write to carry their removal, ms. */
const settleMs = 500
/** How long entries that may wait in the store (after a failure) wait for a relay, ms. */
const retryMs = 1_000

export class Outbox {
  readonly #store: Store
  readonly #log: EventLog
  readonly #logger: Logger
  #seq = 0
  /** Tells apart the entries of workers sharing a store (same millisecond, same sequence number). */
  readonly #tag = randomBytes(3).toString('hex')
  #flushing: Promise<void> | undefined
  #again = false
  /** True until a flush found the outbox empty, and again after a failed relay: entries may wait in the store. */
  #backlog = true
  /** Ids of entries appended to the log, still in the store: the next write removes them. */
  #relayed: string[] = []
  #settleTimer: NodeJS.Timeout | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor (store: Store, log: EventLog, logger: Logger) {
    this.#store = store
    this.#log = log
    this.#logger = logger
  }

  /** Outbox entries for these events, for a WriteBatch's `outbox`. Ids sort in creation order. */
  entries (events: Iterable<[string, AppendRecord[]]>): OutboxEntry[] {
    const out: OutboxEntry[] = []
    const time = String(Date.now()).padStart(15, '0')
    for (const [topic, records] of events) {
      for (const record of records) out.push({ id: `${time}-${String(this.#seq++ % 1e9).padStart(9, '0')}-${this.#tag}`, topic, record })
    }
    return out
  }

  /**
   * Writes `batch` with `entries` in its outbox and the removal of entries relayed earlier, then
   * relays `entries`.
   */
  async commit (batch: WriteBatch, entries: OutboxEntry[]): Promise<void> {
    try {
      await this.#writeWithRemovals(entries.length === 0 ? batch : { ...batch, outbox: [...batch.outbox ?? [], ...entries] })
    } catch (err) {
      // The write may have committed before the failure: its entries may be in the store.
      if (entries.length > 0) this.#backlogged()
      throw err
    }
    await this.publish(entries)
  }

  /**
   * After the write carrying `entries` committed: appends them to the log; their removal rides on
   * the next commit. The fast path uses the documents in hand; while older entries may still wait in
   * the store (at start, after a failed append) it relays from the store instead, so order per topic holds.
   */
  async publish (entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return
    if (this.#backlog || this.#flushing !== undefined) return this.flush()
    try {
      await this.#append(entries)
    } catch (err) {
      this.#backlogged()
      throw err
    }
    for (const e of entries) this.#relayed.push(e.id)
    this.#settleTimer ??= setTimeout(() => {
      this.#settleTimer = undefined
      this.#settle().catch((err: unknown) => this.#logger.warn({ err }, 'removing relayed outbox entries failed; the next write removes them'))
    }, settleMs).unref()
  }

  /** Events in the outbox not yet appended to the log. */
  async pending (): Promise<number> {
    return Math.max(0, await this.#store.outboxSize() - this.#relayed.length)
  }

  /** Removes the relayed entries still in the store (on stop). */
  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#settleTimer)
    clearTimeout(this.#retryTimer)
    this.#settleTimer = undefined
    this.#retryTimer = undefined
    await this.#settle()
  }

  /** Entries may wait in the store: the next publish relays from it, and so does a timer if none comes. */
  #backlogged (): void {
    this.#backlog = true
    if (this.#closed) return
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined
      if (!this.#backlog) return
      this.flush().catch((err: unknown) => this.#logger.warn({ err }, 'relaying the outbox failed; retrying'))
    }, retryMs).unref()
  }

  async #settle (): Promise<void> {
    if (this.#relayed.length > 0) await this.#writeWithRemovals({})
  }

  /** Writes `batch` with the removal of the relayed entries; they stay to remove when the write fails. */
  async #writeWithRemovals (batch: WriteBatch): Promise<void> {
    const settled = this.#relayed.splice(0)
    try {
      await this.#store.write(settled.length === 0 ? batch : { ...batch, relayed: [...batch.relayed ?? [], ...settled] })
    } catch (err) {
      this.#relayed.unshift(...settled)
      throw err
    }
  }

  /** Appends every pending event to the log, in order, and removes it. Concurrent calls share one run. */
  async flush (): Promise<void> {
    if (this.#flushing !== undefined) {
      this.#again = true
      return this.#flushing
    }
    this.#flushing = (async () => {
      try {
        do {
          this.#again = false
          await this.#relay()
        } while (this.#again)
        this.#backlog = false
      } catch (err) {
        this.#backlogged()
        throw err
      } finally {
        this.#flushing = undefined
      }
    })()
    return this.#flushing
  }

  async #relay (): Promise<void> {
    // Relayed entries still in the store would be read (and appended) again.
    await this.#settle()
    for (;;) {
      const page = await this.#store.outboxPage(pageSize)
      if (page.length === 0) return
      await this.#append(page)
      await this.#store.write({ relayed: page.map(e => e.id) })
      this.#logger.debug({ events: page.length }, 'outbox relayed')
    }
  }

  /** Appends outbox entries to their topics, in their order within each topic. */
  async #append (entries: readonly OutboxEntry[]): Promise<void> {
    const byTopic = new Map<string, AppendRecord[]>()
    for (const e of entries) {
      const list = byTopic.get(e.topic) ?? []
      list.push(e.record)
      byTopic.set(e.topic, list)
    }
    for (const [topic, records] of byTopic) await this.#log.append(topic, records)
  }
}
