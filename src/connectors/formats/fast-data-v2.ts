/**
 * The Fast Data v2 message format (Mia Fast Data Engine 2.0: Mongezium, Stream Processor, Farm Data).
 *
 * - key: the record identifier as a JSON object.
 * - value: `{ op: 'r'|'c'|'u'|'d', before, after, source, ts_ms, updateDescription? }`.
 *   `r` (snapshot read) and `c` are inserts, `u` updates (whole `after` required), `d` deletes.
 *   An empty value (tombstone) is skipped.
 *
 * The source time is `source.ts_ms`, else `ts_ms`; ordering uses the log timestamp.
 * @module
 */
import type { ChangeEvent, ChangeOp } from '../../model/change-event.ts'
import type { Doc } from '../../model/document.ts'
import type { RawMessage } from '../../model/projection.ts'
import { decodeFailed, describeType, isObject, optionalRecord, parseJson, requiredRecord, textOf, toEpochMs } from './format.ts'
import type { Format } from './format.ts'

const name = 'fast-data-v2'

const operations: Record<string, ChangeOp> = { r: 'insert', c: 'insert', u: 'update', d: 'delete' }

export class FastDataV2Format implements Format {
  readonly type = 'fast-data-v2'

  decode (message: RawMessage): ChangeEvent[] {
    const valueText = textOf(message.value)
    if (valueText === null) return []
    const value = parseJson(name, 'value', valueText, 'a JSON object { op, before, after, source, ts_ms }')
    if (value === null) return []
    if (!isObject(value)) {
      throw decodeFailed(name, 'value', `message value is ${describeType(value)}; expected a JSON object { op, before, after, source, ts_ms }`)
    }
    const rawOp = value['op']
    const op = typeof rawOp === 'string' ? operations[rawOp] : undefined
    if (op === undefined) {
      const got = typeof rawOp === 'string' ? `"${rawOp}"` : describeType(rawOp)
      throw decodeFailed(name, 'value.op', `value.op is ${got}; expected one of r, c, u, d`)
    }
    const key = decodeKey(message.key)
    const before = optionalRecord(name, value, 'before', 'value.')
    let after: Doc | null = null
    if (op === 'delete') {
      if (before === null && key === null) {
        throw decodeFailed(name, 'value.before', 'value.before is missing for op "d" and the message has no key; a delete needs the record identifier in the key or the deleted record in before')
      }
    } else {
      after = requiredRecord(name, value, 'after', 'value.', `expected the whole record for op "${String(rawOp)}" — braid does not apply updateDescription deltas; make the producer send full documents`)
    }
    const event: ChangeEvent = { op, key, before, after }
    const source = value['source']
    const sourceTime = (isObject(source) ? toEpochMs(source['ts_ms']) : undefined) ?? toEpochMs(value['ts_ms'])
    if (sourceTime !== undefined) event.sourceTime = sourceTime
    return [event]
  }
}

function decodeKey (text: string | null): Doc | null {
  const keyText = textOf(text)
  if (keyText === null) return null
  const key = parseJson(name, 'key', keyText, 'the record identifier as a JSON object')
  if (key === null) return null
  if (!isObject(key)) {
    throw decodeFailed(name, 'key', `message key is ${describeType(key)}; expected the record identifier as a JSON object, e.g. {"_id":…}`)
  }
  return key
}
