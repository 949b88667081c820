/**
 * Debezium change events as braid's sources write them: the message key is the JSON of the primary-key
 * columns (`{"id":1}`), the value `{ before, after, source, op, ts_ms, transaction }` — what Debezium's
 * PostgreSQL connector writes with the JSON converter and `schemas.enable=false`, so the projections'
 * `format: debezium` decodes both alike.
 *
 * Ordering: `source.lsn` is the LSN of the transaction's COMMIT record (Debezium puts the change's own
 * LSN there; braid keeps that one in `source.sequence`). Transactions are streamed in commit order, so
 * commit LSNs order every change of a row, even when a transaction that began before another commits
 * after it; and a snapshot read carries the LSN of its exported snapshot, which sorts after every
 * transaction the snapshot saw and before every one it did not. Changes of one transaction share the
 * commit LSN; their log offsets order them.
 * @module
 */
import type { Doc } from '../../model/document.ts'
import type { AppendRecord } from '../../model/log-record.ts'
import { version } from '../../version.ts'
import { lsnPosition } from './lsn.ts'

export type DebeziumOp = 'r' | 'c' | 'u' | 'd' | 't'

/** The table (or polled query) a record comes from. */
export interface RecordOrigin {
  /** Source name (`source.name`). */
  source: string
  /** `postgresql` for CDC, `braid-polling` for polling. */
  connector: string
  database: string
  schema: string
  table: string
}

export interface RecordPosition {
  /** Ordering LSN (commit LSN, or the snapshot's); absent for polling (ordered by the message time). */
  lsn?: bigint
  /** The change's own LSN (streaming only). */
  changeLsn?: bigint
  /** When the change happened at the source (commit time, or the time of the read), epoch ms. */
  sourceTime: number
  txId?: number
  /** `true` for snapshot reads. */
  snapshot: boolean
  /** Message timestamp (polling orders by it). */
  timestamp?: number
}

/** One Debezium change event. `key` holds the key columns (source names). */
export function changeRecord (origin: RecordOrigin, op: Exclude<DebeziumOp, 't'>, key: Doc, before: Doc | null, after: Doc | null, at: RecordPosition, headers?: Record<string, string>): AppendRecord {
  const record: AppendRecord = {
    key: JSON.stringify(key),
    value: JSON.stringify({ before, after, source: sourceBlock(origin, at), op, ts_ms: Date.now(), transaction: null })
  }
  if (at.timestamp !== undefined) record.timestamp = at.timestamp
  if (headers !== undefined) record.headers = headers
  return record
}

/** A Debezium truncate event (`op: t`, no key). */
export function truncateRecord (origin: RecordOrigin, at: RecordPosition): AppendRecord {
  const record: AppendRecord = {
    key: null,
    value: JSON.stringify({ before: null, after: null, source: sourceBlock(origin, at), op: 't', ts_ms: Date.now(), transaction: null })
  }
  if (at.timestamp !== undefined) record.timestamp = at.timestamp
  return record
}

function sourceBlock (origin: RecordOrigin, at: RecordPosition): Doc {
  const source: Doc = {
    version: `braid-${version}`,
    connector: origin.connector,
    name: origin.source,
    ts_ms: at.sourceTime,
    snapshot: at.snapshot ? 'true' : 'false',
    db: origin.database,
    schema: origin.schema,
    table: origin.table
  }
  if (at.lsn !== undefined) {
    source['lsn'] = lsnPosition(at.lsn)
    source['sequence'] = JSON.stringify([at.lsn.toString(), (at.changeLsn ?? at.lsn).toString()])
  }
  if (at.txId !== undefined) source['txId'] = at.txId
  return source
}
