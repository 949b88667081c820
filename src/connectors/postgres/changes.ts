/**
 * pgoutput messages → Debezium change events, one transaction at a time.
 *
 * - INSERT → `c`; UPDATE → `u` (`before` is the old row under REPLICA IDENTITY FULL, else null);
 *   DELETE → `d` (`before` is the old row under FULL, else the key columns); TRUNCATE → `t` per table.
 * - A primary-key change (an UPDATE whose old key differs from the new one) becomes, as Debezium
 *   emits it, a `d` of the old key and a `c` of the new key, each keyed by its own key so that each
 *   lands in its key's partition; the headers `__debezium.newkey` / `__debezium.oldkey` link them.
 * - An unchanged TOASTed value (an UPDATE that did not touch a large out-of-line value) is not in the
 *   message. Under REPLICA IDENTITY FULL the old row has it; otherwise it is read back from the table by
 *   key (`fetch`), which can return a newer value than this change had — the change that made it newer
 *   follows in the stream and carries it. When the row is gone meanwhile (a delete follows) the column
 *   is left out.
 * - Every event of a transaction carries the transaction's commit LSN as `source.lsn` (envelope.ts).
 * @module
 */
import type { Pgoutput } from 'pg-logical-replication'
import { BraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import type { AppendRecord } from '../../model/log-record.ts'
import type { ColumnInfo, TableInfo } from './catalog.ts'
import { changeRecord, truncateRecord, type RecordOrigin, type RecordPosition } from './envelope.ts'
import { parseLsn } from './lsn.ts'
import { keyOf } from './snapshot.ts'
import { convertValue } from './values.ts'

/** A change event on its way to the log. */
export interface PendingRecord {
  topic: string
  /** `schema.table`, for the per-table counters. */
  table: string
  record: AppendRecord
}

export interface Transaction {
  commitLsn: bigint
  /** Commit time, epoch ms. */
  commitTime: number
  xid: number
}

export interface ChangeSink {
  /** Tables by `schema.table`. */
  tables: ReadonlyMap<string, TableInfo>
  source: string
  database: string
  /** Reads the current values of `columns` of the row whose key columns have the texts `key`, or null when it is gone. */
  fetch (table: TableInfo, key: Record<string, string | null>, columns: string[]): Promise<Record<string, string | null> | null>
  /** Re-reads a table's primary key after a Relation message changed its columns. */
  refreshKey (table: TableInfo): Promise<ColumnInfo[]>
  /** Receives the records of a change (in order). */
  emit (records: PendingRecord[], txn: Transaction): void
  /** The transaction ended at `endLsn` (the end of its commit record). */
  commit (endLsn: bigint, txn: Transaction): void
}

export class ChangeDecoder {
  readonly #sink: ChangeSink
  #txn: Transaction | null = null

  constructor (sink: ChangeSink) {
    this.#sink = sink
  }

  /** True between a BEGIN and its COMMIT. */
  get inTransaction (): boolean {
    return this.#txn !== null
  }

  async handle (msg: Pgoutput.Message, lsn: bigint): Promise<void> {
    switch (msg.tag) {
      case 'begin':
        this.#txn = { commitLsn: msg.commitLsn === null ? lsn : parseLsn(msg.commitLsn), commitTime: Number(BigInt(msg.commitTime as unknown as bigint) / 1000n), xid: msg.xid }
        return
      case 'commit': {
        const txn = this.#transaction()
        this.#txn = null
        this.#sink.commit(msg.commitEndLsn === null ? lsn : parseLsn(msg.commitEndLsn), txn)
        return
      }
      case 'relation':
        await this.#relation(msg)
        return
      case 'insert': {
        const table = this.#table(msg.relation)
        if (table === null) return
        const after = convertTuple(msg.relation, msg.new)
        this.#emit([this.#record(table, 'c', keyOf(after, table.key), null, after, lsn)])
        return
      }
      case 'update':
        await this.#update(msg, lsn)
        return
      case 'delete': {
        const table = this.#table(msg.relation)
        if (table === null) return
        const before = msg.old !== null ? convertTuple(msg.relation, msg.old) : convertTuple(msg.relation, msg.key ?? {})
        this.#emit([this.#record(table, 'd', keyOf(before, table.key), before, null, lsn)])
        return
      }
      case 'truncate': {
        const txn = this.#transaction()
        for (const relation of msg.relations) {
          const table = this.#table(relation)
          if (table === null) continue
          this.#sink.emit([{ topic: table.def.topic, table: table.def.name, record: truncateRecord(this.#origin(table), this.#position(lsn)) }], txn)
        }
        return
      }
      default:
        // origin, type and logical messages carry nothing braid uses
    }
  }

  async #update (msg: Pgoutput.MessageUpdate, lsn: bigint): Promise<void> {
    const table = this.#table(msg.relation)
    if (table === null) return
    const after = convertTuple(msg.relation, msg.new)
    const untouched = msg.relation.columns.filter(c => msg.new[c.name] === undefined).map(c => c.name)
    const newKey = keyOf(after, table.key)
    if (untouched.length > 0) {
      const keyTexts: Record<string, string | null> = {}
      for (const c of table.key) keyTexts[c.name] = (msg.new[c.name] ?? null) as string | null
      const current = await this.#sink.fetch(table, keyTexts, untouched)
      if (current !== null) {
        for (const column of msg.relation.columns) {
          if (untouched.includes(column.name)) after[column.name] = convertValue(column.typeOid, current[column.name] ?? null)
        }
      }
    }
    const before = msg.old !== null ? convertTuple(msg.relation, msg.old) : null
    const oldKeySource = before ?? (msg.key !== null ? convertTuple(msg.relation, msg.key) : null)
    const oldKey = oldKeySource === null ? null : keyOf(oldKeySource, table.key)
    if (oldKey !== null && JSON.stringify(oldKey) !== JSON.stringify(newKey)) {
      const oldText = JSON.stringify(oldKey)
      const newText = JSON.stringify(newKey)
      this.#emit([
        this.#record(table, 'd', oldKey, before ?? oldKeySource, null, lsn, { '__debezium.newkey': newText }),
        this.#record(table, 'c', newKey, null, after, lsn, { '__debezium.oldkey': oldText })
      ])
      return
    }
    this.#emit([this.#record(table, 'u', newKey, before, after, lsn)])
  }

  async #relation (msg: Pgoutput.MessageRelation): Promise<void> {
    const table = this.#sink.tables.get(`${msg.schema}.${msg.name}`)
    if (table === undefined) return
    if (table.key.every(k => msg.columns.some(c => c.name === k.name))) return
    const key = await this.#sink.refreshKey(table)
    if (key.length === 0) {
      throw new BraidError('BRAID_SOURCE_NO_PRIMARY_KEY', `source "${this.#sink.source}": table ${table.def.name} lost its primary key while streaming; add one back (ALTER TABLE … ADD PRIMARY KEY (…))`, {
        details: { source: this.#sink.source, table: table.def.name }
      })
    }
    table.key = key
  }

  #table (relation: Pgoutput.MessageRelation): TableInfo | null {
    return this.#sink.tables.get(`${relation.schema}.${relation.name}`) ?? null
  }

  #transaction (): Transaction {
    if (this.#txn === null) throw new BraidError('BRAID_SOURCE_UNAVAILABLE', `source "${this.#sink.source}": a change arrived outside a transaction (BEGIN missing); the stream is restarted`)
    return this.#txn
  }

  #origin (table: TableInfo): RecordOrigin {
    return { source: this.#sink.source, connector: 'postgresql', database: this.#sink.database, schema: table.def.schema, table: table.def.table }
  }

  #position (lsn: bigint): RecordPosition {
    const txn = this.#transaction()
    return { lsn: txn.commitLsn, changeLsn: lsn, sourceTime: txn.commitTime, txId: txn.xid, snapshot: false }
  }

  #record (table: TableInfo, op: 'c' | 'u' | 'd', key: Doc, before: Doc | null, after: Doc | null, lsn: bigint, headers?: Record<string, string>): PendingRecord {
    return { topic: table.def.topic, table: table.def.name, record: changeRecord(this.#origin(table), op, key, before, after, this.#position(lsn), headers) }
  }

  #emit (records: PendingRecord[]): void {
    this.#sink.emit(records, this.#transaction())
  }
}

/**
 * The columns of a tuple, converted by type. Columns absent from the tuple (an unchanged TOASTed
 * value, or a non-key column of a key-only tuple) are left out.
 */
export function convertTuple (relation: Pgoutput.MessageRelation, tuple: Record<string, unknown>): Doc {
  const out: Doc = {}
  for (const column of relation.columns) {
    const value = tuple[column.name]
    if (value === undefined) continue
    out[column.name] = convertValue(column.typeOid, value as string | null)
  }
  return out
}
