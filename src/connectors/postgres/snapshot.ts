/**
 * Consistent snapshots for the hand-over to streaming.
 *
 * `CREATE_REPLICATION_SLOT … LOGICAL pgoutput EXPORT_SNAPSHOT` returns the slot's consistent point C
 * and the name of a snapshot that sees exactly the transactions committed before C; the slot streams
 * exactly those committing after. A reader imports it (`SET TRANSACTION SNAPSHOT` in a REPEATABLE READ
 * transaction) and reads the tables in primary-key order, chunk by chunk (`WHERE (pk) > (last)
 * ORDER BY pk LIMIT n`), while the slot keeps the WAL from C on. Every row read is stamped with C, so
 * the ordering guard sorts each read against the streamed changes of the same row by position.
 *
 * The same works with a TEMPORARY slot at any later time: it gives a fresh snapshot with its own
 * consistent point S, whose reads sort after every change committed before S and before every change
 * after. That serves both a re-snapshot while the stream runs and the resumption of a snapshot cut by a
 * restart (the remaining chunks are read at S; the changes between C and S are streamed and sort
 * against them by position).
 * @module
 */
import type pg from 'pg'
import { ident, qualified, type TableInfo } from './catalog.ts'
import { connect, queryText, sourceError } from './connection.ts'
import { parseLsn } from './lsn.ts'
import { convertValue } from './values.ts'
import type { Doc } from '../../model/document.ts'

export interface CreatedSlot {
  /** The slot's consistent point. */
  lsn: bigint
  /** The exported snapshot, when asked for; valid while `connection` stays open and idle. */
  snapshot: string | null
  /** The replication connection that created the slot (a temporary slot lives as long as it). */
  connection: pg.Client
}

/** Creates a logical pgoutput slot (temporary or not), exporting its snapshot when `exportSnapshot`. */
export async function createSlot (source: string, url: string, slot: string, options: { temporary: boolean, exportSnapshot: boolean }): Promise<CreatedSlot> {
  const connection = await connect(source, url, { replication: true, applicationName: `braid:${source}:snapshot` })
  try {
    const sql = `CREATE_REPLICATION_SLOT ${ident(slot)}${options.temporary ? ' TEMPORARY' : ''} LOGICAL pgoutput ${options.exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`
    const result = await connection.query<{ consistent_point: string, snapshot_name: string | null }>(sql)
    const row = result.rows[0]
    if (row === undefined) throw new Error('CREATE_REPLICATION_SLOT returned no row')
    return { lsn: parseLsn(row.consistent_point), snapshot: row.snapshot_name ?? null, connection }
  } catch (err) {
    await connection.end().catch(() => {})
    throw sourceError(source, url, err, `creating replication slot "${slot}"`)
  }
}

export interface Chunk {
  /** Rows as Debezium `after` records (converted values). */
  rows: Doc[]
  /** The key of each row (converted values, key-column order). */
  keys: Doc[]
  /** Text of the last row's key columns: where the next chunk (or a resumed snapshot) starts after. */
  lastKey: string[]
}

/** A REPEATABLE READ transaction on an exported snapshot, reading tables in key-ordered chunks. */
export class SnapshotReader {
  readonly #client: pg.Client
  readonly #source: string
  readonly #url: string

  private constructor (client: pg.Client, source: string, url: string) {
    this.#client = client
    this.#source = source
    this.#url = url
  }

  /** Opens a reader on the exported snapshot `snapshot`. */
  static async open (source: string, url: string, snapshot: string): Promise<SnapshotReader> {
    const client = await connect(source, url, { applicationName: `braid:${source}:snapshot` })
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`)
    } catch (err) {
      await client.end().catch(() => {})
      throw sourceError(source, url, err, 'importing the exported snapshot')
    }
    return new SnapshotReader(client, source, url)
  }

  /** Rows expected in a table: exact below a million (by the estimate), else the planner's estimate. */
  async total (table: TableInfo): Promise<number> {
    if (table.estimatedRows >= 0 && table.estimatedRows >= 1_000_000) return Math.round(table.estimatedRows)
    try {
      const result = await this.#client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified(table.def)}`)
      return Number(result.rows[0]?.n ?? 0)
    } catch (err) {
      throw sourceError(this.#source, this.#url, err, `counting the rows of ${table.def.name}`)
    }
  }

  /** The table's rows after `after` (key texts; null: from the start), `chunkSize` at a time. */
  async * chunks (table: TableInfo, after: string[] | null, chunkSize: number): AsyncGenerator<Chunk> {
    const key = table.key
    const order = key.map(c => ident(c.name)).join(', ')
    let last = after
    for (;;) {
      const where = last === null ? '' : ` WHERE (${order}) > (${key.map((c, i) => `$${i + 1}::${c.type}`).join(', ')})`
      const sql = `SELECT * FROM ${qualified(table.def)}${where} ORDER BY ${order} LIMIT ${chunkSize}`
      let result: pg.QueryResult<Record<string, string | null>>
      try {
        result = await queryText(this.#client, sql, last ?? [])
      } catch (err) {
        throw sourceError(this.#source, this.#url, err, `reading ${table.def.name}`)
      }
      if (result.rows.length === 0) return
      const rows = result.rows.map(r => convertRow(result.fields, r))
      const lastRow = result.rows[result.rows.length - 1] as Record<string, string | null>
      last = key.map(c => lastRow[c.name] ?? '')
      yield { rows, keys: rows.map(r => keyOf(r, key)), lastKey: last }
      if (result.rows.length < chunkSize) return
    }
  }

  async close (): Promise<void> {
    await this.#client.query('COMMIT').catch(() => {})
    await this.#client.end().catch(() => {})
  }
}

/** A text-mode result row converted by each column's type. */
export function convertRow (fields: ReadonlyArray<{ name: string, dataTypeID: number }>, row: Record<string, string | null>): Doc {
  const out: Doc = {}
  for (const f of fields) out[f.name] = convertValue(f.dataTypeID, row[f.name] ?? null)
  return out
}

/** The key columns of a converted row, in key order. */
export function keyOf (row: Doc, key: ReadonlyArray<{ name: string }>): Doc {
  const out: Doc = {}
  for (const c of key) out[c.name] = row[c.name] ?? null
  return out
}
