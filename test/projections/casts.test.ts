import { describe, expect, it } from 'vitest'
import {
  builtinCasts,
  castStringToBoolean,
  castToArrayOfObject,
  castToDate,
  castToFloat,
  castToInteger,
  castToObject,
  castToString,
  castUnixTimestampToISOString,
  identity,
  resolveCast
} from '../../src/projections/casts.ts'
import type { CastFunction } from '../../src/model/projection.ts'

const f = 'FIELD'

describe('casts', () => {
  it('identity should return the value unchanged', () => {
    const obj = { a: 1 }
    expect(identity(obj, f)).toBe(obj)
    expect(identity(undefined, f)).toBeUndefined()
    expect(identity(null, f)).toBeNull()
  })

  it('castToString should stringify primitives, JSON-encode objects and keep null and undefined', () => {
    expect(castToString(12, f)).toBe('12')
    expect(castToString(true, f)).toBe('true')
    expect(castToString('x', f)).toBe('x')
    expect(castToString({ a: 1 }, f)).toBe('{"a":1}')
    expect(castToString([1, 'b'], f)).toBe('[1,"b"]')
    expect(castToString(new Date('2020-01-02T03:04:05.000Z'), f)).toBe('"2020-01-02T03:04:05.000Z"')
    expect(castToString(null, f)).toBeNull()
    expect(castToString(undefined, f)).toBeUndefined()
  })

  it('castToInteger should truncate numbers and numeric strings', () => {
    expect(castToInteger('42', f)).toBe(42)
    expect(castToInteger(3.9, f)).toBe(3)
    expect(castToInteger('-3.9', f)).toBe(-3)
    expect(castToInteger(-0.5, f)).toBe(0)
    expect(Object.is(castToInteger(-0.5, f), -0)).toBe(false)
    expect(castToInteger('1e3', f)).toBe(1000)
    expect(castToInteger(1e-7, f)).toBe(0)
    expect(castToInteger(1e21, f)).toBe(1e21)
  })

  it('castToInteger should follow Number() for empty strings and booleans and keep null and undefined', () => {
    expect(castToInteger('', f)).toBe(0)
    expect(castToInteger(true, f)).toBe(1)
    expect(castToInteger(null, f)).toBeNull()
    expect(castToInteger(undefined, f)).toBeUndefined()
  })

  it('castToInteger should not cast NaN or infinite values', () => {
    expect(castToInteger('abc', f)).toBeUndefined()
    expect(castToInteger({}, f)).toBeUndefined()
    expect(castToInteger('Infinity', f)).toBeUndefined()
  })

  it('castToFloat should convert numeric values and not cast the others', () => {
    expect(castToFloat('3.25', f)).toBe(3.25)
    expect(castToFloat(7, f)).toBe(7)
    expect(castToFloat(' 8 ', f)).toBe(8)
    expect(castToFloat(null, f)).toBeNull()
    expect(castToFloat(undefined, f)).toBeUndefined()
    expect(castToFloat('3,25', f)).toBeUndefined()
    expect(castToFloat('-Infinity', f)).toBeUndefined()
  })

  it('castUnixTimestampToISOString should convert epoch milliseconds to an ISO string', () => {
    expect(castUnixTimestampToISOString(1695141357284, f)).toBe('2023-09-19T16:35:57.284Z')
    expect(castUnixTimestampToISOString(0, f)).toBe('1970-01-01T00:00:00.000Z')
    expect(castUnixTimestampToISOString('2023-09-19T16:35:57.284Z', f)).toBe('2023-09-19T16:35:57.284Z')
    expect(castUnixTimestampToISOString(null, f)).toBeNull()
    expect(castUnixTimestampToISOString(undefined, f)).toBeUndefined()
  })

  it('castUnixTimestampToISOString should not cast invalid dates, including digit strings as Mia does', () => {
    expect(castUnixTimestampToISOString('not a date', f)).toBeUndefined()
    expect(castUnixTimestampToISOString(8.64e15 + 1, f)).toBeUndefined()
    expect(castUnixTimestampToISOString('1695141357284', f)).toBeUndefined()
    expect(castUnixTimestampToISOString({}, f)).toBeUndefined()
  })

  it('castStringToBoolean should accept only the strings true and false', () => {
    expect(castStringToBoolean('true', f)).toBe(true)
    expect(castStringToBoolean('false', f)).toBe(false)
    expect(castStringToBoolean(null, f)).toBeNull()
    expect(castStringToBoolean(undefined, f)).toBeUndefined()
    expect(castStringToBoolean('TRUE', f)).toBeUndefined()
    expect(castStringToBoolean(true, f)).toBeUndefined()
    expect(castStringToBoolean('1', f)).toBeUndefined()
  })

  it('castToDate should return a Date for valid inputs and null for null', () => {
    const d = castToDate('2021-02-19T16:03:27.000Z', f)
    expect(d).toBeInstanceOf(Date)
    expect((d as Date).toISOString()).toBe('2021-02-19T16:03:27.000Z')
    expect((castToDate(1695141357284, f) as Date).toISOString()).toBe('2023-09-19T16:35:57.284Z')
    expect(castToDate(null, f)).toBeNull()
  })

  it('castToDate should not cast invalid dates or undefined', () => {
    expect(castToDate('tomorrow-ish', f)).toBeUndefined()
    expect(castToDate(undefined, f)).toBeUndefined()
    expect(castToDate({}, f)).toBeUndefined()
  })

  it('castToObject should accept plain objects and JSON text of one', () => {
    const obj = { a: 1 }
    expect(castToObject(obj, f)).toBe(obj)
    expect(castToObject('{"a":{"b":2}}', f)).toEqual({ a: { b: 2 } })
    expect(castToObject(null, f)).toBeNull()
  })

  it('castToObject should not cast arrays, primitives, invalid JSON or class instances', () => {
    expect(castToObject([1], f)).toBeUndefined()
    expect(castToObject('[1]', f)).toBeUndefined()
    expect(castToObject('{bad', f)).toBeUndefined()
    expect(castToObject('"text"', f)).toBeUndefined()
    expect(castToObject('null', f)).toBeUndefined()
    expect(castToObject(5, f)).toBeUndefined()
    expect(castToObject(undefined, f)).toBeUndefined()
    expect(castToObject(new Date(), f)).toBeUndefined()
  })

  it('castToArrayOfObject should accept arrays of plain objects and JSON text of one', () => {
    expect(castToArrayOfObject([{ a: 1 }, { b: 2 }], f)).toEqual([{ a: 1 }, { b: 2 }])
    expect(castToArrayOfObject('[{"a":1}]', f)).toEqual([{ a: 1 }])
    expect(castToArrayOfObject([], f)).toEqual([])
    expect(castToArrayOfObject(null, f)).toBeNull()
  })

  it('castToArrayOfObject should not cast arrays with other elements, objects or invalid JSON', () => {
    expect(castToArrayOfObject([{ a: 1 }, 2], f)).toBeUndefined()
    expect(castToArrayOfObject([{ a: 1 }, null], f)).toBeUndefined()
    expect(castToArrayOfObject([[{ a: 1 }]], f)).toBeUndefined()
    expect(castToArrayOfObject({ a: 1 }, f)).toBeUndefined()
    expect(castToArrayOfObject('[{', f)).toBeUndefined()
    expect(castToArrayOfObject(undefined, f)).toBeUndefined()
  })

  it('builtinCasts should hold the Projection Storer names and the Console default aliases', () => {
    const names = ['identity', 'castToString', 'castToInteger', 'castToFloat', 'castUnixTimestampToISOString', 'castStringToBoolean', 'castToDate', 'castToObject', 'castToArrayOfObject']
    for (const name of names) expect(builtinCasts.has(name)).toBe(true)
    expect(builtinCasts.get('defaultIdentity')).toBe(identity)
    expect(builtinCasts.get('defaultCastToString')).toBe(castToString)
    expect(builtinCasts.get('defaultCastToInteger')).toBe(castToInteger)
    expect(builtinCasts.get('defaultCastToFloat')).toBe(castToFloat)
    expect(builtinCasts.get('defaultCastUnitTimestampToISOString')).toBe(castUnixTimestampToISOString)
    expect(builtinCasts.get('defaultCastUnixTimestampToISOString')).toBe(castUnixTimestampToISOString)
    expect(builtinCasts.get('defaultCastStringToBoolean')).toBe(castStringToBoolean)
    expect(builtinCasts.get('defaultCastToDate')).toBe(castToDate)
    expect(builtinCasts.get('defaultCastToObject')).toBe(castToObject)
    expect(builtinCasts.get('defaultCastToArrayOfObject')).toBe(castToArrayOfObject)
  })

  it('resolveCast should find built-ins, __fromFile__ names and custom casts, custom first', () => {
    const titleCase: CastFunction = v => typeof v === 'string' ? v.toUpperCase() : undefined
    const ownDefault: CastFunction = v => `own:${String(v)}`
    const custom = new Map<string, CastFunction>([['castToTitleCase', titleCase], ['defaultCastToString', ownDefault]])
    expect(resolveCast('castToInteger', custom)).toBe(castToInteger)
    expect(resolveCast('__fromFile__[defaultCastToFloat]', custom)).toBe(castToFloat)
    expect(resolveCast('__fromFile__[castToTitleCase]', custom)).toBe(titleCase)
    expect(resolveCast('castToTitleCase', custom)).toBe(titleCase)
    expect(resolveCast('__fromFile__[defaultCastToString]', custom)).toBe(ownDefault)
  })

  it('resolveCast should return undefined for unknown names', () => {
    expect(resolveCast('castToNothing', new Map())).toBeUndefined()
    expect(resolveCast('__fromFile__[]', new Map())).toBeUndefined()
  })
})
