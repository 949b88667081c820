import { describe, expect, it } from 'vitest'
import { convertValue, parseArray } from '../../../src/connectors/postgres/values.ts'

describe('postgres values', () => {
  it('convertValue should give Debezium\'s JSON for scalar types', () => {
    expect(convertValue(16, 't')).toBe(true)
    expect(convertValue(16, 'f')).toBe(false)
    expect(convertValue(23, '-42')).toBe(-42)
    expect(convertValue(20, '9007199254740991')).toBe(9007199254740991)
    expect(convertValue(20, '9007199254740993')).toBe('9007199254740993')
    expect(convertValue(701, '1.5')).toBe(1.5)
    expect(convertValue(701, 'NaN')).toBe('NaN')
    expect(convertValue(1700, '52.540')).toBe('52.540')
    expect(convertValue(25, 'hello')).toBe('hello')
    expect(convertValue(3802, '{"a": 1}')).toBe('{"a": 1}')
    expect(convertValue(2950, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
    expect(convertValue(17, '\\x0001ff')).toBe(Buffer.from([0, 1, 255]).toString('base64'))
    expect(convertValue(23, null)).toBeNull()
  })

  it('convertValue should give dates as days, times as ms since midnight, timestamps as epoch ms and timestamptz as UTC ISO', () => {
    expect(convertValue(1082, '1970-01-02')).toBe(1)
    expect(convertValue(1082, '2024-02-29')).toBe(Date.UTC(2024, 1, 29) / 86_400_000)
    expect(convertValue(1082, 'infinity')).toBe('infinity')
    expect(convertValue(1083, '01:02:03.4567')).toBe(3_723_456)
    expect(convertValue(1114, '2024-05-01 10:00:00.123456')).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 123))
    expect(convertValue(1114, '2024-05-01 10:00:00')).toBe(Date.UTC(2024, 4, 1, 10))
    expect(convertValue(1184, '2024-05-01 10:00:00.123456+00')).toBe('2024-05-01T10:00:00.123456Z')
    expect(convertValue(1184, '2024-05-01 12:30:00+02:30')).toBe('2024-05-01T10:00:00.000Z')
    expect(convertValue(1266, '10:00:00.5+00')).toBe('10:00:00.5Z')
  })

  it('parseArray should read array literals with quotes, NULLs and nesting, converting elements', () => {
    expect(convertValue(1007, '{1,2,NULL}')).toEqual([1, 2, null])
    expect(convertValue(1009, '{"a b","c\\"d",e}')).toEqual(['a b', 'c"d', 'e'])
    expect(convertValue(1007, '{{1,2},{3,4}}')).toEqual([[1, 2], [3, 4]])
    expect(convertValue(1007, '{}')).toEqual([])
    expect(convertValue(1007, '[0:1]={5,6}')).toEqual([5, 6])
    expect(convertValue(1000, '{t,f}')).toEqual([true, false])
    expect(parseArray('{1,2', 23)).toBe('{1,2')
  })
})
