/**
 * The PostgreSQL CDC source: checks the database (catalog.ts), takes the initial snapshot when it
 * creates the slot (snapshot.ts), then streams the slot (replication.ts → changes.ts) into the
 * projections' topics, and re-snapshots single tables on request while the stream runs.
 *
 * Durability and restart: records go to the event log first; only once `append` resolved (durable)
 * is the end LSN of the last complete transaction persisted in the store's meta
 * (`braid.source.<name>`) and then confirmed to PostgreSQL, which may then recycle the WAL before it.
 * After a crash the stream restarts from that LSN; whatever was appended after it and before the
 * crash is appended again, and the projections' ordering guard makes those repeats no-ops.
 *
 * Snapshot progress (per table: status, rows, last key read, snapshot LSN) is persisted after every
 * chunk, so a snapshot cut by a restart resumes after the last chunk, on a fresh exported snapshot.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { toBraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import type { AppendRecord } from '../../model/log-record.ts'
import type { PostgresSourceDefinition } from '../../model/source.ts'
import { ident, preflight, primaryKey, qualified, type ColumnInfo, type TableInfo } from './catalog.ts'
import { ChangeDecoder, type PendingRecord, type Transaction } from './changes.ts'
import { connect, describeSource, queryText, resolveUrl, sourceError } from './connection.ts'
import { changeRecord, type RecordOrigin } from './envelope.ts'
import { formatLsn, parseLsn } from './lsn.ts'
import { reconcileDeletes } from './reconcile.ts'
import { ReplicationStream } from './replication.ts'
import { createSlot, SnapshotReader } from './snapshot.ts'
import { Backoff, errorSummary, resnapshotRequestKey, Serial, sleep, sourceStateKey } from './support.ts'
import type { Source, SourceContext, SourceState, SourceStatus, TableSnapshotStatus } from './types.ts'

/** Snapshot progress of one table as persisted (with the last key read, which the status never shows). */
interface TableProgress {
  status: TableSnapshotStatus['status']
  reason: TableSnapshotStatus['reason']
  lsn: string | null
  rows: number
  total: number | null
  deletes: number
  /** Text of the key columns of the last row appended; null before the first chunk. */
  lastKey: string[] | null
  startedAt: string | null
  finishedAt: string | null
}

/** What `braid.source.<name>` holds for a postgres source. */
interface PostgresProgress {
  kind: 'postgres'
  slot: string
  /** End of the last transaction durably appended (where the stream resumes). */
  lsn: string | null
  lastEventAt: string | null
  tables: Record<string, TableProgress>
}

/** Records held before the flusher appends them (beyond it, the stream waits). */
const maxBuffered = 20_000
/** A transaction with more records than this is appended in parts before its commit arrives. */
const partialFlush = 5000

export class PostgresCdcSource implements Source {
  readonly name: string
  readonly kind = 'postgres'
  readonly #def: PostgresSourceDefinition
  readonly #ctx: SourceContext
  readonly #abort = new AbortController()
  readonly #serial = new Serial()
  #loop: Promise<void> | null = null
  #resnapshots: Promise<void> | null = null
  #wake: () => void = () => {}
  #state: SourceState = 'stopped'
  #lastError: SourceStatus['lastError'] = null
  #warnings: string[] = []
  #url = ''
  #database = ''
  #tables = new Map<string, TableInfo>()
  #helper: pg.Client | null = null
  #stream: ReplicationStream | null = null
  #progress: PostgresProgress
  #events = new Map<string, number>()
  #lastEventAt: number | null = null
  /** Records of the transaction being received. */
  #open: PendingRecord[] = []
  /** Records of complete transactions (and parts of big ones) waiting for the flusher. */
  #ready: PendingRecord[] = []
  /** End LSN of the last complete transaction in #ready. */
  #readyEnd: bigint | null = null
  #readyCommitTime: number | null = null
  /** Commit time of the oldest transaction received and not yet appended (lag). */
  #oldestPending: number | null = null
  #flushing: Promise<void> | null = null
  #lastKeepaliveSave = 0
  #loaded = false

  constructor (def: PostgresSourceDefinition, ctx: SourceContext) {
    this.name = def.name
    this.#def = def
    this.#ctx = ctx
    this.#progress = emptyProgress(def.slot)
    for (const t of def.tables) this.#events.set(t.name, 0)
  }

  async start (): Promise<void> {
    if (this.#loop !== null) return
    let settle!: { resolve: () => void, reject: (err: unknown) => void }
    const first = new Promise<void>((resolve, reject) => { settle = { resolve, reject } })
    this.#state = 'starting'
    this.#loop = this.#run(settle)
    await first
  }

  async stop (): Promise<void> {
    this.#abort.abort()
    this.#wake()
    await this.#stream?.stop()
    await this.#loop
    await this.#resnapshots
    await this.#flushing?.catch(() => {})
    this.#state = 'stopped'
  }

  /** Looks for re-snapshot requests now (instead of within 2 s). */
  wake (): void {
    this.#wake()
  }

  status (): SourceStatus {
    const tables: SourceStatus['tables'] = {}
    for (const t of this.#def.tables) {
      const info = this.#tables.get(t.name)
      const p = this.#progress.tables[t.name]
      tables[t.name] = {
        topic: t.topic,
        events: this.#events.get(t.name) ?? 0,
        ...(info === undefined ? {} : { replicaIdentity: info.replicaIdentity.toUpperCase() }),
        ...(p === undefined ? {} : { snapshot: snapshotStatus(p) })
      }
    }
    const stream = this.#stream
    const lagBytes = stream === null ? null : Number(stream.serverWalEnd > stream.confirmed ? stream.serverWalEnd - stream.confirmed : 0n)
    return {
      kind: 'postgres',
      state: this.#state,
      connection: describeSource(this.#def.connection, this.#url),
      position: this.#progress.lsn,
      lagBytes,
      lagSeconds: this.#state === 'streaming' ? (this.#oldestPending === null ? 0 : Math.max(0, (Date.now() - this.#oldestPending) / 1000)) : null,
      lastEventAt: this.#lastEventAt === null ? this.#progress.lastEventAt : new Date(this.#lastEventAt).toISOString(),
      events: [...this.#events.values()].reduce((a, b) => a + b, 0),
      lastError: this.#lastError,
      warnings: [...this.#warnings],
      tables
    }
  }

  // ---------------------------------------------------------------- lifecycle

  async #run (first: { resolve: () => void, reject: (err: unknown) => void }): Promise<void> {
    const backoff = new Backoff()
    let settled = false
    const signal = this.#abort.signal
    while (!signal.aborted) {
      try {
        await this.#attempt(() => {
          if (!settled) first.resolve()
          settled = true
          backoff.reset()
        })
      } catch (err) {
        if (signal.aborted) break
        const error = toBraidError(err, 'BRAID_SOURCE_UNAVAILABLE')
        this.#state = 'error'
        this.#lastError = errorSummary(error)
        if (!settled) {
          settled = true
          if (!error.retryable) {
            first.reject(error)
            break
          }
          first.resolve()
        }
        const wait = backoff.next()
        this.#ctx.logger.error({ err: error, source: this.name, retryInMs: wait }, 'source failed; retrying')
        await sleep(wait, signal)
      } finally {
        await this.#close()
      }
    }
    if (!settled) first.resolve()
    if (this.#state !== 'error' || signal.aborted) this.#state = 'stopped'
  }

  async #close (): Promise<void> {
    const stream = this.#stream
    this.#stream = null
    await stream?.stop()
    await this.#flushing?.catch(() => {})
    this.#open = []
    this.#ready = []
    this.#readyEnd = null
    this.#oldestPending = null
    await this.#helper?.end().catch(() => {})
    this.#helper = null
  }

  /** One connection's life: checks, snapshot when needed, then streaming until stopped or broken. */
  async #attempt (ready: () => void): Promise<void> {
    const def = this.#def
    this.#state = 'starting'
    this.#url = resolveUrl(def.name, def.connection)
    this.#helper = await connect(def.name, this.#url)
    const checked = await preflight(this.#helper, def, this.#url)
    this.#tables = checked.tables
    this.#database = checked.database
    for (const w of checked.warnings) if (!this.#warnings.includes(w)) this.#ctx.logger.warn({ source: this.name }, w)
    this.#warnings = checked.warnings
    await this.#ctx.log.ensureTopics([...new Set(def.tables.map(t => t.topic))].map(name => ({ name })))
    if (!this.#loaded) {
      // Once per process: later attempts keep the progress in memory (a re-snapshot may be updating it).
      const stored = await this.#ctx.store.getMeta(sourceStateKey(def.name)) as PostgresProgress | undefined
      this.#progress = stored?.kind === 'postgres' && stored.slot === def.slot ? stored : emptyProgress(def.slot)
      this.#loaded = true
    }
    this.#lastError = null
    ready()
    let start: bigint
    if (checked.slot === null) {
      start = await this.#createSlotAndSnapshot()
    } else {
      start = this.#progress.lsn !== null ? parseLsn(this.#progress.lsn) : checked.slot.confirmedFlush !== null ? parseLsn(checked.slot.confirmedFlush) : 0n
      const unfinished = this.#unfinishedInitial()
      if (unfinished.length > 0) await this.#snapshotOnTemporarySlot(unfinished, 'initial')
    }
    if (this.#abort.signal.aborted) return
    this.#resnapshots ??= this.#resnapshotLoop().finally(() => { this.#resnapshots = null })
    await this.#streamFrom(start)
  }

  /** No slot: create it (exporting its snapshot) and snapshot every table (mode initial). */
  async #createSlotAndSnapshot (): Promise<bigint> {
    const def = this.#def
    if (this.#progress.lsn !== null) {
      this.#ctx.logger.warn({ source: this.name, slot: def.slot, lastLsn: this.#progress.lsn }, 'replication slot is gone (dropped, or a new database); creating it again — changes since the last position were not streamed, the new snapshot reads the tables again and reconciles deleted rows')
    }
    const initial = def.snapshot.mode === 'initial'
    const created = await createSlot(def.name, this.#url, def.slot, { temporary: false, exportSnapshot: initial })
    this.#progress = emptyProgress(def.slot)
    this.#progress.lsn = formatLsn(created.lsn)
    if (!initial) {
      await created.connection.end().catch(() => {})
      await this.#save()
      return created.lsn
    }
    for (const t of this.#tables.values()) this.#progress.tables[t.def.name] = pendingProgress('initial')
    await this.#save()
    let reader: SnapshotReader
    try {
      reader = await SnapshotReader.open(def.name, this.#url, created.snapshot ?? '')
    } finally {
      await created.connection.end().catch(() => {})
    }
    try {
      await this.#snapshot(reader, created.lsn, [...this.#tables.values()], true)
    } finally {
      await reader.close()
    }
    return created.lsn
  }

  /** Tables whose initial snapshot did not finish (or that were added to the configuration since). */
  #unfinishedInitial (): TableInfo[] {
    if (this.#def.snapshot.mode !== 'initial') return []
    const out: TableInfo[] = []
    for (const t of this.#tables.values()) {
      const p = this.#progress.tables[t.def.name]
      if (p === undefined) this.#progress.tables[t.def.name] = pendingProgress('initial')
      if (p === undefined || (p.reason === 'initial' && p.status !== 'done')) out.push(t)
    }
    return out
  }

  /** Snapshots `tables` on a fresh exported snapshot of a temporary slot (resumption, re-snapshot). */
  async #snapshotOnTemporarySlot (tables: TableInfo[], reason: 'initial' | 'resnapshot'): Promise<void> {
    const slot = `${this.#def.slot.slice(0, 40)}_tmp_${randomBytes(4).toString('hex')}`
    const created = await createSlot(this.#def.name, this.#url, slot, { temporary: true, exportSnapshot: true })
    let reader: SnapshotReader
    try {
      reader = await SnapshotReader.open(this.#def.name, this.#url, created.snapshot ?? '')
    } finally {
      // Closing the replication connection drops the temporary slot; the imported snapshot lives on.
      await created.connection.end().catch(() => {})
    }
    try {
      await this.#snapshot(reader, created.lsn, tables, reason === 'initial')
    } finally {
      await reader.close()
    }
  }

  /**
   * Reads `tables` chunk by chunk at snapshot `lsn`, appending `r` events and persisting progress after
   * each chunk. A table read from its first row is then reconciled (deletes for the records it did
   * not see).
   */
  async #snapshot (reader: SnapshotReader, lsn: bigint, tables: TableInfo[], initial: boolean): Promise<void> {
    const signal = this.#abort.signal
    if (initial) this.#state = 'snapshotting'
    for (const table of tables) {
      const name = table.def.name
      const p = this.#progress.tables[name] ?? pendingProgress(initial ? 'initial' : 'resnapshot')
      this.#progress.tables[name] = p
      const fromStart = p.lastKey === null
      if (fromStart) {
        p.rows = 0
        p.deletes = 0
      }
      p.status = 'running'
      p.lsn = formatLsn(lsn)
      p.startedAt ??= new Date().toISOString()
      p.total = await reader.total(table)
      await this.#save()
      this.#ctx.logger.info({ source: this.name, table: name, lsn: p.lsn, total: p.total, resumed: !fromStart }, 'snapshot of table started')
      const seen = fromStart ? new Set<string>() : null
      const origin = this.#origin(table)
      for await (const chunk of reader.chunks(table, p.lastKey, this.#def.snapshot.chunkSize)) {
        const at = { lsn, sourceTime: Date.now(), snapshot: true }
        const records = chunk.rows.map((row, i) => changeRecord(origin, 'r', chunk.keys[i] ?? {}, null, row, at))
        await this.#ctx.log.append(table.def.topic, records)
        this.#count(name, records.length, at.sourceTime)
        if (seen !== null) for (const key of chunk.keys) seen.add(JSON.stringify(key))
        p.rows += records.length
        p.lastKey = chunk.lastKey
        await this.#save()
        if (signal.aborted) return
      }
      if (seen !== null) {
        p.status = 'reconciling'
        await this.#save()
        p.deletes = await reconcileDeletes(this.#ctx, {
          source: this.name,
          topic: table.def.topic,
          keyColumns: table.key.map(c => c.name),
          seen,
          deleteRecord: (key: Doc) => changeRecord(origin, 'd', key, key, null, { lsn, sourceTime: Date.now(), snapshot: true }),
          signal
        })
        if (signal.aborted) return
      } else {
        this.#ctx.logger.warn({ source: this.name, table: name }, 'snapshot resumed after a restart: rows deleted before it are not reconciled (run braid resnapshot for the table to reconcile them)')
      }
      p.status = 'done'
      p.finishedAt = new Date().toISOString()
      await this.#save()
      this.#ctx.logger.info({ source: this.name, table: name, rows: p.rows, deletes: p.deletes }, 'snapshot of table done')
    }
  }

  // ---------------------------------------------------------------- re-snapshots

  /** While the source streams: runs interrupted and requested re-snapshots, one table at a time. */
  async #resnapshotLoop (): Promise<void> {
    const signal = this.#abort.signal
    const backoff = new Backoff()
    while (!signal.aborted) {
      await new Promise<void>(resolve => {
        this.#wake = resolve
        void sleep(2000, signal).then(resolve)
      })
      if (signal.aborted || this.#state !== 'streaming') continue
      try {
        const table = await this.#nextResnapshot()
        if (table === null) continue
        this.#ctx.logger.info({ source: this.name, table: table.def.name }, 're-snapshot of table started')
        await this.#snapshotOnTemporarySlot([table], 'resnapshot')
        backoff.reset()
        this.#wake()
      } catch (err) {
        const error = toBraidError(err, 'BRAID_SOURCE_UNAVAILABLE')
        this.#lastError = errorSummary(error)
        const wait = backoff.next()
        this.#ctx.logger.error({ err: error, source: this.name, retryInMs: wait }, 're-snapshot failed; retrying')
        await sleep(wait, signal)
      }
    }
  }

  /**
   * A re-snapshot cut by a restart (read again from its first row, so that it reconciles deletes), else
   * the first table with a request in the meta (turned into progress, the request removed).
   */
  async #nextResnapshot (): Promise<TableInfo | null> {
    for (const t of this.#tables.values()) {
      const p = this.#progress.tables[t.def.name]
      if (p !== undefined && p.reason === 'resnapshot' && p.status !== 'done') {
        this.#progress.tables[t.def.name] = pendingProgress('resnapshot')
        return t
      }
    }
    for (const t of this.#tables.values()) {
      const key = resnapshotRequestKey(this.name, t.def.name)
      const request = await this.#ctx.store.getMeta(key)
      if (request === undefined || request === null) continue
      this.#progress.tables[t.def.name] = pendingProgress('resnapshot')
      await this.#save()
      await this.#ctx.store.write({ meta: [{ key, value: undefined }] })
      return t
    }
    return null
  }

  // ---------------------------------------------------------------- streaming

  async #streamFrom (start: bigint): Promise<void> {
    const decoder = new ChangeDecoder({
      tables: this.#tables,
      source: this.name,
      database: this.#database,
      fetch: async (table, key, columns) => await this.#fetch(table, key, columns),
      refreshKey: async table => await this.#refreshKey(table),
      emit: (records, txn) => this.#emit(records, txn),
      commit: (end, txn) => this.#commit(end, txn)
    })
    const stream = new ReplicationStream({
      source: this.name,
      url: this.#url,
      slot: this.#def.slot,
      publication: this.#def.publication,
      startLsn: start,
      handler: {
        message: async (msg, lsn) => {
          await decoder.handle(msg, lsn)
          while (this.#open.length + this.#ready.length > maxBuffered && this.#flushing !== null) await this.#flushing
        },
        keepalive: async walEnd => await this.#keepalive(walEnd, decoder.inTransaction)
      }
    })
    this.#stream = stream
    const signal = this.#abort.signal
    if (signal.aborted) return
    const onAbort = (): void => { void stream.stop() }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      await stream.start()
      this.#state = 'streaming'
      this.#ctx.logger.info({ source: this.name, slot: this.#def.slot, from: formatLsn(start) }, 'streaming changes')
      await stream.done
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }


  #emit (records: PendingRecord[], txn: Transaction): void {
    this.#oldestPending ??= txn.commitTime
    this.#open.push(...records)
    if (this.#open.length >= partialFlush) {
      this.#ready.push(...this.#open.splice(0))
      this.#kick()
    }
  }

  #commit (end: bigint, txn: Transaction): void {
    this.#ready.push(...this.#open.splice(0))
    this.#readyEnd = end
    this.#readyCommitTime = txn.commitTime
    this.#kick()
  }

  #kick (): void {
    if (this.#flushing !== null) return
    this.#flushing = this.#flushLoop().catch((err: unknown) => {
      this.#stream?.fail(toBraidError(err, 'BRAID_LOG_UNAVAILABLE', `source "${this.name}": appending changes failed`))
    }).finally(() => {
      this.#flushing = null
      if (this.#ready.length > 0 || this.#readyEnd !== null) this.#kick()
    })
  }

  /** Appends what is ready, then persists and confirms the end of the last complete transaction. */
  async #flushLoop (): Promise<void> {
    while (this.#ready.length > 0 || this.#readyEnd !== null) {
      const batch = this.#ready.splice(0)
      const end = this.#readyEnd
      const commitTime = this.#readyCommitTime
      this.#readyEnd = null
      const byTopic = new Map<string, AppendRecord[]>()
      for (const p of batch) {
        const list = byTopic.get(p.topic) ?? []
        list.push(p.record)
        byTopic.set(p.topic, list)
      }
      for (const [topic, records] of byTopic) await this.#ctx.log.append(topic, records)
      for (const p of batch) this.#events.set(p.table, (this.#events.get(p.table) ?? 0) + 1)
      if (this.#open.length === 0 && this.#ready.length === 0) this.#oldestPending = null
      if (end === null) continue
      if (batch.length > 0 && commitTime !== null) this.#lastEventAt = commitTime
      this.#progress.lsn = formatLsn(end)
      if (this.#lastEventAt !== null) this.#progress.lastEventAt = new Date(this.#lastEventAt).toISOString()
      await this.#save()
      this.#stream?.confirm(end)
    }
  }

  /**
   * Nothing pending and no transaction open: everything the server sent before `walEnd` is durable, so
   * the slot may move there (else WAL of other tables and databases piles up behind it).
   */
  async #keepalive (walEnd: bigint, inTransaction: boolean): Promise<void> {
    const stream = this.#stream
    if (stream === null || inTransaction || this.#open.length > 0 || this.#ready.length > 0 || this.#flushing !== null || walEnd <= stream.confirmed) return
    this.#progress.lsn = formatLsn(walEnd)
    if (Date.now() - this.#lastKeepaliveSave > 10_000) {
      this.#lastKeepaliveSave = Date.now()
      await this.#save()
    }
    stream.confirm(walEnd)
  }

  /** Current values of some columns of a row (unchanged TOASTed values), or null when it is gone. */
  async #fetch (table: TableInfo, key: Record<string, string | null>, columns: string[]): Promise<Record<string, string | null> | null> {
    const helper = this.#helper
    if (helper === null) return null
    const where = table.key.map((c, i) => `${ident(c.name)} = $${i + 1}::${c.type}`).join(' AND ')
    const values = table.key.map(c => key[c.name] ?? null)
    try {
      const result = await queryText(helper, `SELECT ${columns.map(ident).join(', ')} FROM ${qualified(table.def)} WHERE ${where}`, values)
      return result.rows[0] ?? null
    } catch (err) {
      throw sourceError(this.name, this.#url, err, `reading unchanged TOASTed values of ${table.def.name}`)
    }
  }

  async #refreshKey (table: TableInfo): Promise<ColumnInfo[]> {
    const helper = this.#helper
    if (helper === null) return table.key
    return await primaryKey(async (doing, text, values) => {
      try {
        return (await helper.query(text, values)).rows
      } catch (err) {
        throw sourceError(this.name, this.#url, err, doing)
      }
    }, table.oid, table.def.name)
  }

  // ---------------------------------------------------------------- helpers

  #origin (table: TableInfo): RecordOrigin {
    return { source: this.name, connector: 'postgresql', database: this.#database, schema: table.def.schema, table: table.def.table }
  }

  #count (table: string, n: number, at: number): void {
    this.#events.set(table, (this.#events.get(table) ?? 0) + n)
    this.#lastEventAt = at
  }

  /** Persists the progress (serialised: the stream and a re-snapshot both write it). */
  async #save (): Promise<void> {
    await this.#serial.run(async () => {
      await this.#ctx.store.write({ meta: [{ key: sourceStateKey(this.name), value: structuredClone(this.#progress) }] })
    })
  }
}

function emptyProgress (slot: string): PostgresProgress {
  return { kind: 'postgres', slot, lsn: null, lastEventAt: null, tables: {} }
}

function pendingProgress (reason: TableProgress['reason']): TableProgress {
  return { status: 'pending', reason, lsn: null, rows: 0, total: null, deletes: 0, lastKey: null, startedAt: null, finishedAt: null }
}

function snapshotStatus (p: TableProgress): TableSnapshotStatus {
  const percent = p.total === null ? null : p.total === 0 ? (p.status === 'pending' ? 0 : 100) : Math.min(100, Math.round(p.rows / p.total * 1000) / 10)
  return { status: p.status, reason: p.reason, lsn: p.lsn, rows: p.rows, total: p.total, percent, deletes: p.deletes, startedAt: p.startedAt, finishedAt: p.finishedAt }
}
