import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createEmbeddedEventLog } from '../../src/event-log/embedded/index.ts'
import type { Logger } from '../../src/logger.ts'
import { Checkpointer, checkpointInBackground, fallbackFactor } from '../../src/sqlite/checkpointer.ts'
import { useSqliteFile, type SqliteFileUse } from '../../src/sqlite/files.ts'
import { createEmbeddedStore } from '../../src/storage/embedded/index.ts'
import { tempDir, waitFor } from '../runtime/harness.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** The file's registration, released after the connections closed (cleanups run in reverse order). */
function registered (path: string): SqliteFileUse {
  const file = useSqliteFile(path)
  cleanups.unshift(() => { file.release() })
  return file
}

/** A WAL database whose own connection never checkpoints, with `rows` rows of 3 KB written in 10-row commits. */
function walDatabase (rows: number): { db: Database.Database, file: SqliteFileUse, path: string, write: (n: number) => void } {
  const path = join(tempDir(), 'db.sqlite')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('wal_autocheckpoint = 0')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  const insert = db.prepare('INSERT OR REPLACE INTO t VALUES (?, ?)')
  const commit = db.transaction((from: number) => { for (let i = from; i < from + 10; i++) insert.run(i, 'x'.repeat(3000)) })
  const write = (n: number): void => { for (let i = 0; i < n; i += 10) commit(i) }
  write(rows)
  cleanups.push(() => { db.close() })
  return { db, file: registered(path), path, write }
}

/** Frames in the WAL not yet copied into the database, as a PASSIVE checkpoint of nothing reports them. */
function uncopied (db: Database.Database): number {
  const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number, checkpointed: number }>
  return (r?.log ?? 0) - (r?.checkpointed ?? 0)
}

describe('background checkpoints', () => {
  it('copy the WAL into the database on their own thread once it holds the threshold of uncopied frames', async () => {
    const { db, file, write } = walDatabase(0)
    const errors: Error[] = []
    const checkpointer = new Checkpointer({ file, thresholdPages: 100, pollMs: 5, onError: err => errors.push(err), onCheckpoint: () => {} })
    cleanups.push(async () => checkpointer.stop())
    write(50) // ≈ 50 pages: below the threshold, nothing is copied
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(checkpointer.checkpoints).toBe(0)
    write(300) // well above it
    await waitFor(() => checkpointer.checkpoints > 0, 'a background checkpoint')
    expect(errors).toEqual([])
    // The serving connection did not checkpoint (wal_autocheckpoint = 0), yet little is left to copy.
    expect(uncopied(db)).toBeLessThan(100)
  })

  it('stop ends the thread and its connection, so the last connection to close removes the WAL', async () => {
    const { db, file, path, write } = walDatabase(100)
    const checkpointer = new Checkpointer({ file, thresholdPages: 10, pollMs: 5, onError: () => {}, onCheckpoint: () => {} })
    await waitFor(() => checkpointer.checkpoints > 0, 'a background checkpoint')
    write(20)
    await checkpointer.stop()
    await checkpointer.stop()
    db.close()
    expect(existsSync(`${path}-wal`)).toBe(false)
  })

  it('report a database that is not in WAL mode as an error naming the file, and stop', async () => {
    const path = join(tempDir(), 'rollback.sqlite')
    const db = new Database(path)
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    cleanups.push(() => { db.close() })
    const errors: Error[] = []
    const checkpointer = new Checkpointer({ file: registered(path), thresholdPages: 10, onError: err => errors.push(err), onCheckpoint: () => {} })
    await waitFor(() => errors.length > 0, 'the error')
    expect(errors[0]?.message).toContain(path)
    await checkpointer.stop()
  })

  it('fall back to checkpoints inside commits, with a warning naming the file, when the thread fails', async () => {
    // Not in WAL mode: the thread finds no wal-index to read and fails.
    const path = join(tempDir(), 'rollback.sqlite')
    const db = new Database(path)
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    cleanups.push(() => { db.close() })
    const warnings: Array<{ obj: Record<string, unknown>, msg: string }> = []
    const logger = { warn: (obj: Record<string, unknown>, msg: string) => { warnings.push({ obj, msg }) } } as unknown as Logger
    const checkpointer = checkpointInBackground(db, { file: registered(path), thresholdPages: 10, what: 'test database', logger })
    cleanups.push(async () => checkpointer.stop())
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10 * fallbackFactor)
    await waitFor(() => warnings.length > 0, 'the warning')
    expect(warnings[0]?.msg).toBe('background checkpoints of the test database stopped; checkpoints now run inside commits')
    expect(warnings[0]?.obj['path']).toBe(path)
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10)
  })

  it('are refused with a clear error for an unknown mode, by the store and by the log', () => {
    const dir = tempDir()
    expect(() => createEmbeddedStore({ path: join(dir, 's.sqlite'), checkpoints: 'sometimes' as never })).toThrow(/checkpoints: must be "background" or "inline"/)
    expect(() => createEmbeddedEventLog({ path: join(dir, 'l.sqlite'), checkpoints: 'sometimes' as never })).toThrow(/checkpoints: must be "background" or "inline"/)
  })

  it('leave no WAL behind when the store and the log close, and inline checkpoints still work', async () => {
    for (const checkpoints of ['background', 'inline'] as const) {
      const dir = tempDir()
      const store = createEmbeddedStore({ path: join(dir, 'store.sqlite'), checkpoints })
      await store.ensureCollections([{ name: 'things', primaryKey: ['_id'], indexes: [] }])
      await store.write({ put: [{ collection: 'things', id: '1', doc: { _id: 1 } }] })
      const log = createEmbeddedEventLog({ path: join(dir, 'log.sqlite'), checkpoints })
      await log.append('t', [{ key: null, value: 'v' }])
      await store.close()
      await log.close()
      expect(existsSync(join(dir, 'store.sqlite-wal'))).toBe(false)
      expect(existsSync(join(dir, 'log.sqlite-wal'))).toBe(false)
    }
  })
})
