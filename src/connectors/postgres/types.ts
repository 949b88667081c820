/**
 * What every source (PostgreSQL CDC, polling) shares: the context it runs in, its status, and the
 * shape of the progress it persists in the store's meta.
 * @module
 */
import type { EventLog } from '../../event-log/event-log.ts'
import type { Logger } from '../../logger.ts'
import type { PipelineDefinition } from '../../model/single-view.ts'
import type { Store } from '../../storage/store.ts'

export interface SourceContext {
  pipeline: PipelineDefinition
  store: Store
  log: EventLog
  logger: Logger
  /** Consumer group of the projection stage (reconciling deletes waits until it consumed a snapshot). */
  consumerGroup: string
}

export const SourceState = {
  starting: 'starting',
  snapshotting: 'snapshotting',
  streaming: 'streaming',
  polling: 'polling',
  error: 'error',
  stopped: 'stopped'
} as const
export type SourceState = (typeof SourceState)[keyof typeof SourceState]

export const SnapshotStatus = {
  pending: 'pending',
  running: 'running',
  /** Read; waiting for the projections to apply it, then emitting deletes for rows it did not see. */
  reconciling: 'reconciling',
  done: 'done'
} as const
export type SnapshotStatus = (typeof SnapshotStatus)[keyof typeof SnapshotStatus]

/** Snapshot progress of one table, as shown in the status (no key values). */
export interface TableSnapshotStatus {
  status: SnapshotStatus
  /** `initial` (slot created or lost) or `resnapshot` (asked for). */
  reason: 'initial' | 'resnapshot'
  /** LSN of the snapshot the rows were read at. */
  lsn: string | null
  rows: number
  /** Rows expected (exact for small tables, the planner's estimate for large ones). */
  total: number | null
  /** rows / total, 0–100, one decimal. */
  percent: number | null
  /** Projection records the snapshot found gone from the table and deleted. */
  deletes: number
  startedAt: string | null
  finishedAt: string | null
}

export interface TableStatus {
  topic: string
  /** Change events appended since braid started. */
  events: number
  /** REPLICA IDENTITY of the table (postgres sources), once checked. */
  replicaIdentity?: string
  snapshot?: TableSnapshotStatus
}

export interface SourceStatus {
  kind: 'postgres' | 'polling'
  state: SourceState
  /** The database, without credentials (`postgres://host:5432/shop`, or `$ENV_NAME`). */
  connection: string
  /** Confirmed LSN (postgres); null before the first one. Polling cursors are not shown (they may be keys). */
  position: string | null
  /** WAL bytes between the confirmed position and the server's WAL end (all databases' WAL). */
  lagBytes: number | null
  /** Age of the oldest change received but not yet appended (postgres), or since the last completed poll. */
  lagSeconds: number | null
  /** Source time (commit time, or poll time) of the last change appended, ISO-8601. */
  lastEventAt: string | null
  /** Change events appended since braid started. */
  events: number
  lastError: { code: string, message: string, at: string } | null
  warnings: string[]
  tables: Record<string, TableStatus>
}

/** A running source. */
export interface Source {
  readonly name: string
  readonly kind: 'postgres' | 'polling'
  /**
   * Starts in the background. Resolves once the first connection checked out, or failed in a way
   * worth retrying (then retried with backoff); rejects on a configuration problem (wal_level,
   * permissions, missing primary key, …), and the source stays stopped.
   */
  start (): Promise<void>
  stop (): Promise<void>
  status (): SourceStatus
}
