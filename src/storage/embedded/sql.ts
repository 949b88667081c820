/**
 * SQL building blocks of the embedded store: identifier quoting, JSON path expressions, the
 * statement cache and the mapping of SQLite failures onto BraidErrors.
 * @module
 */
import type { Database, Statement } from 'better-sqlite3'
import { BraidError } from '../../errors.ts'

/** Quotes an SQL identifier (table, index): `"name"` with embedded quotes doubled. */
export function quoteIdent (name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** Quotes an SQL string literal: `'text'` with embedded quotes doubled. */
export function quoteLiteral (text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** Table holding the documents of a collection (prefixed so collections never clash with system tables). */
export function collectionTable (collection: string): string {
  return quoteIdent(`col_${collection}`)
}

/** Table name (unquoted) of a collection, as listed in sqlite_master. */
export function collectionTableName (collection: string): string {
  return `col_${collection}`
}

/** True when every segment of a dotted path can be written as a SQLite JSON path label. */
export function isExpressiblePath (path: string): boolean {
  return path !== '' && path.split('.').every(seg => seg !== '' && !seg.includes('"'))
}

/**
 * The expression reading a dotted field of the stored JSON document: `json_extract(doc,'$."a"."b"')`.
 * The column triggers (schema.ts) use it on `new.doc`; queries on paths without a column (a store
 * whose collection was not ensured since its upgrade) use it to match the old expression indexes.
 * Callers check isExpressiblePath first.
 */
export function fieldExpr (path: string, doc = 'doc'): string {
  const jsonPath = '$' + path.split('.').map(seg => `."${seg}"`).join('')
  return `json_extract(${doc},${quoteLiteral(jsonPath)})`
}

/**
 * The column holding an indexed path's value (`"f:a.b"`), kept equal to `fieldExpr(path)` by the
 * collection's triggers (schema.ts). Queries on indexed paths use it, and so its index.
 */
export function fieldColumn (path: string): string {
  return quoteIdent(`f:${path}`)
}

/** Prepared statements by SQL text, least recently used evicted beyond `max`. */
export class StatementCache {
  readonly #db: Database
  readonly #max: number
  readonly #cache = new Map<string, Statement>()

  constructor (db: Database, max = 500) {
    this.#db = db
    this.#max = max
  }

  get (sql: string): Statement {
    const hit = this.#cache.get(sql)
    if (hit !== undefined) {
      this.#cache.delete(sql)
      this.#cache.set(sql, hit)
      return hit
    }
    const stmt = this.#db.prepare(sql)
    this.#cache.set(sql, stmt)
    if (this.#cache.size > this.#max) {
      const oldest = this.#cache.keys().next().value
      if (oldest !== undefined) this.#cache.delete(oldest)
    }
    return stmt
  }

  clear (): void {
    this.#cache.clear()
  }
}

/** SQLite result codes that describe a passing condition (lock, I/O, full disk): worth retrying. */
const transientCodes = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL', 'SQLITE_NOMEM']

/** Wraps a driver failure into a BraidError of the given code; BraidErrors pass through. */
export function sqliteError (err: unknown, code: 'BRAID_STORE_UNAVAILABLE' | 'BRAID_LOG_UNAVAILABLE', action: string): BraidError {
  if (err instanceof BraidError) return err
  const sqliteCode = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined
  const text = err instanceof Error ? err.message : String(err)
  const retryable = sqliteCode !== undefined && transientCodes.some(c => sqliteCode.startsWith(c))
  return new BraidError(code, `${action}: ${text}`, {
    retryable,
    cause: err,
    details: sqliteCode === undefined ? {} : { sqliteCode }
  })
}
