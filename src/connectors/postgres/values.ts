/**
 * PostgreSQL values → the JSON Debezium writes for them, so that a projection's casts work the same
 * whether Debezium (JSON converter, `time.precision.mode=connect`, `decimal.handling.mode=string`,
 * `binary.handling.mode=base64`) or braid captured the row.
 *
 * Both paths braid reads rows by — pgoutput during streaming, and snapshot/polling queries — give the
 * text output of each column (the sessions run with `sessionOptions`, so dates and floats print the
 * same way everywhere), and this module converts by the column's type OID:
 *
 * | PostgreSQL | JSON |
 * |---|---|
 * | boolean | true / false |
 * | smallint, integer, oid | number |
 * | bigint | number (a decimal string beyond 2^53) |
 * | real, double precision | number (`"NaN"`, `"Infinity"`, `"-Infinity"` as strings) |
 * | numeric, money | string, exact (`"52.54"`) |
 * | date | days since 1970-01-01 |
 * | time | milliseconds since midnight |
 * | timestamp | epoch milliseconds (read as UTC) |
 * | timestamptz | ISO-8601 string in UTC, `2024-05-01T10:00:00.123456Z` |
 * | timetz | `10:00:00.5Z` |
 * | bytea | base64 string |
 * | json, jsonb | the JSON text, as a string (Debezium's `io.debezium.data.Json`) |
 * | arrays of the above | JSON arrays (nested for multi-dimensional ones) |
 * | text, varchar, uuid, enums, interval, inet, … | the text output |
 *
 * Infinite dates and timestamps (`infinity`) and BC dates stay strings.
 * @module
 */

/** Startup options of every braid session on a source: stable text output of dates, floats and bytea. */
export const sessionOptions = '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex'

type Convert = (text: string) => unknown

const msPerDay = 86_400_000

const toBool: Convert = t => t === 't' || t === 'true'
const toInt: Convert = t => Number(t)
const toBigInt: Convert = t => {
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : t
}
const toFloat: Convert = t => {
  const n = Number(t)
  return Number.isFinite(n) ? n : t
}
const toBase64: Convert = t => t.startsWith('\\x') ? Buffer.from(t.slice(2), 'hex').toString('base64') : t

const dateRe = /^(\d{4,})-(\d{2})-(\d{2})$/
const toDays: Convert = t => {
  const m = dateRe.exec(t)
  if (m === null) return t
  return Math.round(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / msPerDay)
}

const timeRe = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/
const toTimeMs: Convert = t => {
  const m = timeRe.exec(t)
  if (m === null) return t
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + fractionMs(m[4])
}

const timestampRe = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/
const toEpochMs: Convert = t => {
  const m = timestampRe.exec(t)
  if (m === null) return t
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) + fractionMs(m[7])
}

const timestamptzRe = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::?\d{2})?(?::?\d{2})?)$/
const toIsoUtc: Convert = t => {
  const m = timestamptzRe.exec(t)
  if (m === null) return t
  if (m[3] === '+00' || m[3] === '+00:00') return `${m[1] ?? ''}T${m[2] ?? ''}Z`
  const ms = Date.parse(`${m[1] ?? ''}T${m[2] ?? ''}${offsetOf(m[3] ?? '')}`)
  return Number.isFinite(ms) ? new Date(ms).toISOString() : t
}

const timetzRe = /^(\d{2}:\d{2}:\d{2}(?:\.\d+)?)\+00(?::00)?$/
const toTimeTz: Convert = t => {
  const m = timetzRe.exec(t)
  return m === null ? t : `${m[1] ?? ''}Z`
}

function fractionMs (fraction: string | undefined): number {
  if (fraction === undefined) return 0
  return Math.trunc(Number(`0.${fraction}`) * 1000)
}

/** `+05` → `+05:00`, `+0530` → `+05:30` (what Date.parse accepts). */
function offsetOf (offset: string): string {
  const digits = offset.slice(1).replace(/:/g, '')
  return `${offset[0] ?? '+'}${digits.slice(0, 2)}:${(digits.slice(2, 4) || '00')}`
}

/** Converters of scalar types by OID. */
const scalars = new Map<number, Convert>([
  [16, toBool],
  [17, toBase64],
  [20, toBigInt],
  [21, toInt],
  [23, toInt],
  [26, toInt],
  [700, toFloat],
  [701, toFloat],
  [1082, toDays],
  [1083, toTimeMs],
  [1114, toEpochMs],
  [1184, toIsoUtc],
  [1266, toTimeTz]
])

/** Array type OID → element type OID (the common built-in types; others stay text). */
const arrays = new Map<number, number>([
  [1000, 16], [1001, 17], [1016, 20], [1005, 21], [1007, 23], [1028, 26], [1009, 25], [1015, 1043], [1014, 1042],
  [1021, 700], [1022, 701], [1231, 1700], [2951, 2950], [199, 114], [3807, 3802], [1182, 1082], [1183, 1083],
  [1115, 1114], [1185, 1184], [1270, 1266], [1187, 1186], [791, 790], [1041, 869], [651, 650]
])

/** Converts the text output of a value of type `typeOid` (null stays null). */
export function convertValue (typeOid: number, text: string | null): unknown {
  if (text === null) return null
  const scalar = scalars.get(typeOid)
  if (scalar !== undefined) return scalar(text)
  const element = arrays.get(typeOid)
  if (element !== undefined) return parseArray(text, element)
  return text
}

/**
 * Parses an array literal (`{1,2,NULL}`, `{{"a b","c"},{d,e}}`, `[0:1]={…}`), converting each element
 * with its type. Returns the text unchanged when it is not a well-formed literal.
 */
export function parseArray (text: string, elementOid: number): unknown {
  let i = 0
  const src = text.startsWith('[') ? text.slice(text.indexOf('=') + 1) : text
  const fail = Symbol('fail')
  const parse = (): unknown[] | typeof fail => {
    if (src[i] !== '{') return fail
    i++
    const out: unknown[] = []
    if (src[i] === '}') {
      i++
      return out
    }
    for (;;) {
      if (src[i] === '{') {
        const nested = parse()
        if (nested === fail) return fail
        out.push(nested)
      } else if (src[i] === '"') {
        i++
        let value = ''
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '\\') i++
          value += src[i] ?? ''
          i++
        }
        if (src[i] !== '"') return fail
        i++
        out.push(convertValue(elementOid, value))
      } else {
        let value = ''
        while (i < src.length && src[i] !== ',' && src[i] !== '}') value += src[i++] ?? ''
        out.push(value === 'NULL' ? null : convertValue(elementOid, value.trim()))
      }
      if (src[i] === ',') {
        i++
        continue
      }
      if (src[i] === '}') {
        i++
        return out
      }
      return fail
    }
  }
  const result = parse()
  return result === fail || i !== src.length ? text : result
}
