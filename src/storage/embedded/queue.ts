/**
 * The trigger queue of the embedded store: one row per (view, id), coalesced on enqueue.
 * All functions run inside the caller's transaction.
 * @module
 */
import type { Database, Statement } from 'better-sqlite3'
import type { Doc } from '../../model/document.ts'
import type { EnqueueOp, QueueEntry } from '../store.ts'

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
  PRIMARY KEY (view, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sys_queue_due_at ON sys_queue (due_at);
`

interface QueueRow {
  view: string
  id: string
  identifier: string
  seq: number
  attempts: number
  due_at: number
  event_time: number
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
    eventTime: row.event_time
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
  readonly #due: Statement
  readonly #dueForViews: Statement
  readonly #claim: Statement
  readonly #depth: Statement
  readonly #depthForView: Statement

  constructor (db: Database) {
    // A new change makes the entry due now, unless it is due even earlier (it keeps its place in line).
    this.#enqueue = db.prepare(`
      INSERT INTO sys_queue (view, id, identifier, seq, attempts, due_at, event_time, claimed_until, last_error)
      VALUES (?, ?, ?, 1, 0, ?, ?, 0, NULL)
      ON CONFLICT (view, id) DO UPDATE SET
        seq = seq + 1,
        identifier = excluded.identifier,
        due_at = MIN(due_at, excluded.due_at),
        event_time = MIN(event_time, excluded.event_time)`)
    this.#completeDelete = db.prepare('DELETE FROM sys_queue WHERE view = ? AND id = ? AND seq = ?')
    this.#release = db.prepare('UPDATE sys_queue SET claimed_until = 0 WHERE view = ? AND id = ?')
    this.#retry = db.prepare('UPDATE sys_queue SET claimed_until = 0, attempts = attempts + 1, last_error = ?, due_at = ? WHERE view = ? AND id = ?')
    const columns = 'view, id, identifier, seq, attempts, due_at, event_time, last_error'
    this.#due = db.prepare(`SELECT ${columns} FROM sys_queue WHERE due_at <= ? AND claimed_until < ? ORDER BY due_at, view, id LIMIT ?`)
    this.#dueForViews = db.prepare(`SELECT ${columns} FROM sys_queue WHERE due_at <= ? AND claimed_until < ? AND view IN (SELECT value FROM json_each(?)) ORDER BY due_at, view, id LIMIT ?`)
    this.#claim = db.prepare('UPDATE sys_queue SET claimed_until = ? WHERE view = ? AND id = ?')
    this.#depth = db.prepare('SELECT COUNT(*) FROM sys_queue').pluck()
    this.#depthForView = db.prepare('SELECT COUNT(*) FROM sys_queue WHERE view = ?').pluck()
  }

  enqueue (op: EnqueueOp, now: number): void {
    this.#enqueue.run(op.view, op.id, JSON.stringify(op.identifier), now, op.eventTime)
  }

  /** Deletes the entry when `seq` is still current; otherwise releases the claim (newer changes wait). */
  complete (view: string, id: string, seq: number): void {
    if (this.#completeDelete.run(view, id, seq).changes === 0) this.#release.run(view, id)
  }

  retry (view: string, id: string, dueAt: number, error: string): void {
    this.#retry.run(error, dueAt, view, id)
  }

  /** Selects and leases due entries; the caller runs this in an immediate transaction. */
  claim (limit: number, now: number, leaseMs: number, views?: readonly string[]): QueueEntry[] {
    const rows = (views === undefined
      ? this.#due.all(now, now, limit)
      : this.#dueForViews.all(now, now, JSON.stringify(views), limit)) as QueueRow[]
    const until = now + leaseMs
    for (const row of rows) this.#claim.run(until, row.view, row.id)
    return rows.map(toEntry)
  }

  depth (view?: string): number {
    return (view === undefined ? this.#depth.get() : this.#depthForView.get(view)) as number
  }
}
