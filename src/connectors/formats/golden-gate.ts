/**
 * The Oracle GoldenGate format (GoldenGate for Big Data, JSON formatter).
 *
 * - key: a string, usually the primary-key values joined by underscores (`pk1_pk2`). It is used as the
 *   event key only when it is a JSON object; otherwise the keys come from `before`/`after`.
 * - value: `{ op_type: 'I'|'U'|'D', before, after, pos, op_ts?, current_ts?, table? }`.
 *
 * `pos` (a decimal string, up to 20 digits) is the ordering position unless `usePosAsCounter` is
 * false (Mia `USE_POS_AS_COUNTER`); it stays a string so no precision is lost. `op_ts`
 * (`2021-02-19 16:03:27.000000`, UTC) becomes the event's source time.
 * @module
 */
import type { ChangeEvent, ChangeOp } from '../../model/change-event.ts'
import type { Doc } from '../../model/document.ts'
import type { RawMessage } from '../../model/projection.ts'
import { decodeFailed, describeType, isObject, optionalRecord, parseJson, requiredRecord, textOf, toPosition } from './format.ts'
import type { Format } from './format.ts'

const name = 'golden-gate'

const operations: Record<string, ChangeOp> = { I: 'insert', U: 'update', D: 'delete' }

export interface GoldenGateOptions {
  /** Use `pos` as the ordering counter (default true); false orders by the log timestamp. */
  usePosAsCounter?: boolean
}

export class GoldenGateFormat implements Format {
  readonly type = 'golden-gate'
  readonly #usePos: boolean

  constructor (options: GoldenGateOptions = {}) {
    this.#usePos = options.usePosAsCounter !== false
  }

  decode (message: RawMessage): ChangeEvent[] {
    const valueText = textOf(message.value)
    if (valueText === null) return []
    const value = parseJson(name, 'value', valueText, 'a JSON object { op_type, before, after, pos }')
    if (value === null) return []
    if (!isObject(value)) {
      throw decodeFailed(name, 'value', `message value is ${describeType(value)}; expected a JSON object { op_type, before, after, pos }`)
    }
    const opType = value['op_type']
    const op = typeof opType === 'string' ? operations[opType] : undefined
    if (op === undefined) {
      const got = typeof opType === 'string' ? `"${opType}"` : describeType(opType)
      throw decodeFailed(name, 'value.op_type', `value.op_type is ${got}; expected one of I, U, D`)
    }
    const key = decodeKey(message.key)
    let before: Doc | null
    let after: Doc | null
    if (op === 'delete') {
      before = optionalRecord(name, value, 'before', 'value.')
      after = null
      if (before === null && key === null) {
        throw decodeFailed(name, 'value.before', 'value.before is missing for op_type D and the key is not a JSON object; a delete needs the deleted record (at least its primary-key columns) in before')
      }
    } else {
      before = optionalRecord(name, value, 'before', 'value.')
      after = requiredRecord(name, value, 'after', 'value.', `expected the whole record for op_type ${String(opType)} — configure GoldenGate to write full after images`)
    }
    const event: ChangeEvent = { op, key, before, after }
    if (this.#usePos) {
      const pos = value['pos']
      const position = toPosition(pos)
      if (position === undefined) {
        const got = pos === undefined || pos === null ? describeType(pos) : `${describeType(pos)} that is not a non-negative integer`
        throw decodeFailed(name, 'value.pos', `value.pos is ${got}; expected the trail position (e.g. "00000000650028162190"), or set usePosAsCounter: false to order by the log timestamp`)
      }
      event.position = position
    }
    const sourceTime = parseOpTs(value['op_ts'])
    if (sourceTime !== undefined) event.sourceTime = sourceTime
    return [event]
  }
}

function decodeKey (text: string | null): Doc | null {
  const keyText = textOf(text)
  if (keyText === null || !keyText.trimStart().startsWith('{')) return null
  try {
    const key: unknown = JSON.parse(keyText)
    return isObject(key) ? key : null
  } catch {
    return null
  }
}

const opTsPattern = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * Parses a GoldenGate timestamp (`2021-02-19 16:03:27.000000`, UTC unless a zone is given) to epoch ms.
 * An absent or unreadable op_ts is not an error: the source time then defaults to the log timestamp.
 */
export function parseOpTs (value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = opTsPattern.exec(value.trim())
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3))
  let time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    time -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
  }
  return Number.isFinite(time) ? time : undefined
}
