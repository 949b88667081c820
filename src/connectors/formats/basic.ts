/**
 * The basic format (Mia `basic`, also called `db2`: IBM InfoSphere Data Replication).
 *
 * - key: a JSON object with the primary-key fields (`{"USER_ID":123}`); may be null or empty when
 *   the value carries the keys.
 * - value: the whole record, or null/empty for a delete (the key is then required).
 *
 * Every non-delete is an upsert (the format cannot tell inserts from updates); `before` is always
 * null, so primary-key changes cannot be detected with this format. Ordering uses the log timestamp.
 * @module
 */
import type { ChangeEvent } from '../../model/change-event.ts'
import type { Doc } from '../../model/document.ts'
import type { FormatType, RawMessage } from '../../model/projection.ts'
import { decodeFailed, describeType, isObject, parseJson, textOf } from './format.ts'
import type { Format } from './format.ts'

export class BasicFormat implements Format {
  readonly type: FormatType

  constructor (type: 'basic' | 'db2' = 'basic') {
    this.type = type
  }

  decode (message: RawMessage): ChangeEvent[] {
    const name = this.type
    const key = decodeKey(name, message.key)
    const valueText = textOf(message.value)
    const value = valueText === null ? null : parseJson(name, 'value', valueText, 'a JSON object with the whole record, or null for a delete')
    if (value === null) {
      if (key === null || Object.keys(key).length === 0) {
        throw decodeFailed(name, 'key', 'delete message (value null) has no key; a delete needs the primary-key fields in the key as a JSON object, e.g. {"ID":…}')
      }
      return [{ op: 'delete', key, before: null, after: null }]
    }
    if (!isObject(value)) {
      throw decodeFailed(name, 'value', `message value is ${describeType(value)}; expected a JSON object with the whole record, or null for a delete`)
    }
    return [{ op: 'upsert', key, before: null, after: value }]
  }
}

function decodeKey (name: string, text: string | null): Doc | null {
  const keyText = textOf(text)
  if (keyText === null) return null
  const key = parseJson(name, 'key', keyText, 'a JSON object with the primary-key fields')
  if (key === null) return null
  if (!isObject(key)) {
    throw decodeFailed(name, 'key', `message key is ${describeType(key)}; expected a JSON object with the primary-key fields (or an empty key when the value carries them)`)
  }
  return key
}
