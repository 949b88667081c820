/**
 * Opens the store and the event log a pipeline runs on. Embedded (SQLite files under the data
 * directory) is the zero-setup default; Kafka options select the Kafka event log, MongoDB options
 * the MongoDB store, each independently.
 * @module
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BraidError } from '../errors.ts'
import type { EventLog } from '../event-log/event-log.ts'
import { createEmbeddedEventLog } from '../event-log/embedded/index.ts'
import type { KafkaEventLogOptions } from '../event-log/kafka/index.ts'
import type { Logger } from '../logger.ts'
import { createEmbeddedStore } from '../storage/embedded/index.ts'
import type { MongoStoreOptions } from '../storage/mongodb/index.ts'
import { redactUrl } from '../storage/mongodb/options.ts'
import type { Store } from '../storage/store.ts'

export interface EngineOptions {
  /** Data directory of the embedded engines (default `./.braid`). */
  dataDir: string
  /** Take the data directory's lock (one `braid start` per directory) when an embedded engine is used. */
  exclusive?: boolean
  /** Use Apache Kafka as the event log. */
  kafka?: KafkaEventLogOptions
  /** Use MongoDB (or a MongoDB-compatible server) as the store. */
  mongodb?: MongoStoreOptions
  logger?: Logger
}

export interface Engines {
  store: Store
  log: EventLog
  dataDir: string
  /**
   * True when this process holds the data directory's lock and the store is the embedded one in it:
   * no other worker can be using the store (the service then ends leases a dead process left).
   */
  ownsStore: boolean
  /** What runs where, for people: `embedded (./.braid/store.sqlite)`, `mongodb (db-1:27017/braid)`, … */
  describe (): { store: string, eventLog: string }
  close (): Promise<void>
}

export async function openEngines (options: EngineOptions): Promise<Engines> {
  const dataDir = resolve(options.dataDir)
  const embedded = options.kafka === undefined || options.mongodb === undefined
  if (embedded) mkdirSync(dataDir, { recursive: true })
  const release = options.exclusive === true && embedded ? lockDataDir(dataDir) : () => {}
  let store: Store | undefined
  try {
    const storePath = join(dataDir, 'store.sqlite')
    const logPath = join(dataDir, 'log.sqlite')
    store = options.mongodb === undefined
      ? createEmbeddedStore({ path: storePath, ...(options.logger === undefined ? {} : { logger: options.logger }) })
      // Loaded on demand: the embedded default does not pay for the MongoDB driver or the Kafka client.
      : await (await import('../storage/mongodb/index.ts')).createMongoStore({ ...options.mongodb, ...(options.logger === undefined ? {} : { logger: options.logger }) })
    const log = options.kafka === undefined
      ? createEmbeddedEventLog({ path: logPath, ...(options.logger === undefined ? {} : { logger: options.logger }) })
      : (await import('../event-log/kafka/index.ts')).createKafkaEventLog({ ...options.kafka, ...(options.logger === undefined ? {} : { logger: options.logger }) })
    const description = {
      store: options.mongodb === undefined ? `embedded (${storePath})` : `mongodb (${redactUrl(options.mongodb.url)}${options.mongodb.database === undefined ? '' : `, database ${options.mongodb.database}`})`,
      eventLog: options.kafka === undefined ? `embedded (${logPath})` : `kafka (${options.kafka.brokers.join(',')})`
    }
    const opened = store
    return {
      store: opened,
      log,
      dataDir,
      ownsStore: options.exclusive === true && options.mongodb === undefined,
      describe: () => description,
      async close () {
        try {
          await log.close()
        } finally {
          await opened.close()
          release()
        }
      }
    }
  } catch (err) {
    await store?.close().catch(() => {})
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
        throw new BraidError('BRAID_DATA_DIR_LOCKED', `data directory ${dataDir} is used by braid process ${pid}; stop it or pass another --data-dir (a running braid start rebuilds and verifies views itself: POST /-/single-views/{name}/rebuild)`, { details: { dataDir, pid } })
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
