import { execFileSync } from 'node:child_process'
import { existsSync, fstatSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { sqliteFilesInUse, useSqliteFile } from '../../src/sqlite/files.ts'
import { createEmbeddedStore, type EmbeddedStore } from '../../src/storage/embedded/index.ts'
import { tempDir } from '../runtime/harness.ts'

const open: EmbeddedStore[] = []
afterEach(async () => {
  for (const s of open.splice(0)) await s.close()
})

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd)
    return true
  } catch {
    return false
  }
}

/** Opens the database in another process, reads it and closes it, as a second braid process or a CLI command would. */
function visitFromAnotherProcess (path: string): void {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  const script = `const D = require(${JSON.stringify(driver)}); const d = new D(${JSON.stringify(path)}); d.prepare('SELECT COUNT(*) FROM sqlite_master').get(); d.close()`
  execFileSync(process.execPath, ['-e', script])
}

describe('SQLite file registrations', () => {
  it('share one descriptor per file and process, whatever the path used, and close them with the last use', () => {
    const dir = tempDir()
    const path = join(dir, 'db.sqlite')
    const store = createEmbeddedStore({ path, checkpoints: 'inline' })
    open.push(store)
    symlinkSync(dir, join(dir, 'link'))
    const first = useSqliteFile(path)
    const second = useSqliteFile(join(dir, 'link', 'db.sqlite'))
    expect(second.path).toBe(first.path)
    expect(second.shmFd()).toBe(first.shmFd())
    expect(second.dbFd()).toBe(first.dbFd())
    const fds = [first.shmFd(), first.dbFd()]
    expect(sqliteFilesInUse().get(first.path)).toBe(3) // the store's own registration too
    first.release()
    first.release() // idempotent: counted once
    expect(fds.every(isOpen)).toBe(true)
    second.release()
    expect(fds.every(isOpen)).toBe(true) // the store is still open
    expect(sqliteFilesInUse().get(first.path)).toBe(1)
  })

  it('keep the locks of a store open on a file when another store on the same file closes', async () => {
    // Closing any descriptor of a file drops the process's POSIX locks on it, SQLite's included.
    // Had the closing store's checkpointer closed its descriptors, the other process below would
    // have taken the WAL for unused and deleted it under the store that is still open.
    const path = join(tempDir(), 'shared.sqlite')
    const closing = createEmbeddedStore({ path })
    const staying = createEmbeddedStore({ path })
    open.push(staying)
    await staying.ensureCollections([{ name: 'things', primaryKey: ['_id'], indexes: [] }])
    await staying.write({ put: [{ collection: 'things', id: '1', doc: { _id: 1 } }] })
    await closing.close()
    visitFromAnotherProcess(path)
    expect(existsSync(`${path}-wal`)).toBe(true)
    await staying.write({ put: [{ collection: 'things', id: '2', doc: { _id: 2 } }] })
    await staying.close()
    open.splice(0)
    const reopened = createEmbeddedStore({ path })
    open.push(reopened)
    expect(await reopened.count('things', {})).toBe(2)
  })

  it('are released when a store or log closes, so no descriptor outlives the last connection', async () => {
    const path = join(tempDir(), 'db.sqlite')
    const store = createEmbeddedStore({ path })
    const key = useSqliteFile(path)
    const fds = [key.shmFd(), key.dbFd()]
    key.release()
    expect(sqliteFilesInUse().get(key.path)).toBe(1)
    await store.close()
    expect(sqliteFilesInUse().has(key.path)).toBe(false)
    expect(fds.some(isOpen)).toBe(false)
  })
})
