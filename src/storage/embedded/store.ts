/**
 * The embedded store: every collection, the trigger queue and the meta settings in one SQLite file
 * (better-sqlite3). Zero setup, and the fast stand-in of the MongoDB store in tests.
 *
 * Durability: WAL journal with synchronous=NORMAL. A committed write survives a crash of the
 * process; on power loss or an OS crash the last transactions before the failure may be lost
 * (the database stays consistent). No fsync per write, which keeps batches fast.
 *
 * A WriteBatch runs in one IMMEDIATE transaction, all or nothing, applying its parts in this order:
 * clear, delete, relayed, put, outbox, complete, retry, enqueue, meta.
 * @module
 */
import Database from 'better-sqlite3'
import { Query } from 'mingo'
import { BraidError } from '../../errors.ts'
import { withIsoDates, type Doc, type Filter } from '../../model/document.ts'
import { outboxPageLimit, type ClaimOptions, type CollectionSpec, type FindOptions, type OutboxEntry, type QueueEntry, type Store, type WriteBatch } from '../store.ts'
import { embeddedStoreDefaults, resolveEmbeddedStoreOptions, type EmbeddedStoreOptions } from './options.ts'
import { pathTypeOf, sqlValueAt } from './paths.ts'
import { normaliseFilter, planFilter, planSort, type FilterPlan, type SqlParam } from './query.ts'
import { OutboxStatements, outboxSchema, upgradeOutbox } from './outbox.ts'
import { QueueStatements, queueSchema, upgradeQueue } from './queue.ts'
import { createCollections, loadCollections, systemSchema, type CollectionState } from './schema.ts'
import { sortDocs } from './sort.ts'
import { StatementCache, sqliteError } from './sql.ts'
import { checkpointInBackground, type Checkpointer } from '../../sqlite/checkpointer.ts'
import { abandonConnection, useSqliteFile, type SqliteFileUse } from '../../sqlite/files.ts'

/** The embedded store, with a diagnostic helper on top of the Store interface. */
export interface EmbeddedStore extends Store {
  readonly kind: 'embedded'
  /** The database file (or ':memory:'). */
  readonly path: string
  /** `EXPLAIN QUERY PLAN` details of the statement find would run (for diagnostics and tests). */
  explain (collection: string, filter: Filter, options?: FindOptions): string[]
}

/** Opens (creating when missing) an embedded store on a SQLite file or ':memory:'. */
export function createEmbeddedStore (options: EmbeddedStoreOptions): EmbeddedStore {
  return new SqliteStore(options)
}

/** A compiled filter: the SQL part and, unless exact, the mingo query applied to candidates. */
interface CompiledFilter {
  plan: FilterPlan
  query: Query | undefined
}

/** getMany pads its id lists to one of these lengths, so few statements are prepared. */
const getManyTiers = [1, 16, embeddedStoreDefaults.getManyChunk] as const
const placeholderLists = new Map<number, string>()

function placeholders (n: number): string {
  let list = placeholderLists.get(n)
  if (list === undefined) placeholderLists.set(n, list = Array<string>(n).fill('?').join(','))
  return list
}

class SqliteStore implements EmbeddedStore {
  readonly kind = 'embedded' as const
  readonly path: string
  readonly #db: Database.Database
  readonly #statements: StatementCache
  readonly #queue: QueueStatements
  readonly #outbox: OutboxStatements
  readonly #metaUpsert: Database.Statement
  readonly #metaDelete: Database.Statement
  readonly #metaGet: Database.Statement
  readonly #dataVersion: Database.Statement
  readonly #updatePathTypes: Database.Statement
  readonly #writeTx: Database.Transaction<(batch: WriteBatch, now: number) => void>
  readonly #claimTx: Database.Transaction<(options: ClaimOptions) => QueueEntry[]>
  #collections: Map<string, CollectionState>
  #lastDataVersion: number
  #closed = false
  #checkpointer: Checkpointer | undefined
  /** The file's registration (files.ts), released after the connection closed; none for ':memory:'. */
  #file: SqliteFileUse | undefined

  constructor (options: EmbeddedStoreOptions) {
    const resolved = resolveEmbeddedStoreOptions(options)
    this.path = resolved.path
    let opened: Database.Database | undefined
    try {
      this.#db = opened = new Database(resolved.path)
      const background = resolved.path !== ':memory:' && resolved.checkpoints === 'background'
      if (resolved.path !== ':memory:') {
        this.#db.pragma('journal_mode = WAL')
        this.#db.pragma(`wal_autocheckpoint = ${embeddedStoreDefaults.walAutocheckpointPages}`)
      }
      this.#db.pragma('synchronous = NORMAL')
      this.#db.pragma(`busy_timeout = ${resolved.busyTimeoutMs}`)
      this.#db.pragma(`cache_size = ${-resolved.cacheSizeMiB * 1024}`)
      if (resolved.path !== ':memory:') this.#db.pragma(`mmap_size = ${resolved.mmapSizeMiB * 2 ** 20}`)
      this.#db.pragma('temp_store = MEMORY')
      this.#db.exec(systemSchema + queueSchema + outboxSchema)
      upgradeQueue(this.#db)
      upgradeOutbox(this.#db)
      this.#statements = new StatementCache(this.#db)
      this.#queue = new QueueStatements(this.#db)
      this.#outbox = new OutboxStatements(this.#db)
      this.#metaUpsert = this.#db.prepare('INSERT INTO sys_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      this.#metaDelete = this.#db.prepare('DELETE FROM sys_meta WHERE key = ?')
      this.#metaGet = this.#db.prepare('SELECT value FROM sys_meta WHERE key = ?').pluck()
      this.#dataVersion = this.#db.prepare('PRAGMA data_version').pluck()
      this.#updatePathTypes = this.#db.prepare('UPDATE sys_paths SET types = ? WHERE collection = ? AND path = ?')
      this.#writeTx = this.#db.transaction((batch: WriteBatch, now: number) => this.#apply(batch, now))
      this.#claimTx = this.#db.transaction((options: ClaimOptions) => this.#queue.claim(options))
      this.#collections = loadCollections(this.#db)
      this.#lastDataVersion = this.#dataVersion.get() as number
      if (resolved.path !== ':memory:') this.#file = useSqliteFile(resolved.path)
      if (background && this.#file !== undefined) this.#checkpointer = checkpointInBackground(this.#db, { file: this.#file, thresholdPages: embeddedStoreDefaults.walAutocheckpointPages, what: 'embedded store', logger: resolved.logger })
    } catch (err) {
      abandonConnection(opened, this.#file)
      throw sqliteError(err, 'BRAID_STORE_UNAVAILABLE', `Cannot open the embedded store at ${resolved.path}`)
    }
  }

  /** Runs `fn` on an open connection, mapping driver errors to BRAID_STORE_UNAVAILABLE. */
  #run<T> (action: string, fn: () => T): T {
    if (this.#closed) throw new BraidError('BRAID_STORE_UNAVAILABLE', `${action}: the embedded store is closed`, { retryable: false })
    try {
      this.#sync()
      return fn()
    } catch (err) {
      throw sqliteError(err, 'BRAID_STORE_UNAVAILABLE', action)
    }
  }

  /** Reloads collections and path types when another connection (process) committed changes. */
  #sync (): void {
    const version = this.#dataVersion.get() as number
    if (version === this.#lastDataVersion) return
    this.#lastDataVersion = version
    this.#collections = loadCollections(this.#db, this.#collections)
  }

  async ensureCollections (specs: CollectionSpec[]): Promise<void> {
    this.#run('ensureCollections', () => {
      const created = this.#db.transaction(() => createCollections(this.#db, specs, this.#collections)).immediate()
      for (const state of created) this.#collections.set(state.name, state)
    })
  }

  async getMany (collection: string, ids: readonly string[]): Promise<Map<string, Doc>> {
    return this.#run(`getMany ${collection}`, () => {
      const out = new Map<string, Doc>()
      const state = this.#collections.get(collection)
      if (state === undefined || ids.length === 0) return out
      const max = embeddedStoreDefaults.getManyChunk
      for (let i = 0; i < ids.length; i += max) {
        const chunk = ids.slice(i, i + max)
        const tier = getManyTiers.find(t => t >= chunk.length) ?? max
        const params: Array<string | null> = chunk.slice()
        while (params.length < tier) params.push(null)
        const sql = tier === 1
          ? `SELECT id, doc FROM ${state.table} WHERE id = ?`
          : `SELECT id, doc FROM ${state.table} WHERE id IN (${placeholders(tier)})`
        const stmt = this.#statements.get(sql).raw(true)
        for (const row of stmt.all(...params) as Array<[string, string]>) out.set(row[0], JSON.parse(row[1]) as Doc)
      }
      return out
    })
  }

  #compile (state: CollectionState, filter: Filter): CompiledFilter {
    const normalised = normaliseFilter(filter)
    const plan = planFilter(normalised, state.pathTypes, state.columnPaths)
    let query: Query | undefined
    if (!plan.exact) {
      try {
        query = new Query(normalised)
      } catch (err) {
        throw new BraidError('BRAID_QUERY_INVALID', `Invalid filter: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details: { filter } })
      }
    }
    return { plan, query }
  }

  #where (plan: FilterPlan, extra?: string): string {
    const parts = extra === undefined ? plan.where : [...plan.where, extra]
    return parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`
  }

  /** The SQL find runs, its parameters, and whether skip/limit are applied in SQL. */
  #findSql (state: CollectionState, compiled: CompiledFilter, options: FindOptions): { sql: string, params: SqlParam[], sortInMemory: boolean, pagedInSql: boolean } {
    const sortPlan = planSort(options.sort, state.pathTypes, state.columnPaths)
    const orderBy = sortPlan.kind === 'sql' ? sortPlan.orderBy : 'id'
    const base = `SELECT doc FROM ${state.table}${this.#where(compiled.plan)} ORDER BY ${orderBy}`
    const pagedInSql = compiled.query === undefined && sortPlan.kind === 'sql' && (options.limit !== undefined || options.skip !== undefined)
    if (!pagedInSql) return { sql: base, params: compiled.plan.params, sortInMemory: sortPlan.kind === 'memory', pagedInSql }
    return {
      sql: `${base} LIMIT ? OFFSET ?`,
      params: [...compiled.plan.params, noLimit(options.limit) ? -1 : options.limit as number, options.skip ?? 0],
      sortInMemory: false,
      pagedInSql
    }
  }

  async find (collection: string, filter: Filter, options: FindOptions = {}): Promise<Doc[]> {
    return this.#run(`find ${collection}`, () => {
      const state = this.#collections.get(collection)
      if (state === undefined) return []
      validatePaging(options)
      const compiled = this.#compile(state, filter)
      const { sql, params, sortInMemory, pagedInSql } = this.#findSql(state, compiled, options)
      const stmt = this.#statements.get(sql).pluck(true)
      const query = compiled.query
      let docs: Doc[]
      if (pagedInSql) {
        docs = (stmt.all(...params) as string[]).map(parseDoc)
      } else if (sortInMemory) {
        docs = []
        for (const text of stmt.iterate(...params) as IterableIterator<string>) {
          const doc = parseDoc(text)
          if (query === undefined || query.test(doc)) docs.push(doc)
        }
        docs = sortDocs(docs, options.sort ?? {})
        const skip = options.skip ?? 0
        docs = docs.slice(skip, noLimit(options.limit) ? undefined : skip + (options.limit as number))
      } else {
        docs = []
        let toSkip = options.skip ?? 0
        const limit = noLimit(options.limit) ? Infinity : options.limit as number
        for (const text of stmt.iterate(...params) as IterableIterator<string>) {
          const doc = parseDoc(text)
          if (query !== undefined && !query.test(doc)) continue
          if (toSkip > 0) {
            toSkip--
            continue
          }
          docs.push(doc)
          if (docs.length >= limit) break
        }
      }
      return project(docs, options.projection)
    })
  }

  explain (collection: string, filter: Filter, options: FindOptions = {}): string[] {
    return this.#run(`explain ${collection}`, () => {
      const state = this.#collections.get(collection)
      if (state === undefined) return []
      const compiled = this.#compile(state, filter)
      const { sql, params } = this.#findSql(state, compiled, options)
      const rows = this.#db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>
      return rows.map(r => r.detail)
    })
  }

  async count (collection: string, filter: Filter): Promise<number> {
    return this.#run(`count ${collection}`, () => {
      const state = this.#collections.get(collection)
      if (state === undefined) return 0
      const { plan, query } = this.#compile(state, filter)
      if (query === undefined) {
        return this.#statements.get(`SELECT COUNT(*) FROM ${state.table}${this.#where(plan)}`).pluck(true).get(...plan.params) as number
      }
      let n = 0
      const stmt = this.#statements.get(`SELECT doc FROM ${state.table}${this.#where(plan)}`).pluck(true)
      for (const text of stmt.iterate(...plan.params) as IterableIterator<string>) {
        if (query.test(parseDoc(text))) n++
      }
      return n
    })
  }

  async * scan (collection: string, filter: Filter, batchSize: number = embeddedStoreDefaults.scanBatchSize): AsyncIterable<Doc[]> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new BraidError('BRAID_QUERY_INVALID', `scan batchSize must be a positive integer, got ${String(batchSize)}`)
    }
    let after: string | undefined
    const page: Doc[] = []
    for (;;) {
      const fetched = this.#run(`scan ${collection}`, () => {
        const state = this.#collections.get(collection)
        if (state === undefined) return undefined
        const { plan, query } = this.#compile(state, filter)
        const sql = `SELECT id, doc FROM ${state.table}${this.#where(plan, after === undefined ? undefined : 'id > ?')} ORDER BY id LIMIT ?`
        const params = after === undefined ? [...plan.params, batchSize] : [...plan.params, after, batchSize]
        const rows = this.#statements.get(sql).raw(true).all(...params) as Array<[string, string]>
        for (const [, text] of rows) {
          const doc = parseDoc(text)
          if (query === undefined || query.test(doc)) page.push(doc)
        }
        return rows
      })
      if (fetched === undefined) return
      while (page.length >= batchSize) yield page.splice(0, batchSize)
      if (fetched.length < batchSize) break
      after = (fetched[fetched.length - 1] as [string, string])[0]
    }
    if (page.length > 0) yield page
  }

  async write (batch: WriteBatch): Promise<void> {
    this.#run('write', () => {
      this.#writeTx.immediate(batch, Date.now())
    })
  }

  #collection (name: string, action: string): CollectionState {
    const state = this.#collections.get(name)
    if (state === undefined) {
      throw new BraidError('BRAID_INTERNAL', `${action}: collection ${JSON.stringify(name)} does not exist (ensureCollections was not called for it)`, {
        details: { collection: name }
      })
    }
    return state
  }

  #apply (batch: WriteBatch, now: number): void {
    // Clearing or deleting from a collection that does not exist has nothing to remove (as in MongoDB).
    for (const name of batch.clear ?? []) this.#collections.get(name)?.clear.run()
    for (const op of batch.delete ?? []) this.#collections.get(op.collection)?.remove.run(op.id)
    for (const id of batch.relayed ?? []) this.#outbox.remove(id)
    let last: CollectionState | undefined
    for (const op of batch.put ?? []) {
      const state = last?.name === op.collection ? last : (last = this.#collection(op.collection, 'put'))
      const doc = withIsoDates(op.doc)
      const params: Array<string | number | bigint | null> = [op.id, JSON.stringify(doc)]
      for (const c of state.columns) params.push(sqlValueAt(doc, c.segments))
      state.upsert.run(params)
      for (const p of state.tracked) {
        const bit = pathTypeOf(op.doc, p.segments)
        const types = state.pathTypes.get(p.path) ?? 0
        if ((bit & ~types) === 0) continue
        state.pathTypes.set(p.path, types | bit)
        this.#updatePathTypes.run(types | bit, state.name, p.path)
      }
    }
    for (const entry of batch.outbox ?? []) this.#outbox.insert(entry)
    for (const op of batch.complete ?? []) this.#queue.complete(op.view, op.id, op.seq)
    for (const op of batch.retry ?? []) this.#queue.retry(op.view, op.id, op.dueAt, op.error)
    for (const op of batch.enqueue ?? []) this.#queue.enqueue(op, now)
    for (const m of batch.meta ?? []) {
      if (m.value === undefined) this.#metaDelete.run(m.key)
      else this.#metaUpsert.run(m.key, JSON.stringify(m.value))
    }
  }

  async claimDue (options: ClaimOptions): Promise<QueueEntry[]> {
    return this.#run('claimDue', () => {
      if (options.limit <= 0) return []
      // Without a lease nothing is written: no transaction.
      return options.leaseMs === 0 ? this.#queue.claim(options) : this.#claimTx.immediate(options)
    })
  }

  async releaseClaims (): Promise<number> {
    return this.#run('releaseClaims', () => this.#queue.releaseAll())
  }

  async queueDepth (view?: string): Promise<number> {
    return this.#run('queueDepth', () => this.#queue.depth(view))
  }

  async getMeta (key: string): Promise<unknown> {
    return this.#run('getMeta', () => {
      const text = this.#metaGet.get(key) as string | undefined
      return text === undefined ? undefined : JSON.parse(text) as unknown
    })
  }

  async outboxPage (limit: number): Promise<OutboxEntry[]> {
    outboxPageLimit(limit)
    return this.#run('outboxPage', () => this.#outbox.page(limit))
  }

  async outboxSize (): Promise<number> {
    return this.#run('outboxSize', () => this.#outbox.size())
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#statements.clear()
    await this.#checkpointer?.stop()
    try {
      this.#db.pragma('optimize')
      this.#db.close()
    } catch (err) {
      throw sqliteError(err, 'BRAID_STORE_UNAVAILABLE', 'close')
    } finally {
      if (!this.#db.open) this.#file?.release()
    }
  }
}

function parseDoc (text: string): Doc {
  return JSON.parse(text) as Doc
}

/** As in MongoDB, an absent limit and `limit: 0` both mean "no limit". */
function noLimit (limit: number | undefined): boolean {
  return limit === undefined || limit === 0
}

function validatePaging (options: FindOptions): void {
  for (const key of ['skip', 'limit'] as const) {
    const v = options[key]
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      throw new BraidError('BRAID_QUERY_INVALID', `${key} must be a non-negative integer, got ${String(v)}`)
    }
  }
}

/** Applies a Mongo-style inclusion or exclusion projection (mingo semantics: `_id` kept unless excluded). */
function project (docs: Doc[], projection: FindOptions['projection']): Doc[] {
  if (projection === undefined || Object.keys(projection).length === 0 || docs.length === 0) return docs
  try {
    return new Query({}).find<Doc>(docs, projection).all()
  } catch (err) {
    throw new BraidError('BRAID_QUERY_INVALID', `Invalid projection: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details: { projection } })
  }
}
