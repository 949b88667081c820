/**
 * The custom format: a user adapter function, called as Mia calls it,
 * `messageAdapter(message, primaryKeys, logger)`, with
 * `message = { key: Buffer|null, value: Buffer|null, timestamp: string, offset: string, partition, topic, headers }`
 * (null buffers for null parts, as kafkajs hands them to Mia's Real-Time Updater).
 *
 * Both of Mia's return shapes are accepted, alone, in an array, or through a Promise:
 * - RTU: `{ keyObject, value, timestampDate?, offset?, operation?, before?, after?, operationPosition? }`;
 *   `value: null` (or `operation: 'D'`) is a delete; without `operation` a change is an upsert;
 *   `operationPosition` (a non-negative integer) becomes the ordering position; `timestampDate`
 *   becomes the source time; `offset` is ignored (the log offset is authoritative).
 * - PS: `{ operation: 'I'|'U'|'D', key, before, after }`.
 * `null`/`undefined` means "skip this message". Anything else, or a throw in the adapter, is a
 * BRAID_DECODE_FAILED naming the adapter file (the adapter's own error is kept as the cause and is
 * not copied into the message, as it may quote record values).
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { ChangeEvent, ChangeOp } from '../../model/change-event.ts'
import type { Doc } from '../../model/document.ts'
import type { CustomAdapterFunction, RawMessage } from '../../model/projection.ts'
import { describeType, isObject, toPosition } from './format.ts'
import type { Format } from './format.ts'

/** The message object a custom adapter receives. */
export interface AdapterMessage {
  key: Buffer | null
  value: Buffer | null
  /** Epoch ms as a decimal string (kafkajs convention). */
  timestamp: string
  /** Log offset as a decimal string (kafkajs convention). */
  offset: string
  partition: number
  topic: string
  headers: Record<string, string>
}

/** The logger handed to adapters: pino-shaped. */
export interface AdapterLogger {
  trace (...args: unknown[]): void
  debug (...args: unknown[]): void
  info (...args: unknown[]): void
  warn (...args: unknown[]): void
  error (...args: unknown[]): void
  fatal (...args: unknown[]): void
  child (bindings: Record<string, unknown>): AdapterLogger
}

export interface CustomFormatOptions {
  adapter: CustomAdapterFunction
  /** The file the adapter was loaded from, named in every error. */
  adapterFile?: string
  /** Logger passed as the adapter's third argument (a silent one by default). */
  logger?: AdapterLogger
}

const operations: Record<string, ChangeOp> = { I: 'insert', U: 'update', D: 'delete' }

export class CustomFormat implements Format {
  readonly type = 'custom'
  readonly #adapter: CustomAdapterFunction
  readonly #file: string
  readonly #logger: AdapterLogger

  constructor (options: CustomFormatOptions) {
    this.#adapter = options.adapter
    this.#file = options.adapterFile ?? '<inline adapter>'
    this.#logger = options.logger ?? silentLogger
  }

  decode (message: RawMessage, sourceKey: readonly string[]): ChangeEvent[] | Promise<ChangeEvent[]> {
    let result: unknown
    try {
      result = this.#adapter(toAdapterMessage(message), [...sourceKey], this.#logger)
    } catch (err) {
      throw this.#threw(err)
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(out => this.#normalise(out), (err: unknown) => { throw this.#threw(err) })
    }
    return this.#normalise(result)
  }

  #normalise (out: unknown): ChangeEvent[] {
    if (out === null || out === undefined) return []
    if (!Array.isArray(out)) return [this.#one(out, 'result')]
    const events: ChangeEvent[] = []
    out.forEach((item: unknown, i) => {
      if (item !== null && item !== undefined) events.push(this.#one(item, `result[${i}]`))
    })
    return events
  }

  #one (out: unknown, at: string): ChangeEvent {
    if (!isObject(out)) {
      throw this.#fail(at, `${at} is ${describeType(out)}; expected { keyObject, value } (Real-Time Updater shape), { operation, key, before, after } (Projection Storer shape), null to skip, or an array of those`)
    }
    if ('keyObject' in out || 'value' in out) return this.#fromRtu(out, at)
    if ('operation' in out && ('key' in out || 'before' in out || 'after' in out)) return this.#fromPs(out, at)
    throw this.#fail(at, `${at} is an object with neither keyObject/value nor operation/key; expected { keyObject, value } (Real-Time Updater shape) or { operation, key, before, after } (Projection Storer shape)`)
  }

  #fromRtu (out: Doc, at: string): ChangeEvent {
    const key = this.#record(out, 'keyObject', at)
    const before = this.#record(out, 'before', at)
    const after = this.#record(out, 'after', at)
    const operation = out['operation'] === undefined ? undefined : this.#operation(out, at)
    const value = out['value']
    if (value !== undefined && value !== null && !isObject(value)) {
      throw this.#fail(`${at}.value`, `${at}.value is ${describeType(value)}; expected the record as an object, or null for a delete`)
    }
    let event: ChangeEvent
    if (operation === 'delete' || value === null) {
      event = { op: 'delete', key, before: before ?? (isObject(value) ? value : null), after: null }
      this.#requireDeleteKey(event, `${at}.keyObject`)
    } else {
      const record = isObject(value) ? value : after
      if (record === null) {
        throw this.#fail(`${at}.value`, `${at}.value is missing; return the record in value (or null to delete), or after`)
      }
      event = { op: operation ?? 'upsert', key, before, after: record }
    }
    const position = out['operationPosition']
    if (position !== undefined && position !== null) {
      const counter = toPosition(position)
      if (counter === undefined) {
        throw this.#fail(`${at}.operationPosition`, `${at}.operationPosition is ${describeType(position)} but not a non-negative integer; return an integer position (or a string of digits), or leave it out to order by the log timestamp`)
      }
      event.position = counter
    }
    const time = out['timestampDate']
    if (time !== undefined && time !== null) {
      const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Number.NaN
      if (!Number.isFinite(ms)) {
        throw this.#fail(`${at}.timestampDate`, `${at}.timestampDate is ${describeType(time)} but not a valid Date; return new Date(Number(message.timestamp)) or leave it out`)
      }
      event.sourceTime = ms
    }
    return event
  }

  #fromPs (out: Doc, at: string): ChangeEvent {
    const op = this.#operation(out, at)
    const key = this.#record(out, 'key', at)
    const before = this.#record(out, 'before', at)
    const after = this.#record(out, 'after', at)
    if (op === 'delete') {
      const event: ChangeEvent = { op, key, before, after: null }
      this.#requireDeleteKey(event, `${at}.key`)
      return event
    }
    if (after === null) {
      throw this.#fail(`${at}.after`, `${at}.after is missing for operation "${String(out['operation'])}"; return the whole record in after`)
    }
    return { op, key, before, after }
  }

  #operation (out: Doc, at: string): ChangeOp {
    const raw = out['operation']
    const op = typeof raw === 'string' ? operations[raw] : undefined
    if (op === undefined) {
      const got = typeof raw === 'string' ? `"${raw}"` : describeType(raw)
      throw this.#fail(`${at}.operation`, `${at}.operation is ${got}; expected one of I, U, D`)
    }
    return op
  }

  #record (out: Doc, field: string, at: string): Doc | null {
    const value = out[field]
    if (value === undefined || value === null) return null
    if (isObject(value)) return value
    throw this.#fail(`${at}.${field}`, `${at}.${field} is ${describeType(value)}; expected an object or null`)
  }

  #requireDeleteKey (event: ChangeEvent, path: string): void {
    const hasKey = event.key !== null && Object.keys(event.key).length > 0
    if (!hasKey && event.before === null) {
      throw this.#fail(path, `${path} is missing on a delete; return the primary-key fields (or the deleted record in before)`)
    }
  }

  #fail (path: string, reason: string, cause?: unknown): BraidError {
    return new BraidError('BRAID_DECODE_FAILED', `custom adapter "${this.#file}": ${reason}`, {
      details: { format: 'custom', adapterFile: this.#file, path },
      ...(cause === undefined ? {} : { cause })
    })
  }

  #threw (err: unknown): BraidError {
    const kind = err instanceof Error ? err.name : describeType(err)
    return this.#fail('adapter', `the adapter threw ${kind} (the original error is the cause); fix the adapter or the message`, err)
  }
}

function toAdapterMessage (message: RawMessage): AdapterMessage {
  return {
    key: message.key === null ? null : Buffer.from(message.key),
    value: message.value === null ? null : Buffer.from(message.value),
    timestamp: String(message.timestamp),
    offset: String(message.offset),
    partition: message.partition,
    topic: message.topic,
    headers: { ...message.headers }
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function noop (): void {}

/** A logger that discards everything. */
export const silentLogger: AdapterLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => silentLogger
}
