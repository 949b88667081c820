/**
 * Scale-out of the view builders. The trigger queue is split into `queuePartitions` partitions by
 * single-view key; every worker sharing a store registers itself (a heartbeat document) and builds
 * only the partitions it owns. Ownership is computed by every worker from the same member list with
 * rendezvous hashing, so a worker joining or leaving moves only its share of partitions.
 *
 * Two workers never build the same view at the same time: claims are per entry and atomic in every
 * store (a lease), and partition ownership makes the workers claim disjoint keys in steady state.
 * While membership changes, two workers may both believe they own a partition for up to one
 * heartbeat; the per-entry claim still keeps their builds apart. A worker that dies stops
 * heartbeating: after `expireMs` its partitions move to the survivors, and its claimed entries are
 * claimable again when their lease ends.
 * @module
 */
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { partitionForKey } from '../event-log/embedded/partitioner.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import type { CollectionSpec, Store } from '../storage/store.ts'

/** Partitions of the trigger queue. Fixed: changing it would move queued entries between owners. */
export const queuePartitions = 64

/** The queue partition of a view key (same function in every worker). */
export function queuePartition (view: string, id: string): number {
  return partitionForKey(`${view}|${id}`, queuePartitions)
}

export const workersCollection = 'braid_workers'

export const workersCollectionSpec: CollectionSpec = { name: workersCollection, primaryKey: ['_id'], indexes: [{ fields: ['heartbeatAt'] }] }

export interface WorkerInfo {
  id: string
  host: string
  pid: number
  startedAt: string
  heartbeatAt: number
  partitions: number
}

export interface WorkersOptions {
  store: Store
  logger: Logger
  /** Heartbeat period, ms (default 2000). */
  heartbeatMs?: number
  /** A member silent for this long is gone (default 5 heartbeats). */
  expireMs?: number
  /** Called with the partitions this worker owns, whenever they change. */
  onAssignment: (partitions: number[]) => void
}

export class Workers {
  readonly id: string
  readonly #store: Store
  readonly #logger: Logger
  readonly #heartbeatMs: number
  readonly #expireMs: number
  readonly #onAssignment: WorkersOptions['onAssignment']
  readonly #startedAt = new Date().toISOString()
  #owned: number[] = []
  #members: WorkerInfo[] = []
  #timer: NodeJS.Timeout | undefined
  #beating: Promise<void> | undefined

  constructor (options: WorkersOptions) {
    this.id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.#store = options.store
    this.#logger = options.logger
    this.#heartbeatMs = options.heartbeatMs ?? 2_000
    this.#expireMs = options.expireMs ?? this.#heartbeatMs * 5
    this.#onAssignment = options.onAssignment
  }

  async start (): Promise<void> {
    await this.#store.ensureCollections([workersCollectionSpec])
    await this.heartbeat()
    this.#timer = setInterval(() => {
      this.#beating ??= this.heartbeat()
        .catch((err: unknown) => this.#logger.warn({ err }, 'worker heartbeat failed; keeping the current partitions'))
        .finally(() => { this.#beating = undefined })
    }, this.#heartbeatMs)
    this.#timer.unref()
  }

  /** Leaves the group: the survivors take this worker's partitions at their next heartbeat. */
  async stop (): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#beating
    await this.#store.write({ delete: [{ collection: workersCollection, id: storeId(this.id) }] }).catch((err: unknown) => {
      this.#logger.warn({ err }, 'could not deregister the worker; it expires by itself')
    })
  }

  /** Writes this worker's heartbeat, reads the live members and recomputes the owned partitions. */
  async heartbeat (): Promise<void> {
    const now = Date.now()
    const self: Doc = { _id: this.id, host: hostname(), pid: process.pid, startedAt: this.#startedAt, heartbeatAt: now, partitions: this.#owned.length }
    await this.#store.write({ put: [{ collection: workersCollection, id: storeId(this.id), doc: self }] })
    const live = await this.#store.find(workersCollection, { heartbeatAt: { $gte: now - this.#expireMs } })
    const members = live.map(toWorkerInfo)
    if (!members.some(m => m.id === this.id)) members.push(toWorkerInfo(self))
    members.sort((a, b) => a.id.localeCompare(b.id))
    this.#members = members
    const owned = assignPartitions(members.map(m => m.id), this.id)
    if (owned.join(',') !== this.#owned.join(',')) {
      this.#logger.info({ worker: this.id, members: members.length, partitions: owned.length }, 'queue partitions assigned')
      this.#owned = owned
      this.#onAssignment(owned)
    }
  }

  owned (): number[] {
    return this.#owned
  }

  members (): WorkerInfo[] {
    return this.#members.map(m => m.id === this.id ? { ...m, partitions: this.#owned.length } : m)
  }
}

/** Rendezvous hashing: each partition goes to the member with the highest hash of (member, partition). */
export function assignPartitions (members: readonly string[], self: string): number[] {
  const owned: number[] = []
  for (let p = 0; p < queuePartitions; p++) {
    let best: string | undefined
    let bestScore = -1
    for (const m of members) {
      const score = partitionForKey(`${m}#${p}`, 0x7fffffff)
      if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
        best = m
        bestScore = score
      }
    }
    if (best === self) owned.push(p)
  }
  return owned
}

function storeId (workerId: string): string {
  return keyId({ _id: workerId }, ['_id'])
}

function toWorkerInfo (doc: Doc): WorkerInfo {
  return {
    id: String(doc['_id']),
    host: String(doc['host']),
    pid: Number(doc['pid']),
    startedAt: String(doc['startedAt']),
    heartbeatAt: Number(doc['heartbeatAt']),
    partitions: Number(doc['partitions'] ?? 0)
  }
}
