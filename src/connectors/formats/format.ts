/**
 * The Format interface (the "message adapter" of Mia Fast Data) and the helpers every format shares.
 *
 * A format turns one RawMessage (text key/value plus log metadata) into ChangeEvents:
 * - `[]` means "skip this message" (a tombstone, or a custom adapter returning null);
 * - a thrown `BraidError('BRAID_DECODE_FAILED', …)` means the message is malformed and goes to the
 *   dead-letter path. Messages say what is wrong, where, and how to fix it; they name fields but
 *   never quote record values (primary keys must not leak into logs).
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { ChangeEvent, Counter } from '../../model/change-event.ts'
import type { Doc } from '../../model/document.ts'
import type { FormatType, RawMessage } from '../../model/projection.ts'

export interface Format {
  readonly type: FormatType
  /**
   * Decodes one message. `sourceKey` lists the projection's primary-key fields as named in the source
   * (custom adapters receive it as `primaryKeys`).
   */
  decode (message: RawMessage, sourceKey: readonly string[]): ChangeEvent[] | Promise<ChangeEvent[]>
}

/** Builds the BRAID_DECODE_FAILED error of a format; `path` names the offending part (`value.op`). */
export function decodeFailed (format: string, path: string, reason: string, cause?: unknown): BraidError {
  return new BraidError('BRAID_DECODE_FAILED', `${format}: ${reason}`, {
    details: { format, path },
    ...(cause === undefined ? {} : { cause })
  })
}

/**
 * Parses a JSON text. The error never quotes the text (V8's SyntaxError does, which could leak
 * key values): it gives the part, its length and, when known, the position of the problem.
 */
export function parseJson (format: string, part: 'key' | 'value', text: string, expected: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    const at = err instanceof Error ? /position (\d+)/.exec(err.message)?.[1] : undefined
    const where = at === undefined ? '' : ` (problem at character ${at})`
    throw decodeFailed(format, part, `message ${part} is not valid JSON${where}, ${text.length} characters; expected ${expected} — check the producer's ${part} serializer`)
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isObject (value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Describes the JSON type of a value for error messages, without quoting it. */
export function describeType (value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'missing'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return 'a Date'
  return `a ${typeof value}`
}

/** Text of a message part; null for an absent or empty part (Kafka tombstones, empty keys). */
export function textOf (part: string | null): string | null {
  if (part === null) return null
  return part.trim() === '' ? null : part
}

/**
 * Reads an optional record (`before`/`after`): an object, or null when absent.
 * Anything else is a decode failure naming the path.
 */
export function optionalRecord (format: string, container: Doc, field: string, prefix: string): Doc | null {
  const value = container[field]
  if (value === undefined || value === null) return null
  if (isObject(value)) return value
  throw decodeFailed(format, `${prefix}${field}`, `${prefix}${field} is ${describeType(value)}; expected an object or null`)
}

/** Reads a required record: an object. */
export function requiredRecord (format: string, container: Doc, field: string, prefix: string, why: string): Doc {
  const value = container[field]
  if (isObject(value)) return value
  throw decodeFailed(format, `${prefix}${field}`, `${prefix}${field} is ${describeType(value)}; ${why}`)
}

/**
 * Validates an ordering position: a non-negative safe integer, or a string of decimal digits (kept as a
 * string so that 20-digit positions keep their precision; compareCounters compares them as integers).
 * Returns undefined when the value is not a valid position.
 */
export function toPosition (value: unknown): Counter | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return value.trim()
  return undefined
}

/** An epoch-ms time when the value is a finite number, else undefined. */
export function toEpochMs (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}
