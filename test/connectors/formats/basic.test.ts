import { describe, expect, it } from 'vitest'
import { BasicFormat } from '../../../src/connectors/formats/basic.ts'
import type { Format } from '../../../src/connectors/formats/format.ts'
import { caught, message } from './helpers.ts'

const pk = ['USER_ID', 'TAX_CODE']

describe('basic format', () => {
  const format = new BasicFormat()

  it('basic should decode a record with its key as an upsert', () => {
    const key = { USER_ID: 123, TAX_CODE: 'ABCDEF12B02M100O' }
    const value = { USER_ID: 123, TAX_CODE: 'ABCDEF12B02M100O', NAME: 456 }
    expect(format.decode(message(key, value))).toEqual([{ op: 'upsert', key, before: null, after: value }])
  })

  it('basic should accept an empty or null key when the value carries the primary keys', () => {
    const value = { USER_ID: 1, TAX_CODE: 'X' }
    expect(format.decode(message('', value))).toEqual([{ op: 'upsert', key: null, before: null, after: value }])
    expect(format.decode(message(null, value))).toEqual([{ op: 'upsert', key: null, before: null, after: value }])
    expect(format.decode(message('null', value))).toEqual([{ op: 'upsert', key: null, before: null, after: value }])
  })

  it('basic should decode a null value as a delete of the key', () => {
    const key = { USER_ID: 123, TAX_CODE: 'A' }
    expect(format.decode(message(key, null))).toEqual([{ op: 'delete', key, before: null, after: null }])
    expect(format.decode(message(key, ''))).toEqual([{ op: 'delete', key, before: null, after: null }])
    expect(format.decode(message(key, 'null'))).toEqual([{ op: 'delete', key, before: null, after: null }])
  })

  it('basic should reject a delete without a key', () => {
    const err = caught(() => format.decode(message(null, null)))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toMatch(/^basic: delete message \(value null\) has no key/)
    expect(caught(() => format.decode(message({}, null))).code).toBe('BRAID_DECODE_FAILED')
  })

  it('basic should reject a value that is not JSON without quoting it', () => {
    const err = caught(() => format.decode(message({ USER_ID: 1 }, '{"USER_ID": SECRET')))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toMatch(/^basic: message value is not valid JSON/)
    expect(err.message).not.toContain('SECRET')
    expect(err.details).toMatchObject({ format: 'basic', path: 'value' })
  })

  it('basic should reject a value that is not an object', () => {
    expect(caught(() => format.decode(message(null, [1, 2]))).message).toBe('basic: message value is an array; expected a JSON object with the whole record, or null for a delete')
    expect(caught(() => format.decode(message(null, '42'))).code).toBe('BRAID_DECODE_FAILED')
  })

  it('basic should reject a key that is not a JSON object', () => {
    expect(caught(() => format.decode(message('pk1_pk2', { USER_ID: 1 }))).message).toMatch(/^basic: message key is not valid JSON/)
    expect(caught(() => format.decode(message('123', { USER_ID: 1 }))).message).toMatch(/^basic: message key is a number; expected a JSON object/)
  })

  it('db2 should be the same format under its own name', () => {
    const db2 = new BasicFormat('db2')
    expect(db2.type).toBe('db2')
    expect(db2.decode(message({ ID: 1 }, { ID: 1, A: 2 }))).toEqual([{ op: 'upsert', key: { ID: 1 }, before: null, after: { ID: 1, A: 2 } }])
    expect(caught(() => db2.decode(message(null, null))).message).toMatch(/^db2: /)
  })

  it('basic should ignore the primary-key list (the mapper checks the keys)', () => {
    const asFormat: Format = format
    expect(asFormat.decode(message(null, { OTHER: 1 }), pk)).toHaveLength(1)
  })
})
