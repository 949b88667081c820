/**
 * The Store interface: projections, single views, the trigger queue and system collections.
 * Every implementation (embedded SQLite, MongoDB) runs test/contract/store.contract.ts.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Doc, Filter, Sort } from '../model/document.ts'
import type { AppendRecord } from '../model/log-record.ts'

export interface IndexSpec {
  /** Fields of the index, in order (dotted paths allowed). */
  fields: string[]
  unique?: boolean
}

export interface CollectionSpec {
  name: string
  /** Key fields; a record's id is keyId(doc, primaryKey). Unique. */
  primaryKey: string[]
  /** Secondary indexes (ER-condition fields, view key, `_id`, …). */
  indexes: IndexSpec[]
}

export interface FindOptions {
  sort?: Sort
  skip?: number
  /** Maximum documents returned; absent or 0 means no limit (as in MongoDB). */
  limit?: number
  /** Inclusion (1) or exclusion (0) projection, Mongo style. */
  projection?: Record<string, 0 | 1>
}

/** A pending rebuild of one single view (coalesced: one entry per view and key). */
export interface QueueEntry {
  view: string
  /** keyId of the identifier. */
  id: string
  identifier: Doc
  /** Bumped on every enqueue of the same (view, id): a build completes only the seq it claimed. */
  seq: number
  attempts: number
  /** Epoch ms from which the entry may be claimed. */
  dueAt: number
  /** Source time of the oldest change not yet reflected in the view (epoch ms), for freshness. */
  eventTime: number
  /** Queue partition (scale-out: each worker claims the partitions it owns); that of the latest enqueue. */
  partition: number
  lastError?: string
}

export interface EnqueueOp {
  view: string
  id: string
  identifier: Doc
  eventTime: number
  /** Queue partition, an integer >= 0 (default 0); a re-enqueue moves the entry to this partition. */
  partition?: number
}

/**
 * An event in the outbox (runtime/outbox.ts): written with the change that makes it true, removed
 * once appended to its topic.
 */
export interface OutboxEntry {
  /** Unique; ids sort in the order their writer created them. */
  id: string
  topic: string
  record: AppendRecord
}

/** What claimDue claims. */
export interface ClaimOptions {
  /** Maximum entries claimed (0 claims nothing). */
  limit: number
  /** The current time, epoch ms: entries with `dueAt <= now` whose lease ended before `now` are due. */
  now: number
  /**
   * How long the claim holds, ms: claimed entries are invisible to every claimer until `now + leaseMs`.
   * 0 takes no lease at all (the entries stay claimable; the embedded store then only reads): for
   * the only claimer of a store, whose rounds never overlap.
   */
  leaseMs: number
  /** Only entries of these views (absent: every view). */
  views?: readonly string[]
  /** Only entries of these queue partitions (absent: every partition). */
  partitions?: readonly number[]
}

/**
 * One batch of writes. The embedded store applies a batch in one transaction (all or nothing);
 * MongoDB applies it in order with idempotent operations (see docs/architecture.md).
 * Parts apply in this order: clear, delete, relayed, put, outbox, complete, retry, enqueue, meta (so
 * a batch can truncate a collection and refill it). Putting into a collection ensureCollections did not create
 * fails (the embedded store then applies nothing of the batch); deleting from or clearing one does nothing.
 */
export interface WriteBatch {
  /** Insert or replace the document stored under (collection, id). */
  put?: Array<{ collection: string, id: string, doc: Doc }>
  /** Remove the document stored under (collection, id); absent ids are ignored. */
  delete?: Array<{ collection: string, id: string }>
  /** Remove every document of these collections. */
  clear?: string[]
  /** Coalescing enqueue: creates the entry or bumps its seq, keeps the oldest eventTime, makes it due now. */
  enqueue?: EnqueueOp[]
  /** Removes the entry if its seq is still the claimed one; otherwise releases the claim (newer changes arrived). */
  complete?: Array<{ view: string, id: string, seq: number }>
  /** Releases the claim, counts an attempt, records the error and sets the next due time. */
  retry?: Array<{ view: string, id: string, dueAt: number, error: string }>
  /** Small key/value settings (pause state, connector positions), JSON values; `undefined` removes the key. */
  meta?: Array<{ key: string, value: unknown }>
  /** Events to add to the outbox; an id already there keeps its entry (a retried write). */
  outbox?: OutboxEntry[]
  /** Ids of outbox entries to remove (appended to the log); absent ids are ignored. */
  relayed?: string[]
}

export interface Store {
  readonly kind: 'embedded' | 'mongodb'
  /** Creates collections and indexes that do not exist yet (idempotent). */
  ensureCollections (specs: CollectionSpec[]): Promise<void>
  /** Documents by id; missing ids are absent from the map. */
  getMany (collection: string, ids: readonly string[]): Promise<Map<string, Doc>>
  /** Documents matching a Mongo-style filter. Without sort, ordered by id. */
  find (collection: string, filter: Filter, options?: FindOptions): Promise<Doc[]>
  count (collection: string, filter: Filter): Promise<number>
  /** Every matching document in id order, in pages of `batchSize`, with constant memory. */
  scan (collection: string, filter: Filter, batchSize?: number): AsyncIterable<Doc[]>
  write (batch: WriteBatch): Promise<void>
  /**
   * Claims up to `limit` due queue entries (oldest due first, then by view and id) for `leaseMs`;
   * claimed entries are invisible to other claimers, in this process or any other sharing the
   * storage, until the lease expires. Each entry is claimed atomically on its own (on FerretDB
   * 1.24 only within one process: docs/mongodb.md).
   */
  claimDue (options: ClaimOptions): Promise<QueueEntry[]>
  /**
   * Ends every lease now: claimed entries become claimable at once. For a store no other worker
   * uses, when it starts again after its process died mid-round (its claims would otherwise hold
   * until their leases expire). Resolves to the number of entries released.
   */
  releaseClaims (): Promise<number>
  /** Entries waiting (claimed or not), optionally for one view. */
  queueDepth (view?: string): Promise<number>
  getMeta (key: string): Promise<unknown>
  /** The oldest outbox entries, in id order, at most `limit` (> 0). */
  outboxPage (limit: number): Promise<OutboxEntry[]>
  /** Entries in the outbox. */
  outboxSize (): Promise<number>
  close (): Promise<void>
}

/** The queue partition of an enqueue (0 when absent); BRAID_INTERNAL when it is not an integer >= 0. */
export function enqueuePartition (op: EnqueueOp): number {
  const partition = op.partition ?? 0
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new BraidError('BRAID_INTERNAL', `enqueue: the queue partition of an entry of view ${JSON.stringify(op.view)} must be an integer >= 0, got ${String(partition)}`, {
      details: { view: op.view }
    })
  }
  return partition
}

/** The limit of an outboxPage call; BRAID_INTERNAL unless it is an integer > 0. */
export function outboxPageLimit (limit: number): number {
  if (!Number.isSafeInteger(limit) || limit <= 0) {
    throw new BraidError('BRAID_INTERNAL', `outboxPage: the limit must be an integer > 0, got ${String(limit)}`)
  }
  return limit
}
