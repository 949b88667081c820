/**
 * The polling source, for databases without CDC (anything speaking the PostgreSQL wire protocol):
 * the configured query is paged by `(incrementalColumn, key…)`
 *
 * ```sql
 * SELECT q.*, q.<inc>::text, q.<key>::text… FROM (<query>) AS q
 *  WHERE (q.<inc>, q.<key>…) > ($cursor…) ORDER BY q.<inc>, q.<key>… LIMIT <batchSize>
 * ```
 *
 * until a page comes back short, then it sleeps `intervalMs`. Rows become Debezium `r` events (the
 * current state of the row) whose message time is when the page was queried: without a source
 * position, the projections order a row's events by that time. The cursor (the last row's values, as
 * text) is persisted in the store's meta after the page is durably appended; a restart resumes after it.
 *
 * Deletes are invisible to a query; with `deleteScan`, every `everyMs` every key of the query is read
 * and the projections' records whose key is gone get a delete (reconcile.ts), timed at the scan.
 *
 * Limits (docs/connectors.md#polling): a transaction that commits after a poll with incremental values
 * below the cursor is missed until the row changes again (keep transactions short, or use CDC); rows
 * whose incremental column is NULL are never read.
 * @module
 */
import type pg from 'pg'
import { BraidError, toBraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import type { PollingSourceDefinition } from '../../model/source.ts'
import { ident } from './catalog.ts'
import { connect, describeSource, queryText, resolveUrl, sourceError } from './connection.ts'
import { changeRecord, type RecordOrigin } from './envelope.ts'
import { reconcileDeletes } from './reconcile.ts'
import { convertRow, keyOf } from './snapshot.ts'
import { Backoff, errorSummary, sleep, sourceStateKey } from './support.ts'
import type { Source, SourceContext, SourceState, SourceStatus } from './types.ts'

/** What `braid.source.<name>` holds for a polling source. */
interface PollingProgress {
  kind: 'polling'
  /** The configuration the cursor belongs to: a changed query or incremental column starts afresh. */
  query: string
  incrementalColumn: string
  /** Text of the incremental column and the key columns of the last row appended. */
  cursor: string[] | null
  lastEventAt: string | null
  lastPollAt: string | null
  lastDeleteScanAt: string | null
}

const cursorColumn = '__braid_cursor'
const keyColumn = (i: number): string => `__braid_key_${i}`

export class PollingSource implements Source {
  readonly name: string
  readonly kind = 'polling'
  readonly #def: PollingSourceDefinition
  readonly #ctx: SourceContext
  readonly #abort = new AbortController()
  #loop: Promise<void> | null = null
  #client: pg.Client | null = null
  #url = ''
  #database = ''
  #state: SourceState = 'stopped'
  #lastError: SourceStatus['lastError'] = null
  #progress: PollingProgress
  #events = 0
  #lastPollDone: number | null = null

  constructor (def: PollingSourceDefinition, ctx: SourceContext) {
    this.name = def.name
    this.#def = def
    this.#ctx = ctx
    this.#progress = this.#empty()
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
    await this.#loop
    this.#state = 'stopped'
  }

  status (): SourceStatus {
    const p = this.#progress
    return {
      kind: 'polling',
      state: this.#state,
      connection: describeSource(this.#def.connection, this.#url),
      position: null,
      lagBytes: null,
      lagSeconds: this.#lastPollDone === null ? null : Math.max(0, (Date.now() - this.#lastPollDone) / 1000),
      lastEventAt: p.lastEventAt,
      events: this.#events,
      lastError: this.#lastError,
      warnings: this.#def.deleteScan === undefined ? ['no deleteScan: rows deleted at the source stay in the projections'] : [],
      tables: { [this.#def.topic]: { topic: this.#def.topic, events: this.#events } }
    }
  }

  async #run (first: { resolve: () => void, reject: (err: unknown) => void }): Promise<void> {
    const signal = this.#abort.signal
    const backoff = new Backoff()
    let settled = false
    while (!signal.aborted) {
      try {
        if (this.#client === null) {
          await this.#open()
          if (!settled) first.resolve()
          settled = true
        }
        await this.#poll()
        if (this.#deleteScanDue()) await this.#deleteScan()
        this.#state = 'polling'
        this.#lastError = null
        backoff.reset()
        await sleep(this.#def.intervalMs, signal)
      } catch (err) {
        if (signal.aborted) break
        const error = toBraidError(err, 'BRAID_SOURCE_UNAVAILABLE')
        this.#state = 'error'
        this.#lastError = errorSummary(error)
        await this.#client?.end().catch(() => {})
        this.#client = null
        if (!settled) {
          settled = true
          if (!error.retryable) {
            first.reject(error)
            break
          }
          first.resolve()
        }
        const wait = backoff.next()
        this.#ctx.logger.error({ err: error, source: this.name, retryInMs: wait }, 'polling failed; retrying')
        await sleep(wait, signal)
      }
    }
    if (!settled) first.resolve()
    await this.#client?.end().catch(() => {})
    this.#client = null
    if (this.#state !== 'error' || signal.aborted) this.#state = 'stopped'
  }

  /** Connects, checks that the query runs and has the incremental and key columns, loads the cursor. */
  async #open (): Promise<void> {
    const def = this.#def
    this.#url = resolveUrl(def.name, def.connection)
    const client = await connect(def.name, this.#url)
    this.#client = client
    let columns: string[]
    try {
      const probe = await client.query(`SELECT * FROM (${this.#query()}) AS q LIMIT 0`)
      columns = probe.fields.map(f => f.name)
      this.#database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? ''
    } catch (err) {
      const e = sourceError(def.name, this.#url, err, 'running the polling query')
      if (e.code !== 'BRAID_SOURCE_UNAVAILABLE' || !isQueryError(err)) throw e
      throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": the polling query does not run: ${(err as Error).message}; fix sources.${def.name}.query`, { details: { source: def.name }, cause: err })
    }
    const missing = [def.incrementalColumn, ...def.key].filter(c => !columns.includes(c))
    if (missing.length > 0) {
      throw new BraidError('BRAID_SOURCE_INVALID', `source "${def.name}": the polling query has no column ${missing.map(c => `"${c}"`).join(', ')} (its columns: ${columns.join(', ')}); select the incremental column and every key column`, {
        details: { source: def.name, missing }
      })
    }
    await this.#ctx.log.ensureTopics([{ name: def.topic }])
    const stored = await this.#ctx.store.getMeta(sourceStateKey(def.name)) as PollingProgress | undefined
    this.#progress = stored?.kind === 'polling' && stored.query === def.query && stored.incrementalColumn === def.incrementalColumn ? stored : this.#empty()
  }

  /** Pages through every row after the cursor. */
  async #poll (): Promise<void> {
    const def = this.#def
    const client = this.#client as pg.Client
    const order = [def.incrementalColumn, ...def.key].map(c => `q.${ident(c)}`)
    const select = `SELECT q.*, ${order.map((c, i) => `(${c})::text AS ${ident(i === 0 ? cursorColumn : keyColumn(i - 1))}`).join(', ')} FROM (${this.#query()}) AS q`
    const origin: RecordOrigin = { source: def.name, connector: 'braid-polling', database: this.#database, schema: '', table: def.topic }
    for (;;) {
      if (this.#abort.signal.aborted) return
      const cursor = this.#progress.cursor
      const where = cursor === null ? '' : ` WHERE (${order.join(', ')}) > (${order.map((_, i) => `$${i + 1}`).join(', ')})`
      const polledAt = Date.now()
      let result: pg.QueryResult<Record<string, string | null>>
      try {
        result = await queryText(client, `${select}${where} ORDER BY ${order.join(', ')} LIMIT ${def.batchSize}`, cursor ?? [])
      } catch (err) {
        throw sourceError(def.name, this.#url, err, 'polling')
      }
      const fields = result.fields.filter(f => f.name !== cursorColumn && !f.name.startsWith('__braid_key_'))
      if (result.rows.length > 0) {
        const at = { sourceTime: polledAt, snapshot: false, timestamp: polledAt }
        const records = result.rows.map(r => {
          const row = convertRow(fields, r)
          return changeRecord(origin, 'r', keyOf(row, def.key.map(name => ({ name }))), null, row, at)
        })
        await this.#ctx.log.append(def.topic, records)
        this.#events += records.length
        const last = result.rows[result.rows.length - 1] as Record<string, string | null>
        this.#progress.cursor = [last[cursorColumn] ?? '', ...def.key.map((_, i) => last[keyColumn(i)] ?? '')]
        this.#progress.lastEventAt = new Date(polledAt).toISOString()
      }
      if (result.rows.length < def.batchSize) {
        this.#progress.lastPollAt = new Date(polledAt).toISOString()
        this.#lastPollDone = Date.now()
        await this.#save()
        return
      }
      await this.#save()
    }
  }

  #deleteScanDue (): boolean {
    const scan = this.#def.deleteScan
    if (scan === undefined) return false
    const last = this.#progress.lastDeleteScanAt === null ? 0 : Date.parse(this.#progress.lastDeleteScanAt)
    return Date.now() - last >= scan.everyMs
  }

  /** Reads every key of the query and deletes the projections' records whose key is gone. */
  async #deleteScan (): Promise<void> {
    const def = this.#def
    const client = this.#client as pg.Client
    const scannedAt = Date.now()
    let result: pg.QueryResult<Record<string, string | null>>
    try {
      result = await queryText(client, `SELECT ${def.key.map(c => `q.${ident(c)}`).join(', ')} FROM (${this.#query()}) AS q`)
    } catch (err) {
      throw sourceError(def.name, this.#url, err, 'scanning the keys for deletes')
    }
    const keyColumns = def.key.map(name => ({ name }))
    const seen = new Set<string>()
    for (const r of result.rows) seen.add(JSON.stringify(keyOf(convertRow(result.fields, r), keyColumns)))
    const origin: RecordOrigin = { source: def.name, connector: 'braid-polling', database: this.#database, schema: '', table: def.topic }
    const deleted = await reconcileDeletes(this.#ctx, {
      source: def.name,
      topic: def.topic,
      keyColumns: def.key,
      seen,
      deleteRecord: (key: Doc) => changeRecord(origin, 'd', key, key, null, { sourceTime: scannedAt, snapshot: false, timestamp: scannedAt }),
      signal: this.#abort.signal
    })
    if (this.#abort.signal.aborted) return
    this.#events += deleted
    if (deleted > 0) this.#progress.lastEventAt = new Date(scannedAt).toISOString()
    this.#progress.lastDeleteScanAt = new Date(scannedAt).toISOString()
    await this.#save()
    this.#ctx.logger.info({ source: def.name, keys: seen.size, deleted }, 'delete scan done')
  }

  /** The configured query without a trailing semicolon (it is used as a subquery). */
  #query (): string {
    return this.#def.query.trim().replace(/;+\s*$/, '')
  }

  #empty (): PollingProgress {
    return { kind: 'polling', query: this.#def.query, incrementalColumn: this.#def.incrementalColumn, cursor: null, lastEventAt: null, lastPollAt: null, lastDeleteScanAt: null }
  }

  async #save (): Promise<void> {
    await this.#ctx.store.write({ meta: [{ key: sourceStateKey(this.name), value: structuredClone(this.#progress) }] })
  }
}

/** A PostgreSQL error about the query itself (syntax, unknown table or column…), not the connection or server state. */
function isQueryError (err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('severity' in err)) return false
  const state = String((err as { code?: unknown }).code ?? '')
  return !['08', '53', '57', '58'].includes(state.slice(0, 2))
}
