/**
 * The outbox of the embedded store: one row per event, its record in columns. A table of its own
 * rather than a collection: no JSON document around the record (whose value is JSON text that a
 * document would escape again), no indexed columns or type tracking. Putting and later removing a
 * 2 KB sv-update event cost 34 µs through a collection and 13 to 15 µs here (bench/README.md).
 * All functions run inside the caller's transaction.
 * @module
 */
import type { Database, Statement } from 'better-sqlite3'
import type { OutboxEntry } from '../store.ts'
import { collectionTable, collectionTableName } from './sql.ts'

export const outboxSchema = `
CREATE TABLE IF NOT EXISTS sys_outbox (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  key TEXT,
  value TEXT,
  timestamp INTEGER,
  headers TEXT
);
`

/** The collection that held the outbox before sys_outbox (its documents: `{ _id, topic, record }`). */
const legacyCollection = '__braid_outbox'

/**
 * Moves the entries of a store file written before sys_outbox into it (same ids, so same order),
 * then drops the old collection. Runs once; a file without the old table is left alone.
 */
export function upgradeOutbox (db: Database): void {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(collectionTableName(legacyCollection)) !== undefined
  if (!exists) return
  const table = collectionTable(legacyCollection)
  db.transaction(() => {
    db.exec(`INSERT INTO sys_outbox (id, topic, key, value, timestamp, headers)
      SELECT json_extract(doc, '$._id'), json_extract(doc, '$.topic'), json_extract(doc, '$.record.key'), json_extract(doc, '$.record.value'),
        json_extract(doc, '$.record.timestamp'), json_extract(doc, '$.record.headers')
      FROM ${table} WHERE true
      ON CONFLICT (id) DO NOTHING`)
    db.exec(`DROP TABLE ${table}`)
    db.prepare('DELETE FROM sys_paths WHERE collection = ?').run(legacyCollection)
  }).immediate()
}

interface OutboxRow {
  id: string
  topic: string
  key: string | null
  value: string | null
  timestamp: number | null
  headers: string | null
}

function toEntry (row: OutboxRow): OutboxEntry {
  const entry: OutboxEntry = { id: row.id, topic: row.topic, record: { key: row.key, value: row.value } }
  if (row.timestamp !== null) entry.record.timestamp = row.timestamp
  if (row.headers !== null) entry.record.headers = JSON.parse(row.headers) as Record<string, string>
  return entry
}

/** Prepared outbox statements of one connection. */
export class OutboxStatements {
  readonly #insert: Statement
  readonly #remove: Statement
  readonly #page: Statement
  readonly #size: Statement

  constructor (db: Database) {
    this.#insert = db.prepare('INSERT INTO sys_outbox (id, topic, key, value, timestamp, headers) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
    this.#remove = db.prepare('DELETE FROM sys_outbox WHERE id = ?')
    this.#page = db.prepare('SELECT id, topic, key, value, timestamp, headers FROM sys_outbox ORDER BY id LIMIT ?')
    this.#size = db.prepare('SELECT COUNT(*) FROM sys_outbox').pluck()
  }

  insert (entry: OutboxEntry): void {
    const { key, value, timestamp, headers } = entry.record
    this.#insert.run(entry.id, entry.topic, key, value, timestamp ?? null, headers === undefined ? null : JSON.stringify(headers))
  }

  remove (id: string): void {
    this.#remove.run(id)
  }

  page (limit: number): OutboxEntry[] {
    return (this.#page.all(limit) as OutboxRow[]).map(toEntry)
  }

  size (): number {
    return this.#size.get() as number
  }
}
