/**
 * The MongoDB store (official `mongodb` driver): every collection in one database, the trigger
 * queue in `sys_queue`, the meta settings in `sys_meta` and the outbox in `__braid_outbox`. It needs neither multi-document
 * transactions nor change streams, so it also runs on MongoDB-compatible servers (tested on
 * FerretDB; differences in docs/mongodb.md).
 *
 * A WriteBatch is validated first (collections exist, documents are storable, partitions are valid),
 * so a batch with an invalid operation applies nothing. It then applies its parts in order — clear,
 * delete, relayed, put, outbox, complete, retry, enqueue, meta — each as `deleteMany`s, `insertMany`s
 * or batched `bulkWrite`s. It
 * is NOT atomic: a failure in the middle leaves the earlier parts applied. Every part is
 * idempotent, except that enqueue bumps seq and retry counts an attempt again (both harmless: one
 * more rebuild, one more attempt), so the caller retries a failed batch as a whole.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { MongoClient, type AnyBulkWriteOperation, type Collection, type Db, type Document, type IndexDescription } from 'mongodb'
import { BraidError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'
import type { Doc, Filter } from '../../model/document.ts'
import { keyId } from '../../model/key.ts'
import { outboxPageLimit, type ClaimOptions, type CollectionSpec, type FindOptions, type IndexSpec, type OutboxEntry, type QueueEntry, type Store, type WriteBatch } from '../store.ts'
import { docIdField, fromStored, indexKey, toMongoFilter, toMongoProjection, toMongoSort, toStored, type StoredDoc } from './documents.ts'
import { mongoError, type FailureContext } from './errors.ts'
import { HeartbeatWatchdog } from './watchdog.ts'
import { mongoStoreDefaults, redactUrl, resolveMongoStoreOptions, urlHosts, urlSecrets, type MongoStoreOptions, type ResolvedMongoStoreOptions, type WriteStrategy } from './options.ts'
import {
  claimOrder,
  coalesceEnqueues,
  completeFilters,
  enqueueInsert,
  enqueueUpsert,
  queueCollection,
  queueIndexes,
  retryWrites,
  toEntry,
  type CoalescedEnqueue,
  type QueueDoc
} from './queue.ts'

export const metaCollection = 'sys_meta'
export const outboxCollection = '__braid_outbox'

/** Collections the store keeps for itself; no CollectionSpec may use these names. */
const systemCollections: ReadonlySet<string> = new Set([queueCollection, metaCollection, outboxCollection])

/**
 * An outbox entry as stored. The shape is the one entries had when the outbox was an ordinary
 * collection (`_id` the keyId of the entry id, the id itself under docIdField), so entries written
 * before are relayed in the same order.
 */
interface OutboxDoc {
  _id: string
  [docIdField]: string
  topic: string
  record: OutboxEntry['record']
}

const outboxDocId = (id: string): string => keyId({ _id: id }, ['_id'])

/** What answered on the connection: MongoDB itself or FerretDB (which needs the workarounds in docs/mongodb.md). */
export interface MongoServerInfo {
  kind: 'mongodb' | 'ferretdb'
  version: string
}

/** The MongoDB store, with the database it writes to. */
export interface MongoStore extends Store {
  readonly kind: 'mongodb'
  /** The database holding braid's collections. */
  readonly database: string
  /** The connection string with its password replaced by `***`. */
  readonly url: string
  /** The server, as its buildInfo describes it (known once the store is open). */
  readonly server: MongoServerInfo
  /** How puts and enqueues are written (the option, or the server's default). */
  readonly writeStrategy: WriteStrategy
  /**
   * Replaces the driver's client with a new, connected one; operations running on the old client
   * fail and their callers retry them. The store does this by itself when the driver stops checking
   * its server (watchdog.ts).
   */
  reconnect (reason: string): Promise<void>
}

/** How often the store looks for a stuck driver heartbeat, ms. */
const watchdogIntervalMs = 5_000

/**
 * FerretDB 1.24 (SQLite backend) hangs on an `update` command that modifies 100 or more existing
 * documents, so commands updating documents on FerretDB are cut below that.
 */
const ferretDbUpdateChunk = 99

interface MetaDoc {
  _id: string
  /** The value as JSON text. */
  value: string
}

/**
 * Connects to MongoDB and prepares the system collections. Fails with BRAID_STORE_UNAVAILABLE
 * (retryable) when no server answers within `serverSelectionTimeoutMs`, BRAID_CONFIG_INVALID when
 * the options are invalid.
 */
export async function createMongoStore (options: MongoStoreOptions): Promise<MongoStore> {
  const resolved = resolveMongoStoreOptions(options)
  const context: FailureContext = { action: 'connect', hosts: urlHosts(resolved.url), secrets: urlSecrets(resolved.url) }
  let client: MongoClient
  try {
    client = newClient(resolved)
  } catch (err) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid MongoDB connection string ${redactUrl(resolved.url)}: ${mongoError(err, context).message.replace(/^connect: /, '')}`, {
      cause: err,
      details: { url: redactUrl(resolved.url) }
    })
  }
  const store = new MongoDbStore(client, resolved)
  try {
    await client.connect()
    await store.prepare()
  } catch (err) {
    await client.close().catch(() => {})
    const wrapped = mongoError(err, { ...context, action: `Cannot open the MongoDB store (database ${resolved.database})` })
    throw new BraidError(wrapped.code, wrapped.message, { retryable: wrapped.retryable, cause: err, details: { ...wrapped.details, url: redactUrl(resolved.url), database: resolved.database } })
  }
  store.startWatchdog()
  resolved.logger?.info({ store: 'mongodb', hosts: context.hosts, database: resolved.database }, 'MongoDB store open')
  return store
}

/** A driver client with the store's options, not connected yet. */
function newClient (resolved: ResolvedMongoStoreOptions): MongoClient {
  return new MongoClient(resolved.url, {
    serverSelectionTimeoutMS: resolved.serverSelectionTimeoutMs,
    connectTimeoutMS: resolved.connectTimeoutMs,
    maxPoolSize: resolved.maxPoolSize,
    appName: 'braid'
  })
}

/**
 * Inserts `docs` (unordered) and returns those whose `_id` exists already (duplicate key); any
 * other failure is thrown.
 */
async function insertNew<T extends { _id: string }> (collection: Collection<T>, docs: T[]): Promise<T[]> {
  if (docs.length === 0) return []
  try {
    await collection.insertMany(docs as never, { ordered: false })
    return []
  } catch (err) {
    const writeErrors = (err as { writeErrors?: unknown }).writeErrors
    const list = (Array.isArray(writeErrors) ? writeErrors : writeErrors === undefined ? [] : [writeErrors]) as Array<{ code?: unknown, index?: unknown }>
    if (list.length === 0 || list.some(e => e.code !== 11000)) throw err
    return list.map(e => docs[e.index as number] as T)
  }
}

/** Splits `items` into chunks of at most `size`. */
function chunks<T> (items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Throws BRAID_QUERY_INVALID unless skip and limit are absent or non-negative integers. */
function validatePaging (options: FindOptions): void {
  for (const key of ['skip', 'limit'] as const) {
    const v = options[key]
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new BraidError('BRAID_QUERY_INVALID', `${key} must be a non-negative integer, got ${String(v)}`)
    }
  }
}

/** The indexes a spec asks for (plus one on the document's `_id`), deduplicated by fields; unique wins. */
function wantedIndexes (specs: readonly CollectionSpec[]): IndexSpec[] {
  const byFields = new Map<string, IndexSpec>()
  const indexes: IndexSpec[] = [{ fields: ['_id'] }, ...specs.flatMap(s => s.indexes)]
  for (const ix of indexes) {
    const key = JSON.stringify(ix.fields)
    const seen = byFields.get(key)
    byFields.set(key, { fields: ix.fields, unique: seen?.unique === true || ix.unique === true })
  }
  return [...byFields.values()]
}

function validateSpec (spec: CollectionSpec): void {
  const problems: string[] = []
  const name = spec.name
  if (typeof name !== 'string' || name === '') problems.push('name: must be a non-empty string')
  else if (name.includes('$') || name.includes('\u0000') || name.startsWith('system.')) problems.push('name: a MongoDB collection name cannot contain $ or NUL nor start with "system."')
  else if (systemCollections.has(name)) problems.push(`name: ${name} is reserved for the store's own collection`)
  for (const ix of spec.indexes ?? []) {
    if (!Array.isArray(ix.fields) || ix.fields.length === 0) problems.push('indexes: an index needs at least one field')
    for (const f of ix.fields ?? []) {
      if (typeof f !== 'string' || f.split('.').some(seg => seg === '' || seg.startsWith('$'))) {
        problems.push(`indexes: field ${JSON.stringify(f)} cannot be indexed (empty segment or segment starting with $)`)
      }
    }
  }
  if (problems.length > 0) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid collection ${JSON.stringify(name)}: ${problems.join('; ')}`, {
      details: { problems: problems.map(p => `collections.${String(name)}.${p}`) }
    })
  }
}

/** Index name: fields joined as in the embedded store (`ix__a__b[__u]`), shortened with a hash when long. */
function indexName (ix: IndexSpec): string {
  const name = `ix__${ix.fields.join('__')}${ix.unique === true ? '__u' : ''}`
  if (name.length <= 100) return name
  let h = 0
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0
  return `${name.slice(0, 88)}__${(h >>> 0).toString(16).padStart(8, '0')}`
}

class MongoDbStore implements MongoStore {
  readonly kind = 'mongodb' as const
  readonly database: string
  readonly url: string
  server: MongoServerInfo = { kind: 'mongodb', version: 'unknown' }
  writeStrategy: WriteStrategy = 'upsert'
  #client!: MongoClient
  #db!: Db
  readonly #options: ResolvedMongoStoreOptions
  readonly #logger: Logger | undefined
  readonly #hosts: string
  readonly #secrets: string[]
  #queue!: Collection<QueueDoc>
  #meta!: Collection<MetaDoc>
  #outbox!: Collection<OutboxDoc>
  readonly #watchdog: HeartbeatWatchdog
  #watchTimer: NodeJS.Timeout | undefined
  #reconnecting: Promise<void> | undefined
  /** Collections known to exist (ensured by this store or listed on the server). */
  #collections = new Set<string>()
  /** Operations per write command (`writeChunk`). */
  readonly #writeChunk: number
  /** Operations per command that updates existing documents (capped on FerretDB). */
  #updateChunk: number
  /** Tail of the chain serialising queue operations (FerretDB only, see #queueExclusive). */
  #queueTail: Promise<void> = Promise.resolve()
  #closed = false

  constructor (client: MongoClient, options: ResolvedMongoStoreOptions) {
    this.#options = options
    this.#logger = options.logger
    this.database = options.database
    this.url = redactUrl(options.url)
    this.#hosts = urlHosts(options.url)
    this.#secrets = urlSecrets(options.url)
    this.#writeChunk = options.writeChunk
    this.#updateChunk = options.writeChunk
    this.#watchdog = new HeartbeatWatchdog(options.connectTimeoutMs)
    this.#use(client)
  }

  /** Makes `client` the one every operation uses. */
  #use (client: MongoClient): void {
    this.#client = client
    this.#db = client.db(this.database)
    this.#queue = this.#db.collection<QueueDoc>(queueCollection)
    this.#meta = this.#db.collection<MetaDoc>(metaCollection)
    this.#outbox = this.#db.collection<OutboxDoc>(outboxCollection)
    this.#watchdog.watch(client)
  }

  /** Checks every few seconds that the driver still checks its server, and replaces the client when not. */
  startWatchdog (): void {
    this.#watchTimer ??= setInterval(() => {
      const stuck = this.#watchdog.stuck()
      if (stuck === undefined || this.#reconnecting !== undefined) return
      const reason = `the driver's check of ${stuck.address} has not ended for ${Math.round(stuck.pendingMs / 1000)} s`
      this.#reconnecting = this.reconnect(reason)
        .catch((err: unknown) => this.#logger?.warn({ store: 'mongodb', hosts: this.#hosts, err }, 'MongoDB client not replaced; trying again'))
        .finally(() => { this.#reconnecting = undefined })
    }, watchdogIntervalMs).unref()
  }

  async reconnect (reason: string): Promise<void> {
    if (this.#closed) return
    this.#logger?.warn({ store: 'mongodb', hosts: this.#hosts, reason }, 'MongoDB driver stopped checking the server; replacing the client')
    const next = newClient(this.#options)
    try {
      await next.connect()
    } catch (err) {
      await next.close().catch(() => {})
      throw mongoError(err, this.#context('reconnect'))
    }
    if (this.#closed) {
      await next.close()
      return
    }
    const previous = this.#client
    this.#use(next)
    // Not awaited: a stuck client may never finish closing.
    previous.close().catch(() => {})
    this.#logger?.info({ store: 'mongodb', hosts: this.#hosts }, 'MongoDB client replaced')
  }

  /** Identifies the server, creates the system collections and the queue indexes, and lists the existing collections. */
  async prepare (): Promise<void> {
    await this.#db.command({ ping: 1 })
    const info = await this.#db.admin().command({ buildInfo: 1 }).catch(() => ({}) as Record<string, unknown>)
    const ferret = info['ferretdbVersion'] ?? info['ferretdb']
    if (ferret !== undefined) {
      this.server = { kind: 'ferretdb', version: typeof ferret === 'string' ? ferret : JSON.stringify(ferret) }
      this.#updateChunk = Math.min(this.#writeChunk, ferretDbUpdateChunk)
    } else {
      this.server = { kind: 'mongodb', version: typeof info['version'] === 'string' ? info['version'] : 'unknown' }
    }
    this.writeStrategy = this.#options.writeStrategy ?? (this.server.kind === 'ferretdb' ? 'reinsert' : 'upsert')
    await this.#listCollections()
    for (const name of systemCollections) await this.#createCollection(name)
    await this.#createIndexes(this.#queue, queueIndexes)
  }

  /**
   * Runs queue operations one at a time on FerretDB. FerretDB 1.24 applies an update as
   * read-then-write without isolation, so two concurrent updates of one document lose one of them
   * (even `$inc`); serialising this store's queue operations keeps one braid process correct.
   * MongoDB updates a document atomically, so there they run concurrently.
   */
  async #queueExclusive<T> (fn: () => Promise<T>): Promise<T> {
    if (this.server.kind !== 'ferretdb') return await fn()
    const previous = this.#queueTail
    let release: () => void = () => {}
    this.#queueTail = new Promise<void>(resolve => { release = resolve })
    try {
      await previous
      return await fn()
    } finally {
      release()
    }
  }

  #context (action: string, query = false): FailureContext {
    return { action, hosts: this.#hosts, secrets: this.#secrets, query }
  }

  /** Runs `fn`, mapping driver failures to BraidErrors naming `action`. */
  async #run<T> (action: string, fn: () => Promise<T>, query = false): Promise<T> {
    if (this.#closed) throw new BraidError('BRAID_STORE_UNAVAILABLE', `${action}: the MongoDB store is closed`, { retryable: false })
    const client = this.#client
    try {
      return await fn()
    } catch (err) {
      const wrapped = mongoError(err, this.#context(action, query))
      // The client was replaced under this operation (reconnect): worth retrying on the new one.
      if (client !== this.#client && !this.#closed && !wrapped.retryable) {
        throw new BraidError('BRAID_STORE_UNAVAILABLE', `${wrapped.message} (the MongoDB client was replaced meanwhile)`, { retryable: true, cause: err, details: wrapped.details })
      }
      throw wrapped
    }
  }

  #collection (name: string): Collection<StoredDoc> {
    return this.#db.collection<StoredDoc>(name)
  }

  async #listCollections (): Promise<void> {
    const listed = await this.#db.listCollections({}, { nameOnly: true }).toArray()
    this.#collections = new Set(listed.map(c => c.name))
  }

  async #createCollection (name: string): Promise<void> {
    if (this.#collections.has(name)) return
    try {
      await this.#db.createCollection(name)
    } catch (err) {
      // NamespaceExists: another braid worker created it in the meantime.
      if ((err as { code?: unknown }).code !== 48) throw err
    }
    this.#collections.add(name)
  }

  async #createIndexes (collection: Collection<StoredDoc> | Collection<QueueDoc>, wanted: IndexDescription[]): Promise<void> {
    const existing = await collection.listIndexes().toArray()
    const sameKey = (a: unknown, b: unknown): boolean => JSON.stringify(Object.entries(a as object)) === JSON.stringify(Object.entries(b as object))
    const missing: IndexDescription[] = []
    for (const ix of wanted) {
      const found = existing.find(e => sameKey(e['key'], ix.key))
      if (found === undefined) {
        missing.push(ix)
      } else if (ix.unique === true && found['unique'] !== true) {
        throw new BraidError('BRAID_CONFIG_INVALID', `Collection ${collection.collectionName}: a unique index on ${Object.keys(ix.key as object).join(', ')} is wanted, but the non-unique index ${String(found['name'])} has the same fields; drop that index (db.${collection.collectionName}.dropIndex(${JSON.stringify(found['name'])})) and restart braid`, {
          details: { collection: collection.collectionName, index: found['name'] }
        })
      }
    }
    if (missing.length === 0) return
    try {
      await collection.createIndexes(missing)
    } catch (err) {
      // Another worker may have created the same indexes at the same time (MongoDB answers with a
      // conflict, FerretDB 1.24 may drop the connection): re-check, try once more, and fail only if
      // indexes are still missing.
      if (err instanceof BraidError) throw err
      await new Promise(resolve => setTimeout(resolve, 100))
      const now = await collection.listIndexes().toArray()
      const absent = missing.filter(ix => !now.some(e => sameKey(e['key'], ix.key)))
      if (absent.length > 0) await collection.createIndexes(absent)
    }
  }

  async ensureCollections (specs: CollectionSpec[]): Promise<void> {
    for (const spec of specs) validateSpec(spec)
    const byName = new Map<string, CollectionSpec[]>()
    for (const spec of specs) byName.set(spec.name, [...(byName.get(spec.name) ?? []), spec])
    await this.#run('ensureCollections', async () => {
      await this.#listCollections()
      for (const [name, group] of byName) {
        await this.#createCollection(name)
        const wanted = wantedIndexes(group).map(ix => {
          const description: IndexDescription = { key: indexKey(ix.fields), name: indexName(ix) }
          if (ix.unique === true) description.unique = true
          return description
        })
        await this.#createIndexes(this.#collection(name), wanted)
      }
    })
  }

  async getMany (collection: string, ids: readonly string[]): Promise<Map<string, Doc>> {
    return this.#run(`getMany ${collection}`, async () => {
      const out = new Map<string, Doc>()
      const unique = [...new Set(ids)]
      for (const chunk of chunks(unique, this.#options.getManyChunk)) {
        const docs = await this.#collection(collection).find({ _id: { $in: chunk } }).toArray()
        for (const doc of docs) out.set(doc._id, fromStored(doc))
      }
      return out
    })
  }

  async find (collection: string, filter: Filter, options: FindOptions = {}): Promise<Doc[]> {
    validatePaging(options)
    const mongoFilter = toMongoFilter(filter)
    const sort = toMongoSort(options.sort)
    const projection = toMongoProjection(options.projection)
    return this.#run(`find ${collection}`, async () => {
      let cursor = this.#collection(collection).find(mongoFilter).sort(sort)
      if (projection !== undefined) cursor = cursor.project(projection)
      if (options.skip !== undefined && options.skip > 0) cursor = cursor.skip(options.skip)
      if (options.limit !== undefined && options.limit > 0) cursor = cursor.limit(options.limit)
      const docs = await cursor.toArray()
      return docs.map(fromStored)
    }, true)
  }

  async count (collection: string, filter: Filter): Promise<number> {
    const mongoFilter = toMongoFilter(filter)
    return this.#run(`count ${collection}`, async () => await this.#collection(collection).countDocuments(mongoFilter), true)
  }

  /**
   * Pages by keyset (`_id > last id of the previous page`, sorted by `_id`, `limit batchSize`): no
   * cursor stays open between pages, so a slow consumer never hits a cursor timeout, and memory is
   * one page.
   */
  async * scan (collection: string, filter: Filter, batchSize: number = mongoStoreDefaults.scanBatchSize): AsyncIterable<Doc[]> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new BraidError('BRAID_QUERY_INVALID', `scan batchSize must be a positive integer, got ${String(batchSize)}`)
    }
    const mongoFilter = toMongoFilter(filter)
    let after: string | undefined
    for (;;) {
      const pageFilter = after === undefined ? mongoFilter : { $and: [mongoFilter, { _id: { $gt: after } }] }
      const page = await this.#run(`scan ${collection}`, async () =>
        await this.#collection(collection).find(pageFilter).sort([['_id', 1]]).limit(batchSize).toArray(), true)
      if (page.length === 0) return
      yield page.map(fromStored)
      if (page.length < batchSize) return
      after = (page[page.length - 1] as StoredDoc)._id
    }
  }

  /** Puts grouped by collection (the last put of an id wins), converted; throws before anything is written. */
  async #preparePuts (puts: NonNullable<WriteBatch['put']>): Promise<Map<string, Map<string, StoredDoc>>> {
    const out = new Map<string, Map<string, StoredDoc>>()
    for (const op of puts) {
      let byId = out.get(op.collection)
      if (byId === undefined) out.set(op.collection, byId = new Map())
      byId.delete(op.id)
      byId.set(op.id, toStored(op.doc, op.id, op.collection))
    }
    const reserved = [...out.keys()].find(name => systemCollections.has(name))
    if (reserved !== undefined) {
      throw new BraidError('BRAID_INTERNAL', `put: collection ${JSON.stringify(reserved)} is the store's own and cannot be written with put`, { details: { collection: reserved } })
    }
    const unknown = [...out.keys()].filter(name => !this.#collections.has(name))
    if (unknown.length > 0) {
      // Another worker may have created them since this store last listed the collections.
      await this.#run('write', async () => await this.#listCollections())
      const missing = unknown.find(name => !this.#collections.has(name))
      if (missing !== undefined) {
        throw new BraidError('BRAID_INTERNAL', `put: collection ${JSON.stringify(missing)} does not exist (ensureCollections was not called for it)`, {
          details: { collection: missing }
        })
      }
    }
    return out
  }

  async #bulk<T extends Document> (collection: Collection<T>, ops: Array<AnyBulkWriteOperation<T>>, ordered: boolean): Promise<void> {
    for (const chunk of chunks(ops, this.#updateChunk)) await collection.bulkWrite(chunk, { ordered })
  }

  async write (batch: WriteBatch): Promise<void> {
    const now = Date.now()
    // Everything that can be refused is checked before the first write.
    const puts = await this.#preparePuts(batch.put ?? [])
    const enqueues = coalesceEnqueues(batch.enqueue ?? [])
    const meta = new Map<string, string | undefined>()
    for (const m of batch.meta ?? []) {
      meta.delete(m.key)
      meta.set(m.key, m.value === undefined ? undefined : JSON.stringify(m.value))
    }
    // A failing part leaves the parts before it applied; details.failedPart names it.
    const phase = async (name: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await this.#run(`write (${name})`, fn)
      } catch (err) {
        if (err instanceof BraidError) err.details['failedPart'] = name
        throw err
      }
    }
    if (batch.clear !== undefined && batch.clear.length > 0) {
      await phase('clear', async () => {
        for (const name of new Set(batch.clear)) {
          if (!systemCollections.has(name)) await this.#collection(name).deleteMany({})
        }
      })
    }
    if (batch.delete !== undefined && batch.delete.length > 0) {
      await phase('delete', async () => {
        const byCollection = new Map<string, string[]>()
        for (const op of batch.delete ?? []) byCollection.set(op.collection, [...(byCollection.get(op.collection) ?? []), op.id])
        for (const [name, ids] of byCollection) {
          if (systemCollections.has(name)) continue
          for (const chunk of chunks([...new Set(ids)], this.#writeChunk)) await this.#collection(name).deleteMany({ _id: { $in: chunk } })
        }
      })
    }
    if (batch.relayed !== undefined && batch.relayed.length > 0) {
      await phase('relayed', async () => {
        for (const chunk of chunks([...new Set(batch.relayed)], this.#writeChunk)) await this.#outbox.deleteMany({ _id: { $in: chunk.map(outboxDocId) } })
      })
    }
    if (puts.size > 0) {
      await phase('put', async () => {
        for (const [name, byId] of puts) {
          const docs = [...byId.values()]
          if (this.writeStrategy === 'reinsert') {
            await this.#reinsert(this.#collection(name), docs)
          } else {
            await this.#bulk(this.#collection(name), docs.map(doc => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } })), false)
          }
        }
      })
    }
    if (batch.outbox !== undefined && batch.outbox.length > 0) {
      // An entry already there (a retried write) keeps its document: insertNew reports it, nothing more.
      const docs = batch.outbox.map((e): OutboxDoc => ({ _id: outboxDocId(e.id), [docIdField]: e.id, topic: e.topic, record: e.record }))
      await phase('outbox', async () => {
        for (const chunk of chunks(docs, this.#writeChunk)) await insertNew(this.#outbox, chunk)
      })
    }
    const completes = batch.complete ?? []
    const retries = batch.retry ?? []
    if (completes.length + retries.length + enqueues.length > 0) {
      await this.#queueExclusive(async () => {
        if (completes.length > 0) {
          await phase('complete', async () => {
            for (const chunk of chunks(completes, this.#updateChunk)) {
              const { release, remove } = completeFilters(chunk)
              await this.#queue.updateMany(release, { $set: { claimedUntil: 0 } })
              await this.#queue.deleteMany(remove)
            }
          })
        }
        if (retries.length > 0) await phase('retry', async () => await this.#bulk(this.#queue, retryWrites(retries), true))
        if (enqueues.length > 0) await phase('enqueue', async () => await this.#enqueue(enqueues, now))
      })
    }
    if (meta.size > 0) {
      await phase('meta', async () => {
        const ops: Array<AnyBulkWriteOperation<MetaDoc>> = [...meta].map(([key, value]) => value === undefined
          ? { deleteOne: { filter: { _id: key } } }
          : { replaceOne: { filter: { _id: key }, replacement: { _id: key, value }, upsert: true } })
        await this.#bulk(this.#meta, ops, false)
      })
    }
  }

  /**
   * Puts by deleting the ids, then inserting the documents (one scan per chunk on servers without
   * an index lookup on updates). A document inserted meanwhile by someone else is replaced.
   */
  async #reinsert (collection: Collection<StoredDoc>, docs: StoredDoc[]): Promise<void> {
    for (const chunk of chunks(docs, this.#writeChunk)) {
      await collection.deleteMany({ _id: { $in: chunk.map(d => d._id) } })
      const duplicates = await insertNew(collection, chunk)
      if (duplicates.length > 0) {
        await this.#bulk(collection, duplicates.map(doc => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } })), false)
      }
    }
  }

  /**
   * Applies the enqueue upserts. Two upserts of a new entry racing in two workers can fail with a
   * duplicate key on `_id` (the loser inserted too); those are applied again, now as updates.
   */
  async #enqueue (enqueues: CoalescedEnqueue[], now: number): Promise<void> {
    let toUpsert = enqueues
    if (this.writeStrategy === 'reinsert') {
      // Insert the entries that are new; only those that exist already are updated.
      const byId = new Map(enqueues.map(e => [e._id, e]))
      toUpsert = []
      for (const chunk of chunks(enqueues, this.#writeChunk)) {
        for (const doc of await insertNew(this.#queue, chunk.map(e => enqueueInsert(e, now)))) toUpsert.push(byId.get(doc._id) as CoalescedEnqueue)
      }
    }
    let pending = toUpsert.map(e => enqueueUpsert(e, now))
    for (let attempt = 0; ; attempt++) {
      const failed: Array<AnyBulkWriteOperation<QueueDoc>> = []
      for (const chunk of chunks(pending, this.#updateChunk)) {
        try {
          await this.#queue.bulkWrite(chunk, { ordered: false })
        } catch (err) {
          const writeErrors = (err as { writeErrors?: unknown }).writeErrors
          const list = Array.isArray(writeErrors) ? writeErrors as Array<{ code?: unknown, index?: unknown }> : []
          if (attempt >= 2 || list.length === 0 || list.some(e => e.code !== 11000)) throw err
          for (const e of list) failed.push(chunk[e.index as number] as AnyBulkWriteOperation<QueueDoc>)
        }
      }
      if (failed.length === 0) return
      pending = failed
    }
  }

  async claimDue ({ limit, now, leaseMs, views, partitions }: ClaimOptions): Promise<QueueEntry[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new BraidError('BRAID_INTERNAL', `claimDue: limit must be an integer >= 0, got ${String(limit)}`)
    if (!Number.isFinite(now) || !Number.isFinite(leaseMs) || leaseMs < 0) throw new BraidError('BRAID_INTERNAL', 'claimDue: now and leaseMs must be finite numbers, leaseMs >= 0')
    if (limit === 0) return []
    return this.#run('claimDue', async () => await this.#queueExclusive(async () => {
      const due: Filter = { dueAt: { $lte: now }, claimedUntil: { $lt: now } }
      if (views !== undefined) due['view'] = { $in: [...views] }
      if (partitions !== undefined) due['partition'] = { $in: [...partitions] }
      const token = randomUUID()
      const until = now + leaseMs
      let claimed = 0
      for (let round = 0; round < mongoStoreDefaults.claimRounds && claimed < limit; round++) {
        const candidates = await this.#queue.find(due, { projection: { _id: 1 } }).sort(claimOrder).limit(limit - claimed).toArray()
        if (candidates.length === 0) break
        // One multi-update per chunk: MongoDB re-checks the filter on each document as it updates it,
        // so of two claimers racing for an entry exactly one modifies it.
        let won = 0
        for (const chunk of chunks(candidates.map(c => c._id), this.#updateChunk)) {
          const result = await this.#queue.updateMany(
            { _id: { $in: chunk }, dueAt: { $lte: now }, claimedUntil: { $lt: now } },
            { $set: { claimedUntil: until, claimToken: token } }
          )
          won += result.modifiedCount
        }
        claimed += won
        // Every candidate won: nothing more is due (or the limit is reached). Otherwise other workers won some: select again.
        if (won === candidates.length) break
      }
      if (claimed === 0) return []
      const docs = await this.#queue.find({ claimToken: token }).sort(claimOrder).toArray()
      return docs.map(toEntry)
    }))
  }

  async releaseClaims (): Promise<number> {
    return this.#run('releaseClaims', async () => await this.#queueExclusive(async () => {
      return (await this.#queue.updateMany({ claimedUntil: { $gt: 0 } }, { $set: { claimedUntil: 0 } })).modifiedCount
    }))
  }

  async queueDepth (view?: string): Promise<number> {
    return this.#run('queueDepth', async () => await this.#queue.countDocuments(view === undefined ? {} : { view }))
  }

  async outboxPage (limit: number): Promise<OutboxEntry[]> {
    outboxPageLimit(limit)
    return this.#run('outboxPage', async () => {
      const docs = await this.#outbox.find({}).sort({ _id: 1 }).limit(limit).toArray()
      return docs.map(doc => ({ id: doc[docIdField], topic: doc.topic, record: doc.record }))
    })
  }

  async outboxSize (): Promise<number> {
    return this.#run('outboxSize', async () => await this.#outbox.countDocuments({}))
  }

  async getMeta (key: string): Promise<unknown> {
    return this.#run('getMeta', async () => {
      const doc = await this.#meta.findOne({ _id: key })
      return doc === null ? undefined : JSON.parse(doc.value) as unknown
    })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#watchTimer)
    await this.#reconnecting
    try {
      await this.#client.close()
    } catch (err) {
      throw mongoError(err, this.#context('close'))
    }
    this.#logger?.info({ store: 'mongodb', hosts: this.#hosts, database: this.database }, 'MongoDB store closed')
  }
}
