/**
 * WAL checkpoints of the embedded SQLite files (store and event log) on a thread of their own.
 *
 * A checkpoint copies every page changed since the last one from the WAL into the database file
 * and syncs it: tens to hundreds of milliseconds for the 40 to 100 MiB of WAL the embedded engines
 * let grow. Left to SQLite (`wal_autocheckpoint`), it runs inside whichever commit crosses the
 * threshold, on the thread that serves the pipeline and the API, and every event in flight waits
 * for it: in the freshness bench such commits were most of the waits over 50 ms.
 *
 * Here a worker thread with its own connection watches the WAL and runs a PASSIVE checkpoint (it
 * never blocks the writer, and the writer never waits for it) once the frames not yet copied reach
 * the threshold. How many that is comes from the wal-index header in the `-shm` file (`mxFrame`
 * and `nBackfill`, https://www.sqlite.org/walformat.html), read every `pollMs`. It checkpoints
 * again while the writer added more than 1/25 of the threshold meanwhile, then syncs the database
 * file; then the serving connection copies the few frames left (`onCheckpoint`), so that its next
 * write starts the WAL over. The serving connection keeps an automatic checkpoint at
 * `fallbackFactor` × the threshold, so the WAL stays bounded if this thread falls behind or stops.
 *
 * Why the thread syncs the database file: SQLite syncs it only at the end of a checkpoint that
 * copied the whole WAL, and a background pass seldom does (the writer commits meanwhile). Without
 * that sync the serving connection's top-up, which does copy everything, paid for writing back every
 * page the background passes had copied: 86 to 136 ms per store checkpoint in the freshness bench,
 * against 17 to 38 ms with it. The `-shm` and database descriptors come from `SqliteFileUse`
 * (files.ts), which closes them only when no braid connection to the file is left in the process.
 * @module
 */
import { createRequire } from 'node:module'
import { endianness } from 'node:os'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'
import type { Logger } from '../logger.ts'
import type { SqliteFileUse } from './files.ts'

/** Where WAL checkpoints run: on a thread of their own, or inside the commit that crosses the threshold. */
export type CheckpointMode = 'background' | 'inline'

/** The `checkpoints` option of the embedded store and log (default `background`); a bad value is added to `problems`. */
export function resolveCheckpointMode (value: unknown, problems: string[]): CheckpointMode {
  const mode = value ?? 'background'
  if (mode === 'background' || mode === 'inline') return mode
  problems.push('checkpoints: must be "background" or "inline"')
  return 'background'
}

export interface CheckpointerOptions {
  /** The database file (in WAL mode), as the serving connection registered it. */
  file: SqliteFileUse
  /** Frames (pages) not yet copied into the database at which a checkpoint runs. */
  thresholdPages: number
  /** How often the WAL is looked at, ms (default 50). */
  pollMs?: number
  /** The thread failed (it stops; the serving connection's automatic checkpoint takes over). */
  onError: (err: Error) => void
  /**
   * A background checkpoint finished. The serving connection should then checkpoint what was
   * written meanwhile (a few frames, quick): SQLite starts the WAL over only once every frame is
   * copied, and without that top-up a WAL under constant writes would only grow.
   */
  onCheckpoint: () => void
}

/** The serving connection's `wal_autocheckpoint`, as a multiple of the background threshold. */
export const fallbackFactor = 4

/** CommonJS source of the worker (run with `eval`, so it needs no file of its own next to the module). */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const fs = require('node:fs')
const Database = require(workerData.driver)
const db = new Database(workerData.path)
db.pragma('wal_autocheckpoint = 0')
// Descriptors owned by the main thread (files.ts): closing one here would drop SQLite's locks.
const shm = workerData.shmFd
const header = Buffer.alloc(100)
let stopped = false
function pending () {
  if (fs.readSync(shm, header, 0, 100, 0) < 100) return 0
  // WalIndexHdr.mxFrame at 16, WalCkptInfo.nBackfill at 96, in native byte order.
  const le = workerData.littleEndian
  const mxFrame = le ? header.readUInt32LE(16) : header.readUInt32BE(16)
  const nBackfill = le ? header.readUInt32LE(96) : header.readUInt32BE(96)
  return mxFrame - nBackfill
}
function tick () {
  if (stopped) return
  try {
    if (pending() >= workerData.thresholdPages) {
      // Again while the writer added much meanwhile: the serving connection's top-up stays small.
      let result
      for (let pass = 0; pass < 8; pass++) {
        result = db.pragma('wal_checkpoint(PASSIVE)')[0]
        if (pending() <= workerData.topUpPages) break
      }
      // SQLite syncs the database only after copying the whole WAL; the copied pages are written back here, off the serving thread.
      fs.fsyncSync(workerData.dbFd)
      parentPort.postMessage({ checkpointed: result.checkpointed, log: result.log })
    }
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.stack || err) })
    stopped = true
    return
  }
  setTimeout(tick, workerData.pollMs)
}
parentPort.on('message', m => {
  if (m !== 'stop') return
  stopped = true
  db.close()
  parentPort.close()
})
tick()
`

export class Checkpointer {
  /** Absent when the thread could not start (reported through onError). */
  readonly #worker: Worker | undefined
  #checkpoints = 0
  #stopped: Promise<void> | undefined
  #exited = false

  constructor (options: CheckpointerOptions) {
    if (!(Number.isInteger(options.thresholdPages) && options.thresholdPages > 0)) throw new RangeError('thresholdPages must be an integer > 0')
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    const { file } = options
    let fds: { shmFd: number, dbFd: number }
    try {
      fds = { shmFd: file.shmFd(), dbFd: file.dbFd() }
    } catch (err) {
      // No wal-index to read (not a WAL database, or its files are unreadable).
      this.#worker = undefined
      this.#exited = true
      setImmediate(() => options.onError(new Error(`background checkpoint of ${file.path} failed: ${err instanceof Error ? err.message : String(err)}`)))
      return
    }
    this.#worker = new Worker(workerSource, { eval: true, workerData: { driver, path: file.path, ...fds, thresholdPages: options.thresholdPages, pollMs: options.pollMs ?? 50, topUpPages: Math.max(1, Math.floor(options.thresholdPages / 25)), littleEndian: endianness() === 'LE' } })
    this.#worker.unref()
    this.#worker.on('message', (m: { checkpointed?: number, error?: string }) => {
      if (m.error !== undefined) options.onError(new Error(`background checkpoint of ${file.path} failed: ${m.error}`))
      else {
        this.#checkpoints++
        options.onCheckpoint()
      }
    })
    this.#worker.on('error', err => options.onError(err))
    this.#worker.once('exit', () => { this.#exited = true })
  }

  /** Checkpoints run so far (tests, diagnostics). */
  get checkpoints (): number {
    return this.#checkpoints
  }

  /** Ends the thread after the checkpoint in progress, if any; its connection is closed first. */
  async stop (): Promise<void> {
    const worker = this.#worker
    this.#stopped ??= this.#exited || worker === undefined
      ? Promise.resolve()
      : new Promise<void>(resolve => {
        // Referenced again, so that a process with nothing else left to do waits for the exit
        // (an unreferenced worker would let it end before the caller's close goes on).
        worker.ref()
        worker.once('exit', () => resolve())
        worker.postMessage('stop')
      })
    await this.#stopped
  }
}

/**
 * Checkpoints `db` (the serving connection, in WAL mode) in the background: raises its automatic
 * checkpoint to the fallback bound, tops up after each background pass, and goes back to
 * checkpointing inside commits (with a warning naming `what`) if the thread fails.
 */
export function checkpointInBackground (db: Database.Database, options: { file: SqliteFileUse, thresholdPages: number, what: string, logger?: Logger | undefined }): Checkpointer {
  const { file, thresholdPages, what, logger } = options
  const path = file.path
  db.pragma(`wal_autocheckpoint = ${thresholdPages * fallbackFactor}`)
  return new Checkpointer({
    file,
    thresholdPages,
    onCheckpoint: () => {
      if (!db.open) return
      try {
        db.pragma('wal_checkpoint(PASSIVE)')
      } catch (err) {
        logger?.warn({ err, path }, `copying the last WAL frames of the ${what} failed; the next checkpoint copies them`)
      }
    },
    onError: err => {
      if (!db.open) return
      db.pragma(`wal_autocheckpoint = ${thresholdPages}`)
      logger?.warn({ err, path }, `background checkpoints of the ${what} stopped; checkpoints now run inside commits`)
    }
  })
}
