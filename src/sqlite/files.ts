/**
 * Descriptors braid opens on a SQLite database's files beside SQLite's own: the background
 * checkpointer reads the wal-index header from `-shm` and syncs the database file.
 *
 * Closing any descriptor of a file drops every POSIX advisory lock the process holds on that file,
 * SQLite's locks included (https://www.sqlite.org/howtocorrupt.html, section 2.2): a connection
 * that lost its locks can have its WAL or wal-index reset under it by another process. So these
 * descriptors are opened once per file and process, shared, and closed only once every braid
 * connection to the database in this process has closed. Each embedded store and event log takes a
 * `SqliteFileUse` when it opens its file and releases it after closing its connection. (A
 * connection opened on the same file by other code in the same process is not counted.)
 * @module
 */
import fs from 'node:fs'
import type Database from 'better-sqlite3'

interface Entry {
  uses: number
  shm: number | undefined
  db: number | undefined
}

const entries = new Map<string, Entry>()

/** One connection's use of a database file (see the module comment). */
export interface SqliteFileUse {
  /** The database file's path as the registry knows it (the real path). */
  readonly path: string
  /** A read-only descriptor of the `-shm` file, opened on first use; never close it. */
  shmFd (): number
  /** A read-only descriptor of the database file (enough for fsync), opened on first use; never close it. */
  dbFd (): number
  /** After the connection closed: the descriptors close with the last use of the file. Idempotent. */
  release (): void
}

/** Registers a connection to the database at `path` (which exists: the connection opened it). */
export function useSqliteFile (path: string): SqliteFileUse {
  const key = fs.realpathSync(path)
  let entry = entries.get(key)
  if (entry === undefined) entries.set(key, entry = { uses: 0, shm: undefined, db: undefined })
  entry.uses++
  const held = entry
  let released = false
  return {
    path: key,
    shmFd: () => (held.shm ??= fs.openSync(`${key}-shm`, 'r')),
    dbFd: () => (held.db ??= fs.openSync(key, 'r')),
    release: () => {
      if (released) return
      released = true
      if (--held.uses > 0) return
      entries.delete(key)
      for (const fd of [held.shm, held.db]) if (fd !== undefined) fs.closeSync(fd)
    }
  }
}

/**
 * After a failed open: closes the connection if it opened (its error ignored: the open's is the one
 * to report), then releases the file unless the connection is still open.
 */
export function abandonConnection (db: Database.Database | undefined, file: SqliteFileUse | undefined): void {
  try {
    if (db?.open === true) db.close()
  } catch {
    // Reported by the caller: the error that made the open fail.
  }
  if (db?.open !== true) file?.release()
}

/** Files with braid connections open in this process, and their use counts (tests, diagnostics). */
export function sqliteFilesInUse (): Map<string, number> {
  return new Map([...entries].map(([key, e]) => [key, e.uses]))
}
