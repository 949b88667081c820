/**
 * A Store that delegates to another and tells, right after each committed write, which documents of
 * one collection it put: the moment a view becomes visible to readers (freshness), and how many
 * view documents were written.
 * @module
 */
import type { Doc, Filter } from '../src/model/document.ts'
import type { ClaimOptions, CollectionSpec, FindOptions, OutboxEntry, QueueEntry, Store, WriteBatch } from '../src/storage/store.ts'

export type PutListener = (docs: Doc[], committedAt: number) => void

export class ProbeStore implements Store {
  readonly kind: Store['kind']
  readonly #inner: Store
  readonly #collection: string
  listener: PutListener | undefined
  /** View documents put or deleted since the last reset. */
  viewWrites = 0
  writes = 0

  constructor (inner: Store, collection: string) {
    this.#inner = inner
    this.kind = inner.kind
    this.#collection = collection
  }

  async ensureCollections (specs: CollectionSpec[]): Promise<void> { return this.#inner.ensureCollections(specs) }
  async getMany (collection: string, ids: readonly string[]): Promise<Map<string, Doc>> { return this.#inner.getMany(collection, ids) }
  async find (collection: string, filter: Filter, options?: FindOptions): Promise<Doc[]> { return this.#inner.find(collection, filter, options) }
  async count (collection: string, filter: Filter): Promise<number> { return this.#inner.count(collection, filter) }
  scan (collection: string, filter: Filter, batchSize?: number): AsyncIterable<Doc[]> { return this.#inner.scan(collection, filter, batchSize) }
  async claimDue (options: ClaimOptions): Promise<QueueEntry[]> { return this.#inner.claimDue(options) }
  async queueDepth (view?: string): Promise<number> { return this.#inner.queueDepth(view) }
  async releaseClaims (): Promise<number> { return this.#inner.releaseClaims() }
  async getMeta (key: string): Promise<unknown> { return this.#inner.getMeta(key) }
  async outboxPage (limit: number): Promise<OutboxEntry[]> { return this.#inner.outboxPage(limit) }
  async outboxSize (): Promise<number> { return this.#inner.outboxSize() }
  async close (): Promise<void> { return this.#inner.close() }

  async write (batch: WriteBatch): Promise<void> {
    await this.#inner.write(batch)
    const at = performance.now()
    this.writes++
    let docs: Doc[] | undefined
    for (const p of batch.put ?? []) {
      if (p.collection !== this.#collection) continue
      this.viewWrites++
      if (this.listener !== undefined) (docs ??= []).push(p.doc)
    }
    for (const d of batch.delete ?? []) if (d.collection === this.#collection) this.viewWrites++
    if (docs !== undefined) this.listener?.(docs, at)
  }
}
