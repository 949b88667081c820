import { describe, expect, it } from 'vitest'
import { DebeziumFormat } from '../../../src/connectors/formats/debezium.ts'
import { caught, message } from './helpers.ts'

const key = { USER_ID: 123, TAX_CODE: 'ABCDEF12B02M100O' }
const before = { USER_ID: 123, TAX_CODE: 'ABCDEF12B02M100O', COINS: 1 }
const after = { USER_ID: 123, TAX_CODE: 'ABCDEF12B02M100O', COINS: 300000000 }
const pgSource = { version: '2.5.0.Final', connector: 'postgresql', name: 'pg', ts_ms: 1_700_000_000_100, db: 'app', schema: 'public', table: 'users', txId: 771, lsn: 24023128, xmin: null }
const mysqlSource = { version: '2.5.0.Final', connector: 'mysql', name: 'my', ts_ms: 1_700_000_000_200, db: 'app', table: 'users', server_id: 1, file: 'mysql-bin.000003', pos: 154, row: 0 }

/** Wraps a payload in the JsonConverter schema envelope. */
function envelope (payload: unknown): { schema: unknown, payload: unknown } {
  return { schema: { type: 'struct', optional: false, name: 'envelope' }, payload }
}

describe('debezium format', () => {
  const format = new DebeziumFormat()

  it('debezium should decode a create as an insert with the lsn as position and source.ts_ms as source time', () => {
    const value = { op: 'c', before: null, after, source: pgSource, ts_ms: 1_700_000_000_999 }
    expect(format.decode(message(key, value))).toEqual([{ op: 'insert', key, before: null, after, position: 24023128, sourceTime: 1_700_000_000_100 }])
  })

  it('debezium should decode a snapshot read as an insert', () => {
    const [event] = format.decode(message(key, { op: 'r', before: null, after, source: mysqlSource }))
    expect(event).toEqual({ op: 'insert', key, before: null, after, sourceTime: 1_700_000_000_200 })
  })

  it('debezium should decode an update with before and after', () => {
    const [event] = format.decode(message(key, { op: 'u', before, after, source: pgSource }))
    expect(event).toMatchObject({ op: 'update', key, before, after })
  })

  it('debezium should decode a delete with before', () => {
    const [event] = format.decode(message(key, { op: 'd', before, after: null, source: pgSource }))
    expect(event).toMatchObject({ op: 'delete', key, before, after: null })
  })

  it('debezium should decode a delete with only the key (before not captured)', () => {
    const [event] = format.decode(message(key, { op: 'd', before: null, after: null, source: mysqlSource }))
    expect(event).toMatchObject({ op: 'delete', key, before: null, after: null })
  })

  it('debezium should decode a truncate', () => {
    const [event] = format.decode(message(null, { op: 't', before: null, after: null, source: pgSource }))
    expect(event).toEqual({ op: 'truncate', key: null, before: null, after: null, position: 24023128, sourceTime: 1_700_000_000_100 })
  })

  it('debezium should have no position without an integer lsn and fall back to ts_ms for the source time', () => {
    const [event] = format.decode(message(key, { op: 'c', after, source: { connector: 'sqlserver', change_lsn: '00000027:00000758:0005' }, ts_ms: 5 }))
    expect(event).toEqual({ op: 'insert', key, before: null, after, sourceTime: 5 })
    const [big] = format.decode(message(key, { op: 'c', after, source: { lsn: '18446744073709551615' } }))
    expect(big?.position).toBe('18446744073709551615')
  })

  it('debezium should decode key and value wrapped in the schema envelope', () => {
    const value = envelope({ op: 'u', before, after, source: pgSource, ts_ms: 1 })
    expect(format.decode(message(envelope(key), value))).toEqual([{ op: 'update', key, before, after, position: 24023128, sourceTime: 1_700_000_000_100 }])
    const [deleted] = format.decode(message(envelope(key), envelope({ op: 'd', before, after: null, source: pgSource })))
    expect(deleted).toMatchObject({ op: 'delete', key, before })
  })

  it('debezium should skip tombstones with and without the envelope', () => {
    expect(format.decode(message(key, null))).toEqual([])
    expect(format.decode(message(key, ''))).toEqual([])
    expect(format.decode(message(envelope(key), envelope(null)))).toEqual([])
  })

  it('debezium should reject an unknown op with the expected ones', () => {
    const err = caught(() => format.decode(message(key, { op: 'x', after })))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toBe('debezium: value.op is "x"; expected one of c, r, u, d, t')
    expect(caught(() => format.decode(message(key, envelope({ op: 'm' })))).message).toBe('debezium: value.payload.op is "m"; expected one of c, r, u, d, t')
    expect(caught(() => format.decode(message(key, { before, after }))).message).toBe('debezium: value.op is missing; expected one of c, r, u, d, t')
  })

  it('debezium should reject values that are not JSON objects', () => {
    expect(caught(() => format.decode(message(key, '{"op": "c", '))).message).toMatch(/^debezium: message value is not valid JSON/)
    expect(caught(() => format.decode(message(key, '[1]'))).message).toMatch(/^debezium: message value is an array/)
    expect(caught(() => format.decode(message(key, envelope('text')))).message).toMatch(/^debezium: value\.payload is a string/)
  })

  it('debezium should reject a create or update without after', () => {
    expect(caught(() => format.decode(message(key, { op: 'c', after: null }))).message).toBe('debezium: value.after is null; expected the whole record for op "c"')
    expect(caught(() => format.decode(message(key, envelope({ op: 'u', before })))).details).toMatchObject({ path: 'value.payload.after' })
  })

  it('debezium should reject a delete with neither before nor key', () => {
    const err = caught(() => format.decode(message(null, { op: 'd', before: null, after: null })))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toMatch(/^debezium: value\.before is missing for op "d" and the message has no key/)
  })

  it('debezium should reject a key that is not an object', () => {
    expect(caught(() => format.decode(message('123', { op: 'c', after }))).message).toMatch(/^debezium: message key is a number/)
    expect(caught(() => format.decode(message('pk_1', { op: 'c', after }))).message).toMatch(/^debezium: message key is not valid JSON/)
    expect(caught(() => format.decode(message(envelope([1]), { op: 'c', after }))).details).toMatchObject({ path: 'key.payload' })
  })

  it('debezium should not quote record values in errors', () => {
    const err = caught(() => format.decode(message(key, '{"after": {"TAX_CODE": "SECRET-VALUE"}, op')))
    expect(err.message).not.toContain('SECRET')
  })
})
