/**
 * The Debezium format (JSON converter), with or without the schema envelope.
 *
 * - key: the primary-key object (`{"USER_ID":123}`), or `{ schema, payload }` with the object in payload.
 * - value: `{ op, before, after, source, ts_ms }`, or `{ schema, payload }` around it.
 *   `c` and `r` (snapshot read) are inserts, `u` updates, `d` deletes, `t` truncates the table.
 *   A null or empty value (the tombstone Debezium writes after a delete) is skipped.
 *
 * The ordering position is `source.lsn` when it is an integer (PostgreSQL); other connectors have no
 * global position and order by the log timestamp. The source time is `source.ts_ms`, else `ts_ms`.
 *
 * Envelope detection: an object whose only fields are `schema` and `payload` is an envelope
 * (a key of a table whose only columns are named so would be misread; Debezium never emits that shape
 * for values, which always carry `op`).
 * @module
 */
import type { ChangeEvent, ChangeOp } from '../../model/change-event.ts'
import type { Doc } from '../../model/document.ts'
import type { RawMessage } from '../../model/projection.ts'
import { decodeFailed, describeType, isObject, optionalRecord, parseJson, requiredRecord, textOf, toEpochMs, toPosition } from './format.ts'
import type { Format } from './format.ts'

const name = 'debezium'

const operations: Record<string, ChangeOp> = { c: 'insert', r: 'insert', u: 'update', d: 'delete', t: 'truncate' }

export class DebeziumFormat implements Format {
  readonly type = 'debezium'

  decode (message: RawMessage): ChangeEvent[] {
    const valueText = textOf(message.value)
    if (valueText === null) return []
    const parsed = parseJson(name, 'value', valueText, 'a Debezium change event { op, before, after, source }')
    const enveloped = isEnvelope(parsed)
    const value = enveloped ? parsed.payload : parsed
    if (value === null) return []
    if (!isObject(value)) {
      throw decodeFailed(name, enveloped ? 'value.payload' : 'value', `${enveloped ? 'value.payload' : 'message value'} is ${describeType(value)}; expected a Debezium change event { op, before, after, source }`)
    }
    const prefix = enveloped ? 'value.payload.' : 'value.'
    const rawOp = value['op']
    const op = typeof rawOp === 'string' ? operations[rawOp] : undefined
    if (op === undefined) {
      const got = typeof rawOp === 'string' ? `"${rawOp}"` : describeType(rawOp)
      throw decodeFailed(name, `${prefix}op`, `${prefix}op is ${got}; expected one of c, r, u, d, t`)
    }
    const source = value['source']
    const event = decodeChange(op, value, decodeKey(message.key), prefix, rawOp as string)
    if (isObject(source)) {
      const position = toPosition(source['lsn'])
      if (position !== undefined) event.position = position
    }
    const sourceTime = (isObject(source) ? toEpochMs(source['ts_ms']) : undefined) ?? toEpochMs(value['ts_ms'])
    if (sourceTime !== undefined) event.sourceTime = sourceTime
    return [event]
  }
}

function decodeChange (op: ChangeOp, value: Doc, key: Doc | null, prefix: string, rawOp: string): ChangeEvent {
  switch (op) {
    case 'truncate':
      return { op, key: null, before: null, after: null }
    case 'delete': {
      const before = optionalRecord(name, value, 'before', prefix)
      if (before === null && key === null) {
        throw decodeFailed(name, `${prefix}before`, `${prefix}before is missing for op "d" and the message has no key; a delete needs the primary key — keep the Debezium message key, or set REPLICA IDENTITY / supplemental logging so before is filled`)
      }
      return { op, key, before, after: null }
    }
    default:
      return {
        op,
        key,
        before: optionalRecord(name, value, 'before', prefix),
        after: requiredRecord(name, value, 'after', prefix, `expected the whole record for op "${rawOp}"`)
      }
  }
}

function decodeKey (text: string | null): Doc | null {
  const keyText = textOf(text)
  if (keyText === null) return null
  const parsed = parseJson(name, 'key', keyText, 'the primary-key object (or { schema, payload } around it)')
  const enveloped = isEnvelope(parsed)
  const key = enveloped ? parsed.payload : parsed
  if (key === null) return null
  if (!isObject(key)) {
    throw decodeFailed(name, enveloped ? 'key.payload' : 'key', `${enveloped ? 'key.payload' : 'message key'} is ${describeType(key)}; expected the primary-key object, e.g. {"ID":…}`)
  }
  return key
}

function isEnvelope (value: unknown): value is { schema: unknown, payload: unknown } {
  if (!isObject(value) || !('payload' in value) || !('schema' in value)) return false
  return Object.keys(value).length === 2
}
