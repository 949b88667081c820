/**
 * The embedded event log: durable topics, partitions and consumer groups in one SQLite file.
 * Zero setup (a topic is created on first append), and the stand-in for Kafka in tests.
 *
 * Layout:
 * - `topics` (name, partitions): partition counts never change once a topic exists.
 * - `partitions` (topic, partition, next_offset): the offset the next record gets (kept even when
 *   retention has removed every record).
 * - `records` (topic, partition, offset) PRIMARY KEY, key, value, timestamp, headers (JSON or NULL).
 * - `consumer_offsets` (grp, topic, partition) PRIMARY KEY, offset: next offset to consume.
 *
 * Durability: WAL with synchronous=NORMAL, one transaction per append call. An appended record
 * survives a crash of the process; on power loss the last transactions may be lost.
 * Several processes may share the file: appends serialise on SQLite's write lock, consumers poll.
 * @module
 */
import { EventEmitter } from 'node:events'
import path from 'node:path'
import Database from 'better-sqlite3'
import { BraidError } from '../../errors.ts'
import type { AppendRecord, LogPosition, LogRecord } from '../../model/log-record.ts'
import type { BatchHandler, ConsumeOptions, EventLog, PartitionOffsets, Subscription, TopicSpec } from '../event-log.ts'
import { embeddedEventLogDefaults, resolveEmbeddedEventLogOptions, type EmbeddedEventLogOptions, type ResolvedEmbeddedEventLogOptions } from './options.ts'
import { partitionForKey } from './partitioner.ts'
import { checkpointInBackground, type Checkpointer } from '../../sqlite/checkpointer.ts'
import { abandonConnection, useSqliteFile, type SqliteFileUse } from '../../sqlite/files.ts'
import { EmbeddedSubscription, type LogAccess } from './subscription.ts'

/** The embedded log, with retention control on top of the EventLog interface. */
export interface EmbeddedEventLog extends EventLog {
  readonly kind: 'embedded'
  /** The database file (or ':memory:'). */
  readonly path: string
  /** Applies the retention options now (it also runs periodically); resolves with the records removed. */
  prune (now?: number): Promise<number>
}

/** Opens (creating when missing) an embedded event log on a SQLite file or ':memory:'. */
export function createEmbeddedEventLog (options: EmbeddedEventLogOptions): EmbeddedEventLog {
  return new SqliteEventLog(options)
}

const schema = `
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partitions (
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  key TEXT,
  value TEXT,
  timestamp INTEGER NOT NULL,
  headers TEXT,
  PRIMARY KEY (topic, partition, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumer_offsets (
  grp TEXT NOT NULL,
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  PRIMARY KEY (grp, topic, partition)
) WITHOUT ROWID;
`

/** In-process append notifications, shared by every log instance on the same file. */
const appendSignals = new EventEmitter()
appendSignals.setMaxListeners(0)
let memoryInstances = 0

type RecordRow = [number, string | null, string | null, number, string | null]

class SqliteEventLog implements EmbeddedEventLog, LogAccess {
  readonly kind = 'embedded' as const
  readonly path: string
  readonly pollIntervalMs: number
  readonly #options: ResolvedEmbeddedEventLogOptions
  readonly #db: Database.Database
  readonly #signalPrefix: string
  /** topic → partition count (counts never change, so the cache never goes stale). */
  readonly #topics = new Map<string, number>()
  /** topic → next partition for records without a key (round robin). */
  readonly #roundRobin = new Map<string, number>()
  readonly #subscriptions = new Set<EmbeddedSubscription>()
  readonly #stmt: Record<'topic' | 'insertTopic' | 'insertPartition' | 'nextOffset' | 'setNextOffset' | 'insertRecord' | 'read' | 'start' | 'committed' | 'committedAll' | 'commit' | 'topicNames' | 'oldest' | 'deleteRange', Database.Statement>
  readonly #appendTx: Database.Transaction<(topic: string, records: readonly AppendRecord[], now: number) => LogPosition[]>
  #retentionTimer: NodeJS.Timeout | undefined
  #pruning: Promise<number> | undefined
  #closing: Promise<void> | undefined
  #closed = false
  #checkpointer: Checkpointer | undefined
  /** The file's registration (files.ts), released after the connection closed; none for ':memory:'. */
  #file: SqliteFileUse | undefined

  constructor (options: EmbeddedEventLogOptions) {
    this.#options = resolveEmbeddedEventLogOptions(options)
    this.path = this.#options.path
    this.pollIntervalMs = this.#options.pollIntervalMs
    this.#signalPrefix = this.path === ':memory:' ? `:memory:${++memoryInstances}` : path.resolve(this.path)
    let opened: Database.Database | undefined
    try {
      this.#db = opened = new Database(this.path)
      const background = this.path !== ':memory:' && this.#options.checkpoints === 'background'
      if (this.path !== ':memory:') {
        this.#db.pragma('journal_mode = WAL')
        this.#db.pragma(`wal_autocheckpoint = ${embeddedEventLogDefaults.walAutocheckpointPages}`)
      }
      this.#db.pragma('synchronous = NORMAL')
      this.#db.pragma(`busy_timeout = ${this.#options.busyTimeoutMs}`)
      this.#db.exec(schema)
      const db = this.#db
      this.#stmt = {
        topic: db.prepare('SELECT partitions FROM topics WHERE name = ?').pluck(),
        insertTopic: db.prepare('INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)'),
        insertPartition: db.prepare('INSERT OR IGNORE INTO partitions (topic, partition, next_offset) VALUES (?, ?, 0)'),
        nextOffset: db.prepare('SELECT next_offset FROM partitions WHERE topic = ? AND partition = ?').pluck(),
        setNextOffset: db.prepare('UPDATE partitions SET next_offset = ? WHERE topic = ? AND partition = ?'),
        insertRecord: db.prepare('INSERT INTO records (topic, partition, offset, key, value, timestamp, headers) VALUES (?, ?, ?, ?, ?, ?, ?)'),
        read: db.prepare('SELECT offset, key, value, timestamp, headers FROM records WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?').raw(),
        start: db.prepare('SELECT MIN(offset) FROM records WHERE topic = ? AND partition = ?').pluck(),
        committed: db.prepare('SELECT offset FROM consumer_offsets WHERE grp = ? AND topic = ? AND partition = ?').pluck(),
        committedAll: db.prepare('SELECT partition, offset FROM consumer_offsets WHERE grp = ? AND topic = ? ORDER BY partition'),
        commit: db.prepare('INSERT INTO consumer_offsets (grp, topic, partition, offset) VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, partition) DO UPDATE SET offset = excluded.offset'),
        topicNames: db.prepare('SELECT name, partitions FROM topics ORDER BY name'),
        oldest: db.prepare('SELECT offset, timestamp FROM records WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?').raw(),
        deleteRange: db.prepare('DELETE FROM records WHERE topic = ? AND partition = ? AND offset >= ? AND offset < ?')
      }
      this.#appendTx = db.transaction((topic: string, records: readonly AppendRecord[], now: number) => this.#appendRecords(topic, records, now))
      if (this.path !== ':memory:') this.#file = useSqliteFile(this.path)
      if (background && this.#file !== undefined) this.#checkpointer = checkpointInBackground(this.#db, { file: this.#file, thresholdPages: embeddedEventLogDefaults.walAutocheckpointPages, what: 'embedded event log', logger: this.#options.logger })
    } catch (err) {
      abandonConnection(opened, this.#file)
      throw logError(err, `Cannot open the embedded event log at ${this.path}`)
    }
    const retention = this.#options.retention
    if (retention !== undefined) {
      this.#retentionTimer = setInterval(() => {
        this.prune().catch(() => {
          // Pruning is retried at the next interval; a failure here must not crash the process.
        })
      }, retention.checkIntervalMs)
      this.#retentionTimer.unref()
    }
  }

  #run<T> (action: string, fn: () => T): T {
    if (this.#closed) throw new BraidError('BRAID_LOG_UNAVAILABLE', `${action}: the embedded event log is closed`, { retryable: false })
    try {
      return fn()
    } catch (err) {
      throw logError(err, action)
    }
  }

  // --- LogAccess (used by subscriptions; synchronous) ---

  partitions (topic: string): number | undefined {
    const cached = this.#topics.get(topic)
    if (cached !== undefined) return cached
    const n = this.#stmt.topic.get(topic) as number | undefined
    if (n !== undefined) this.#topics.set(topic, n)
    return n
  }

  startOffset (topic: string, partition: number): number {
    const min = this.#stmt.start.get(topic, partition) as number | null
    return min ?? this.endOffset(topic, partition)
  }

  endOffset (topic: string, partition: number): number {
    return (this.#stmt.nextOffset.get(topic, partition) as number | undefined) ?? 0
  }

  fetch (topic: string, partition: number, offset: number, limit: number): LogRecord[] {
    const rows = this.#run('read', () => this.#stmt.read.all(topic, partition, offset, limit) as RecordRow[])
    return rows.map(([off, key, value, timestamp, headers]) => ({
      topic,
      partition,
      offset: off,
      key,
      value,
      timestamp,
      headers: headers === null ? {} : JSON.parse(headers) as Record<string, string>
    }))
  }

  committedOffset (group: string, topic: string, partition: number): number | undefined {
    return this.#stmt.committed.get(group, topic, partition) as number | undefined
  }

  commit (group: string, topic: string, partition: number, offset: number): void {
    this.#run('commit', () => this.#stmt.commit.run(group, topic, partition, offset))
  }

  onAppend (topic: string, listener: () => void): () => void {
    const event = `${this.#signalPrefix}\u0000${topic}`
    appendSignals.on(event, listener)
    return () => appendSignals.off(event, listener)
  }

  // --- EventLog ---

  /** Creates a topic inside the caller's transaction when missing; returns its partition count. */
  #ensureTopic (name: string, partitions: number): number {
    const existing = this.partitions(name)
    if (existing !== undefined) return existing
    if (typeof name !== 'string' || name === '') throw new BraidError('BRAID_INTERNAL', `Invalid topic name ${JSON.stringify(name)}`)
    this.#stmt.insertTopic.run(name, partitions)
    const n = this.#stmt.topic.get(name) as number
    for (let p = 0; p < n; p++) this.#stmt.insertPartition.run(name, p)
    return n
  }

  async ensureTopics (specs: TopicSpec[]): Promise<void> {
    for (const spec of specs) {
      const n = spec.partitions ?? this.#options.defaultPartitions
      if (!Number.isInteger(n) || n < 1) throw new BraidError('BRAID_INTERNAL', `Topic ${spec.name}: partitions must be an integer >= 1, got ${String(n)}`)
    }
    const created = this.#run('ensureTopics', () => this.#db.transaction(() => specs.map(spec => {
      const n = this.#ensureTopic(spec.name, spec.partitions ?? this.#options.defaultPartitions)
      return [spec.name, n] as const
    })).immediate())
    for (const [name, n] of created) this.#topics.set(name, n)
  }

  async append (topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]> {
    if (records.length === 0) return []
    for (const r of records) {
      if ((r.key !== null && typeof r.key !== 'string') || (r.value !== null && typeof r.value !== 'string')) {
        throw new BraidError('BRAID_INTERNAL', `append to ${topic}: record keys and values must be strings or null`)
      }
    }
    const positions = this.#run(`append to ${topic}`, () => this.#appendTx.immediate(topic, records, Date.now()))
    this.partitions(topic)
    appendSignals.emit(`${this.#signalPrefix}\u0000${topic}`)
    return positions
  }

  /** Body of the append transaction: assigns partitions and offsets, inserts, advances next offsets. */
  #appendRecords (topic: string, records: readonly AppendRecord[], now: number): LogPosition[] {
    const n = this.#ensureTopic(topic, this.#options.defaultPartitions)
    const next = new Map<number, number>()
    const out: LogPosition[] = new Array(records.length)
    let rr = this.#roundRobin.get(topic) ?? 0
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as AppendRecord
      let partition: number
      if (r.key === null) {
        partition = rr % n
        rr = (rr + 1) % n
      } else {
        partition = partitionForKey(r.key, n)
      }
      let offset = next.get(partition)
      if (offset === undefined) offset = (this.#stmt.nextOffset.get(topic, partition) as number | undefined) ?? 0
      const headers = r.headers === undefined || isEmpty(r.headers) ? null : JSON.stringify(r.headers)
      this.#stmt.insertRecord.run(topic, partition, offset, r.key, r.value, r.timestamp ?? now, headers)
      next.set(partition, offset + 1)
      out[i] = { topic, partition, offset }
    }
    for (const [partition, offset] of next) this.#stmt.setNextOffset.run(offset, topic, partition)
    this.#roundRobin.set(topic, rr)
    return out
  }

  async read (topic: string, partition: number, offset: number, limit: number): Promise<LogRecord[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new BraidError('BRAID_INTERNAL', `read: limit must be an integer >= 0, got ${String(limit)}`)
    if (limit === 0) return []
    return this.fetch(topic, partition, offset, limit)
  }

  async offsets (topic: string): Promise<PartitionOffsets[]> {
    return this.#run(`offsets of ${topic}`, () => {
      const n = this.partitions(topic)
      if (n === undefined) return []
      const out: PartitionOffsets[] = []
      for (let p = 0; p < n; p++) {
        const end = this.endOffset(topic, p)
        const min = this.#stmt.start.get(topic, p) as number | null
        out.push({ partition: p, start: min ?? end, end })
      }
      return out
    })
  }

  async committed (group: string, topic: string): Promise<Array<{ partition: number, offset: number }>> {
    return this.#run('committed', () => this.#stmt.committedAll.all(group, topic) as Array<{ partition: number, offset: number }>)
  }

  consume (options: ConsumeOptions, handler: BatchHandler): Subscription {
    return this.#run(`consume ${options.topics.join(', ')}`, () => {
      if (this.#closing !== undefined) throw new BraidError('BRAID_LOG_UNAVAILABLE', 'consume: the embedded event log is closing', { retryable: false })
      if (typeof options.group !== 'string' || options.group === '') throw new BraidError('BRAID_INTERNAL', 'consume: group must be a non-empty string')
      if (options.maxBatch !== undefined && (!Number.isInteger(options.maxBatch) || options.maxBatch < 1)) {
        throw new BraidError('BRAID_INTERNAL', `consume: maxBatch must be an integer >= 1, got ${String(options.maxBatch)}`)
      }
      for (const s of this.#subscriptions) {
        const overlap = s.topics.filter(t => options.topics.includes(t))
        if (s.group === options.group && overlap.length > 0) {
          // The embedded log does not split partitions between the members of a group.
          throw new BraidError('BRAID_INTERNAL', `consume: group ${options.group} already consumes ${overlap.join(', ')} in this process`)
        }
      }
      const subscription: EmbeddedSubscription = new EmbeddedSubscription(this, options, handler, () => this.#subscriptions.delete(subscription))
      this.#subscriptions.add(subscription)
      return subscription
    })
  }

  async prune (now: number = Date.now()): Promise<number> {
    if (this.#pruning !== undefined) return await this.#pruning
    this.#pruning = this.#prune(now).finally(() => {
      this.#pruning = undefined
    })
    return await this.#pruning
  }

  /** Deletes, per partition, the prefix of records beyond the retention limits, in small transactions. */
  async #prune (now: number): Promise<number> {
    const retention = this.#options.retention
    if (retention === undefined) return 0
    const chunk = embeddedEventLogDefaults.pruneChunk
    let removed = 0
    const topics = this.#run('prune', () => this.#stmt.topicNames.all() as Array<{ name: string, partitions: number }>)
    for (const { name, partitions } of topics) {
      for (let p = 0; p < partitions; p++) {
        if (this.#closing !== undefined) return removed
        const { start, end } = this.#run('prune', () => ({ start: this.startOffset(name, p), end: this.endOffset(name, p) }))
        let cutoff = start
        if (retention.maxRecordsPerPartition !== undefined) cutoff = Math.max(cutoff, end - retention.maxRecordsPerPartition)
        if (retention.maxAgeMs !== undefined) cutoff = Math.max(cutoff, this.#firstYoung(name, p, cutoff, end, now - retention.maxAgeMs))
        for (let from = start; from < cutoff; from += chunk) {
          if (this.#closing !== undefined) return removed
          removed += this.#run('prune', () => this.#stmt.deleteRange.run(name, p, from, Math.min(from + chunk, cutoff)).changes)
          await new Promise(resolve => setImmediate(resolve))
        }
      }
    }
    return removed
  }

  /** First offset (from `from`) whose timestamp is at or after `oldestKept`; records stay a contiguous suffix. */
  #firstYoung (topic: string, partition: number, from: number, end: number, oldestKept: number): number {
    let offset = from
    for (;;) {
      const rows = this.#run('prune', () => this.#stmt.oldest.all(topic, partition, offset, 1_000) as Array<[number, number]>)
      for (const [off, timestamp] of rows) {
        if (timestamp >= oldestKept) return off
      }
      if (rows.length < 1_000) return end
      offset = (rows[rows.length - 1] as [number, number])[0] + 1
    }
  }

  async close (): Promise<void> {
    this.#closing ??= this.#close()
    await this.#closing
  }

  async #close (): Promise<void> {
    clearInterval(this.#retentionTimer)
    await Promise.all([...this.#subscriptions].map(async s => await s.stop()))
    await this.#pruning?.catch(() => 0)
    this.#closed = true
    await this.#checkpointer?.stop()
    try {
      this.#db.close()
    } catch (err) {
      throw logError(err, 'close')
    } finally {
      if (!this.#db.open) this.#file?.release()
    }
  }
}

function isEmpty (o: Record<string, string>): boolean {
  for (const _ in o) return false
  return true
}

/** SQLite result codes that describe a passing condition (lock, I/O, full disk): worth retrying. */
const transientCodes = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL', 'SQLITE_NOMEM']

function logError (err: unknown, action: string): BraidError {
  if (err instanceof BraidError) return err
  const sqliteCode = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined
  const text = err instanceof Error ? err.message : String(err)
  return new BraidError('BRAID_LOG_UNAVAILABLE', `${action}: ${text}`, {
    retryable: sqliteCode !== undefined && transientCodes.some(c => sqliteCode.startsWith(c)),
    cause: err,
    details: sqliteCode === undefined ? {} : { sqliteCode }
  })
}
