import { describe, expect, it } from 'vitest'
import { changeRecord, truncateRecord, type RecordOrigin } from '../../../src/connectors/postgres/envelope.ts'
import { DebeziumFormat } from '../../../src/connectors/formats/debezium.ts'
import type { AppendRecord } from '../../../src/model/log-record.ts'

const origin: RecordOrigin = { source: 'shop', connector: 'postgresql', database: 'shop', schema: 'public', table: 'orders' }

function decode (record: AppendRecord): ReturnType<DebeziumFormat['decode']> {
  return new DebeziumFormat().decode({ key: record.key, value: record.value, timestamp: 1, offset: 0, partition: 0, topic: 't', headers: record.headers ?? {} })
}

describe('postgres envelope', () => {
  it('changeRecord should write a Debezium event the debezium format decodes, ordered by the commit LSN', () => {
    const record = changeRecord(origin, 'u', { id: 1 }, null, { id: 1, total: '5.00' }, { lsn: 1000n, changeLsn: 990n, sourceTime: 1_700_000_000_000, txId: 7, snapshot: false })
    expect(record.key).toBe('{"id":1}')
    const value = JSON.parse(record.value ?? '') as Record<string, unknown>
    expect(value).toMatchObject({ op: 'u', before: null, after: { id: 1, total: '5.00' }, source: { connector: 'postgresql', name: 'shop', db: 'shop', schema: 'public', table: 'orders', lsn: 1000, txId: 7, snapshot: 'false', ts_ms: 1_700_000_000_000, sequence: '["1000","990"]' } })
    expect(decode(record)).toEqual([{ op: 'update', key: { id: 1 }, before: null, after: { id: 1, total: '5.00' }, position: 1000, sourceTime: 1_700_000_000_000 }])
  })

  it('snapshot reads should decode as inserts at the snapshot LSN, deletes and truncates as such', () => {
    const read = changeRecord(origin, 'r', { id: 2 }, null, { id: 2 }, { lsn: 500n, sourceTime: 1, snapshot: true })
    expect(decode(read)[0]).toMatchObject({ op: 'insert', position: 500 })
    const del = changeRecord(origin, 'd', { id: 2 }, { id: 2 }, null, { lsn: 501n, sourceTime: 1, snapshot: false })
    expect(decode(del)[0]).toMatchObject({ op: 'delete', key: { id: 2 }, before: { id: 2 }, after: null, position: 501 })
    const truncate = truncateRecord(origin, { lsn: 502n, sourceTime: 1, snapshot: false })
    expect(truncate.key).toBeNull()
    expect(decode(truncate)[0]).toMatchObject({ op: 'truncate', position: 502 })
  })

  it('polling records should carry no LSN and the poll time as message time', () => {
    const record = changeRecord({ ...origin, connector: 'braid-polling' }, 'r', { id: 3 }, null, { id: 3 }, { sourceTime: 42, snapshot: false, timestamp: 42 })
    expect(record.timestamp).toBe(42)
    const [event] = decode(record)
    expect(event?.position).toBeUndefined()
    expect(event?.sourceTime).toBe(42)
  })
})
