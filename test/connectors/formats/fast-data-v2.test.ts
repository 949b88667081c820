import { describe, expect, it } from 'vitest'
import { FastDataV2Format } from '../../../src/connectors/formats/fast-data-v2.ts'
import { caught, message } from './helpers.ts'

const key = { _id: '60e1a1b2c3d4e5f601234567' }
const before = { _id: '60e1a1b2c3d4e5f601234567', price: 1200 }
const after = { _id: '60e1a1b2c3d4e5f601234567', price: 1150 }
const source = { db: 'inventory_db', collection: 'products', ts_ms: 1678886404000 }

describe('fast-data-v2 format', () => {
  const format = new FastDataV2Format()

  it('fast-data-v2 should decode an update with source.ts_ms as source time', () => {
    const value = { op: 'u', before, after, source, ts_ms: 1678886405000, updateDescription: null }
    expect(format.decode(message(key, value))).toEqual([{ op: 'update', key, before, after, sourceTime: 1678886404000 }])
  })

  it('fast-data-v2 should decode reads and creates as inserts', () => {
    expect(format.decode(message(key, { op: 'r', before: null, after, source }))[0]?.op).toBe('insert')
    expect(format.decode(message(key, { op: 'c', before: null, after, ts_ms: 9 }))).toEqual([{ op: 'insert', key, before: null, after, sourceTime: 9 }])
  })

  it('fast-data-v2 should decode a delete', () => {
    expect(format.decode(message(key, { op: 'd', before, after: null, source }))).toEqual([{ op: 'delete', key, before, after: null, sourceTime: 1678886404000 }])
    expect(format.decode(message(key, { op: 'd', before: null, after: null }))).toEqual([{ op: 'delete', key, before: null, after: null }])
  })

  it('fast-data-v2 should ignore tombstones', () => {
    expect(format.decode(message(key, null))).toEqual([])
    expect(format.decode(message(key, ''))).toEqual([])
  })

  it('fast-data-v2 should reject an unknown op', () => {
    const err = caught(() => format.decode(message(key, { op: 't', after })))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toBe('fast-data-v2: value.op is "t"; expected one of r, c, u, d')
  })

  it('fast-data-v2 should reject an update without the whole after record', () => {
    const err = caught(() => format.decode(message(key, { op: 'u', before, after: null, updateDescription: { updatedFields: { price: 1 } } })))
    expect(err.message).toMatch(/^fast-data-v2: value\.after is null; expected the whole record for op "u"/)
  })

  it('fast-data-v2 should reject a delete with neither key nor before', () => {
    expect(caught(() => format.decode(message(null, { op: 'd', before: null, after: null }))).code).toBe('BRAID_DECODE_FAILED')
  })

  it('fast-data-v2 should reject invalid JSON and non-object keys and values', () => {
    expect(caught(() => format.decode(message(key, '{'))).message).toMatch(/^fast-data-v2: message value is not valid JSON/)
    expect(caught(() => format.decode(message(key, 'true'))).message).toMatch(/^fast-data-v2: message value is a boolean/)
    expect(caught(() => format.decode(message('"abc"', { op: 'c', after }))).message).toMatch(/^fast-data-v2: message key is a string/)
    expect(caught(() => format.decode(message('abc', { op: 'c', after }))).details).toMatchObject({ format: 'fast-data-v2', path: 'key' })
  })
})
