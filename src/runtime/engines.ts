/**
 * Opens the store and the event log a pipeline runs on. Embedded (SQLite files under the data
 * directory) is the zero-setup default.
 * @module
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BraidError } from '../errors.ts'
import type { EventLog } from '../event-log/event-log.ts'
import { createEmbeddedEventLog } from '../event-log/embedded/index.ts'
import { createEmbeddedStore } from '../storage/embedded/index.ts'
import type { Store } from '../storage/store.ts'

export interface EngineOptions {
  /** Data directory of the embedded engines (default `./.braid`). */
  dataDir: string
  /** Take the data directory's lock (one `braid start` per directory). */
  exclusive?: boolean
}

export interface Engines {
  store: Store
  log: EventLog
  dataDir: string
  close (): Promise<void>
}

export async function openEngines (options: EngineOptions): Promise<Engines> {
  const dataDir = resolve(options.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const release = options.exclusive === true ? lockDataDir(dataDir) : () => {}
  try {
    const store = createEmbeddedStore({ path: join(dataDir, 'store.sqlite') })
    const log = createEmbeddedEventLog({ path: join(dataDir, 'log.sqlite') })
    return {
      store,
      log,
      dataDir,
      async close () {
        await log.close()
        await store.close()
        release()
      }
    }
  } catch (err) {
    release()
    throw err
  }
}

/** Data directories locked by this process (its own pid in a pid file does not tell a live lock from a stale one). */
const heldDataDirs = new Set<string>()

/** A pid file: a second `braid start` on the same directory fails fast instead of double-consuming. */
function lockDataDir (dataDir: string): () => void {
  const file = join(dataDir, 'braid.pid')
  if (heldDataDirs.has(dataDir)) {
    throw new BraidError('BRAID_DATA_DIR_LOCKED', `data directory ${dataDir} is already open in this process; close it first or pass another --data-dir`, { details: { dataDir, pid: process.pid } })
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      heldDataDirs.add(dataDir)
      return () => {
        heldDataDirs.delete(dataDir)
        rmSync(file, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(readFileSync(file, 'utf8').trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new BraidError('BRAID_DATA_DIR_LOCKED', `data directory ${dataDir} is used by braid process ${pid}; stop it or pass another --data-dir`, { details: { dataDir, pid } })
      }
      rmSync(file, { force: true })
    }
  }
  throw new BraidError('BRAID_DATA_DIR_LOCKED', `could not lock data directory ${dataDir}`, { details: { dataDir } })
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
