import { describe, expect, it } from 'vitest'
import { GoldenGateFormat, parseOpTs } from '../../../src/connectors/formats/golden-gate.ts'
import { caught, message } from './helpers.ts'

const after = { USER_ID: 123, TAX_CODE: 'the-fiscal-code-123', COINS: 300000000 }

describe('golden-gate format', () => {
  const format = new GoldenGateFormat()

  it('golden-gate should decode an insert with pos as a string position and op_ts as source time', () => {
    const value = { table: 'SCHEMA.USERS', op_type: 'I', op_ts: '2021-02-19 16:03:27.000000', current_ts: '2021-02-19T16:03:30.123000', pos: '00000000650028162190', before: null, after }
    expect(format.decode(message('123', value))).toEqual([{
      op: 'insert', key: null, before: null, after, position: '00000000650028162190', sourceTime: Date.UTC(2021, 1, 19, 16, 3, 27)
    }])
  })

  it('golden-gate should decode an update with before and after', () => {
    const before = { ...after, COINS: 1 }
    const [event] = format.decode(message('123', { op_type: 'U', pos: '00000000000000000002', before, after }))
    expect(event).toEqual({ op: 'update', key: null, before, after, position: '00000000000000000002' })
  })

  it('golden-gate should decode a delete from before', () => {
    const [event] = format.decode(message('123', { op_type: 'D', pos: 7, before: after, after: null }))
    expect(event).toEqual({ op: 'delete', key: null, before: after, after: null, position: 7 })
  })

  it('golden-gate should use a key that is a JSON object as the event key', () => {
    const [event] = format.decode(message({ USER_ID: 123 }, { op_type: 'D', pos: '1', before: null }))
    expect(event).toMatchObject({ op: 'delete', key: { USER_ID: 123 }, before: null })
  })

  it('golden-gate should not require pos when usePosAsCounter is false', () => {
    const noPos = new GoldenGateFormat({ usePosAsCounter: false })
    const [event] = noPos.decode(message('1', { op_type: 'I', pos: 'garbage', after }))
    expect(event).toEqual({ op: 'insert', key: null, before: null, after })
  })

  it('golden-gate should skip a tombstone', () => {
    expect(format.decode(message('1', null))).toEqual([])
  })

  it('golden-gate should reject an unknown op_type naming the expected ones', () => {
    const err = caught(() => format.decode(message('1', { op_type: 'X', pos: '1', after })))
    expect(err.code).toBe('BRAID_DECODE_FAILED')
    expect(err.message).toBe('golden-gate: value.op_type is "X"; expected one of I, U, D')
    expect(caught(() => format.decode(message('1', { pos: '1', after }))).message).toBe('golden-gate: value.op_type is missing; expected one of I, U, D')
  })

  it('golden-gate should reject a missing or invalid pos', () => {
    expect(caught(() => format.decode(message('1', { op_type: 'I', after }))).message).toMatch(/^golden-gate: value\.pos is missing/)
    expect(caught(() => format.decode(message('1', { op_type: 'I', pos: '12a', after }))).details).toMatchObject({ path: 'value.pos' })
    expect(caught(() => format.decode(message('1', { op_type: 'I', pos: -1, after }))).code).toBe('BRAID_DECODE_FAILED')
  })

  it('golden-gate should reject an insert without after and a delete without before or key', () => {
    expect(caught(() => format.decode(message('1', { op_type: 'I', pos: '1', after: null }))).message).toMatch(/^golden-gate: value\.after is null; expected the whole record for op_type I/)
    expect(caught(() => format.decode(message('1', { op_type: 'U', pos: '1', after: 'x' }))).message).toMatch(/^golden-gate: value\.after is a string/)
    expect(caught(() => format.decode(message('1', { op_type: 'D', pos: '1', before: null }))).message).toMatch(/^golden-gate: value\.before is missing for op_type D/)
    expect(caught(() => format.decode(message('1', { op_type: 'U', pos: '1', before: 3, after }))).message).toBe('golden-gate: value.before is a number; expected an object or null')
  })

  it('golden-gate should reject a value that is not JSON or not an object', () => {
    expect(caught(() => format.decode(message('1', '{op_type'))).message).toMatch(/^golden-gate: message value is not valid JSON/)
    expect(caught(() => format.decode(message('1', '"text"'))).message).toMatch(/^golden-gate: message value is a string/)
  })

  it('parseOpTs should read GoldenGate timestamps as UTC and honour explicit zones', () => {
    expect(parseOpTs('2021-02-19 16:03:27.000000')).toBe(Date.UTC(2021, 1, 19, 16, 3, 27))
    expect(parseOpTs('2021-02-19 16:03:27.123456')).toBe(Date.UTC(2021, 1, 19, 16, 3, 27, 123))
    expect(parseOpTs('2021-02-19T16:03:27')).toBe(Date.UTC(2021, 1, 19, 16, 3, 27))
    expect(parseOpTs('2021-02-19T18:03:27.5+02:00')).toBe(Date.UTC(2021, 1, 19, 16, 3, 27, 500))
    expect(parseOpTs('yesterday')).toBeUndefined()
    expect(parseOpTs(1234)).toBeUndefined()
  })

  it('golden-gate should ignore an unreadable op_ts', () => {
    const [event] = format.decode(message('1', { op_type: 'I', pos: '1', op_ts: 'soon', after }))
    expect(event?.sourceTime).toBeUndefined()
  })
})
