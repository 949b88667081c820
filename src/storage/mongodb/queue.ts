/**
 * The trigger queue of the MongoDB store: one document per (view, id) in `sys_queue`, coalesced on
 * enqueue, claimed with a lease, without transactions.
 *
 * - enqueue: one upsert per (view, id) of the batch: `$inc seq` (by the number of enqueues),
 *   `$min dueAt now` and `$min eventTime`, `$set` identifier and partition.
 * - claim: select due candidates (oldest due first), then one `updateMany` on their ids that
 *   re-states the due condition (`claimedUntil < now` → `claimedUntil = now + lease`,
 *   `claimToken = token`): each document is updated atomically, so of two claimers exactly one
 *   wins an entry. The entries won are read back by token.
 * - complete: release the claim if `seq` moved on, then delete the entry if `seq` is still the
 *   claimed one (this order never releases an entry re-claimed by another worker; an enqueue
 *   landing between the two leaves the entry claimed until its lease ends, then it is rebuilt).
 * - retry: release, `$inc attempts`, set the error and the due time.
 * @module
 */
import type { AnyBulkWriteOperation, Filter, IndexDescription } from 'mongodb'
import type { Doc } from '../../model/document.ts'
import { enqueuePartition, type EnqueueOp, type QueueEntry, type WriteBatch } from '../store.ts'

export const queueCollection = 'sys_queue'

/** A queue entry as stored. */
export interface QueueDoc {
  _id: string
  view: string
  id: string
  /** The identifier as JSON text (never queried; stored as the embedded store does). */
  identifier: string
  seq: number
  attempts: number
  dueAt: number
  eventTime: number
  claimedUntil: number
  partition: number
  lastError?: string
  claimToken?: string
}

export const queueIndexes: IndexDescription[] = [
  { key: { dueAt: 1, view: 1, id: 1 }, name: 'dueAt_view_id' },
  { key: { partition: 1, dueAt: 1 }, name: 'partition_dueAt' },
  { key: { view: 1 }, name: 'view' },
  { key: { claimToken: 1 }, name: 'claimToken' }
]

/** Order in which due entries are claimed. */
export const claimOrder: Array<[string, 1]> = [['dueAt', 1], ['view', 1], ['id', 1]]

export function queueId (view: string, id: string): string {
  return JSON.stringify([view, id])
}

export function toEntry (doc: QueueDoc): QueueEntry {
  const entry: QueueEntry = {
    view: doc.view,
    id: doc.id,
    identifier: JSON.parse(doc.identifier) as Doc,
    seq: doc.seq,
    attempts: doc.attempts,
    dueAt: doc.dueAt,
    eventTime: doc.eventTime,
    partition: doc.partition ?? 0
  }
  if (typeof doc.lastError === 'string') entry.lastError = doc.lastError
  return entry
}

/** The enqueues of one (view, id) in a batch, coalesced. */
export interface CoalescedEnqueue {
  _id: string
  /** The last enqueue (its identifier and partition win). */
  op: EnqueueOp
  partition: number
  /** Enqueues coalesced: seq is bumped by this much. */
  count: number
  /** The smallest eventTime of them. */
  eventTime: number
}

/**
 * The enqueues of a batch, one per (view, id): repeats are coalesced (seq bumped once per enqueue,
 * the smallest eventTime, the last identifier and partition). Validates every partition first
 * (BRAID_INTERNAL).
 */
export function coalesceEnqueues (ops: readonly EnqueueOp[]): CoalescedEnqueue[] {
  const merged = new Map<string, CoalescedEnqueue>()
  for (const op of ops) {
    const partition = enqueuePartition(op)
    const _id = queueId(op.view, op.id)
    const seen = merged.get(_id)
    merged.set(_id, seen === undefined
      ? { _id, op, partition, count: 1, eventTime: op.eventTime }
      : { _id, op, partition, count: seen.count + 1, eventTime: Math.min(seen.eventTime, op.eventTime) })
  }
  return [...merged.values()]
}

/** The upsert of a coalesced enqueue: creates the entry or bumps it, due now at the latest. */
export function enqueueUpsert (e: CoalescedEnqueue, now: number): AnyBulkWriteOperation<QueueDoc> {
  return {
    updateOne: {
      filter: { _id: e._id },
      update: {
        $inc: { seq: e.count },
        $min: { dueAt: now, eventTime: e.eventTime },
        $set: { view: e.op.view, id: e.op.id, identifier: JSON.stringify(e.op.identifier), partition: e.partition },
        $setOnInsert: { attempts: 0, claimedUntil: 0 }
      },
      upsert: true
    }
  }
}

/** The document enqueueUpsert would insert for a new entry (for insert-first writes). */
export function enqueueInsert (e: CoalescedEnqueue, now: number): QueueDoc {
  return {
    _id: e._id,
    view: e.op.view,
    id: e.op.id,
    identifier: JSON.stringify(e.op.identifier),
    seq: e.count,
    attempts: 0,
    dueAt: now,
    eventTime: e.eventTime,
    claimedUntil: 0,
    partition: e.partition
  }
}

/**
 * The two filters of completing entries, applied in this order: `release` (entries whose seq moved
 * on since the claim: the claim is released so the newer changes are built) and `remove` (entries
 * whose seq is still the claimed one). Releasing first never releases an entry another worker
 * claimed after this one was removed.
 */
export function completeFilters (ops: NonNullable<WriteBatch['complete']>): { release: Filter<QueueDoc>, remove: Filter<QueueDoc> } {
  return {
    release: { $or: ops.map(op => ({ _id: queueId(op.view, op.id), seq: { $ne: op.seq } })) },
    remove: { $or: ops.map(op => ({ _id: queueId(op.view, op.id), seq: op.seq })) }
  }
}

export function retryWrites (ops: NonNullable<WriteBatch['retry']>): Array<AnyBulkWriteOperation<QueueDoc>> {
  return ops.map(op => ({
    updateOne: {
      filter: { _id: queueId(op.view, op.id) },
      update: { $set: { claimedUntil: 0, lastError: op.error, dueAt: op.dueAt }, $inc: { attempts: 1 } }
    }
  }))
}
