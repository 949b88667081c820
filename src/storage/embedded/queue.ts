/**
 * The trigger queue of the embedded store: one row per (view, id), coalesced on enqueue.
 * All functions run inside the caller's transaction.
 * @module
 */
import type { Database, Statement } from 'better-sqlite3'
import type { Doc } from '../../model/document.ts'
import { enqueuePartition, type ClaimOptions, type EnqueueOp, type QueueEntry } from '../store.ts'

export const queueSchema = `
CREATE TABLE IF NOT EXISTS sys_queue (
  view TEXT NOT NULL,
  id TEXT NOT NULL,
  identifier TEXT NOT NULL,
  seq INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER NOT NULL,
  event_time INTEGER NOT NULL,
  claimed_until INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  queue_partition INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (view, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sys_queue_due_at ON sys_queue (due_at);
`

/** Index of partition claims; created by upgradeQueue, once a store file written before queue partitions has the column. */
const partitionIndex = 'CREATE INDEX IF NOT EXISTS sys_queue_partition_due_at ON sys_queue (queue_partition, due_at)'

/** Adds the columns later versions introduced to a queue table created by an earlier one, then their indexes. */
export function upgradeQueue (db: Database): void {
  const columns = new Set((db.prepare('SELECT name FROM pragma_table_info(\'sys_queue\')').pluck().all() as string[]))
  if (!columns.has('queue_partition')) db.exec('ALTER TABLE sys_queue ADD COLUMN queue_partition INTEGER NOT NULL DEFAULT 0')
  db.exec(partitionIndex)
}

interface QueueRow {
  view: string
  id: string
  identifier: string
  seq: number
  attempts: number
  due_at: number
  event_time: number
  queue_partition: number
  last_error: string | null
}

function toEntry (row: QueueRow): QueueEntry {
  const entry: QueueEntry = {
    view: row.view,
    id: row.id,
    identifier: JSON.parse(row.identifier) as Doc,
    seq: row.seq,
    attempts: row.attempts,
    dueAt: row.due_at,
    eventTime: row.event_time,
    partition: row.queue_partition
  }
  if (row.last_error !== null) entry.lastError = row.last_error
  return entry
}

/** Prepared queue statements of one connection. */
export class QueueStatements {
  readonly #enqueue: Statement
  readonly #completeDelete: Statement
  readonly #release: Statement
  readonly #retry: Statement
  /** Due-entry selections by filter shape: '' (none), 'v' (views), 'p' (partitions), 'vp' (both). */
  readonly #due: Map<string, Statement>
  readonly #claim: Statement
  readonly #depth: Statement
  readonly #depthForView: Statement
  readonly #releaseAll: Statement

  constructor (db: Database) {
    // A new change makes the entry due now, unless it is due even earlier (it keeps its place in line).
    this.#enqueue = db.prepare(`
      INSERT INTO sys_queue (view, id, identifier, seq, attempts, due_at, event_time, claimed_until, last_error, queue_partition)
      VALUES (?, ?, ?, 1, 0, ?, ?, 0, NULL, ?)
      ON CONFLICT (view, id) DO UPDATE SET
        seq = seq + 1,
        identifier = excluded.identifier,
        queue_partition = excluded.queue_partition,
        due_at = MIN(due_at, excluded.due_at),
        event_time = MIN(event_time, excluded.event_time)`)
    this.#completeDelete = db.prepare('DELETE FROM sys_queue WHERE view = ? AND id = ? AND seq = ?')
    this.#release = db.prepare('UPDATE sys_queue SET claimed_until = 0 WHERE view = ? AND id = ?')
    this.#retry = db.prepare('UPDATE sys_queue SET claimed_until = 0, attempts = attempts + 1, last_error = ?, due_at = ? WHERE view = ? AND id = ?')
    const columns = 'view, id, identifier, seq, attempts, due_at, event_time, queue_partition, last_error'
    const byViews = ' AND view IN (SELECT value FROM json_each(?))'
    const byPartitions = ' AND queue_partition IN (SELECT value FROM json_each(?))'
    const due = (where: string): Statement =>
      db.prepare(`SELECT ${columns} FROM sys_queue WHERE due_at <= ? AND claimed_until < ?${where} ORDER BY due_at, view, id LIMIT ?`)
    this.#due = new Map([['', due('')], ['v', due(byViews)], ['p', due(byPartitions)], ['vp', due(byViews + byPartitions)]])
    this.#claim = db.prepare('UPDATE sys_queue SET claimed_until = ? WHERE view = ? AND id = ?')
    this.#depth = db.prepare('SELECT COUNT(*) FROM sys_queue').pluck()
    this.#depthForView = db.prepare('SELECT COUNT(*) FROM sys_queue WHERE view = ?').pluck()
    this.#releaseAll = db.prepare('UPDATE sys_queue SET claimed_until = 0 WHERE claimed_until > 0')
  }

  enqueue (op: EnqueueOp, now: number): void {
    this.#enqueue.run(op.view, op.id, JSON.stringify(op.identifier), now, op.eventTime, enqueuePartition(op))
  }

  /** Deletes the entry when `seq` is still current; otherwise releases the claim (newer changes wait). */
  complete (view: string, id: string, seq: number): void {
    if (this.#completeDelete.run(view, id, seq).changes === 0) this.#release.run(view, id)
  }

  retry (view: string, id: string, dueAt: number, error: string): void {
    this.#retry.run(error, dueAt, view, id)
  }

  /** Selects and leases due entries; the caller runs this in an immediate transaction (a plain read when leaseMs is 0). */
  claim ({ limit, now, leaseMs, views, partitions }: ClaimOptions): QueueEntry[] {
    const params: Array<number | string> = [now, now]
    let shape = ''
    if (views !== undefined) {
      shape += 'v'
      params.push(JSON.stringify(views))
    }
    if (partitions !== undefined) {
      shape += 'p'
      params.push(JSON.stringify(partitions))
    }
    const rows = (this.#due.get(shape) as Statement).all(...params, limit) as QueueRow[]
    if (leaseMs > 0) {
      const until = now + leaseMs
      for (const row of rows) this.#claim.run(until, row.view, row.id)
    }
    return rows.map(toEntry)
  }

  /** Ends every lease; the number of entries released. */
  releaseAll (): number {
    return this.#releaseAll.run().changes
  }

  depth (view?: string): number {
    return (view === undefined ? this.#depth.get() : this.#depthForView.get(view)) as number
  }
}
