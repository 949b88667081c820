/**
 * Live subscriptions: a per-client reader of a view's sv-update topic that turns records into
 * Server-Sent Events. It only reads the log (`read`, `offsets`), so a slow client never slows the
 * pipeline: when its socket's write buffer grows beyond a bound it is dropped instead.
 *
 * Event ids are cursors: `partition:offset` of the last record read in each partition (the event's
 * own partition first, `-1` when none was read yet), comma separated — `0:41` on a one-partition
 * topic. Sent back as `Last-Event-ID`, the stream resumes right after it.
 * @module
 */
import type { ServerResponse } from 'node:http'
import { Query } from 'mingo'
import { BraidError } from '../errors.ts'
import type { EventLog } from '../event-log/event-log.ts'
import type { Doc, Filter } from '../model/document.ts'
import type { LogRecord } from '../model/log-record.ts'
import { parseFilter, parseJsonObject, type QueryString } from './query.ts'
import type { DocumentSchema } from './schema.ts'

export interface ChangesOptions {
  /** Log poll interval when the reader has caught up, ms (default 50). */
  pollIntervalMs?: number
  /** Records read per partition and read call (default 500). */
  pageSize?: number
  /** Interval of the `: heartbeat` comment, ms (default 15 000). */
  heartbeatMs?: number
  /** Bytes the socket may hold unsent before the client is dropped (default 1 MiB). */
  maxBufferedBytes?: number
}

export const changesDefaults: Required<ChangesOptions> = {
  pollIntervalMs: 50,
  pageSize: 500,
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024
}

/** Query parameters of `GET /single-views/{name}/changes`. */
export const CHANGES_PARAMETERS: readonly string[] = ['_q']

export interface ChangesQuery {
  /** The view key to follow, canonical JSON (keys sorted). */
  key?: string
  /** Mongo filter on `after ?? before`. */
  filter?: Filter
  /** Resume position: last offset read per partition. */
  resume?: Map<number, number>
}

/** Reads `key`, `_q`, `lastEventId` (or the `Last-Event-ID` header); throws BRAID_QUERY_INVALID. */
export function parseChangesQuery (query: QueryString, lastEventIdHeader: string | undefined, schema?: DocumentSchema): ChangesQuery {
  for (const name of Object.keys(query)) {
    if (name.startsWith('_') && !CHANGES_PARAMETERS.includes(name)) {
      throw invalid(`querystring must NOT have additional properties. Property "${name}" is not defined in validation schema`)
    }
  }
  const out: ChangesQuery = {}
  const key = single(query, 'key')
  if (key !== undefined) {
    out.key = canonicalJson(parseJsonObject(key, 'key', 'the view key, e.g. {"email":"ada@example.com"}'))
  }
  const q = single(query, '_q')
  if (q !== undefined) out.filter = parseFilter(q, schema)
  const id = single(query, 'lastEventId') ?? lastEventIdHeader
  if (id !== undefined && id.trim() !== '') out.resume = parseEventId(id)
  return out
}

/** `p:o[,p:o…]` → last offset read per partition. */
export function parseEventId (id: string): Map<number, number> {
  const out = new Map<number, number>()
  for (const part of id.split(',')) {
    const m = /^\s*(\d+):(-1|\d+)\s*$/.exec(part)
    if (m === null) throw invalid(`Last-Event-ID "${id}" is not an event id of this stream (partition:offset[,partition:offset…])`)
    out.set(Number(m[1]), Number(m[2]))
  }
  return out
}

/** The id of an event read at `partition`: that partition first, then the others by number. */
export function formatEventId (partition: number, cursors: ReadonlyMap<number, number>): string {
  const parts = [`${partition}:${(cursors.get(partition) ?? 0) - 1}`]
  for (const [p, next] of [...cursors].sort((a, b) => a[0] - b[0])) if (p !== partition) parts.push(`${p}:${next - 1}`)
  return parts.join(',')
}

/** JSON with object keys sorted, so two spellings of one key compare equal. */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k])
    return out
  }
  return value
}

export interface ChangeStreamOptions {
  log: EventLog
  topic: string
  query: ChangesQuery
  response: ServerResponse
  options: Required<ChangesOptions>
  /** Called once when the stream ends, with the reason (`client closed`, `dropped: …`, `server closing`). */
  onEnd?: (reason: string) => void
}

/** One client's subscription: polls the log, writes events, heartbeats, drops, cleans up. */
export class ChangeStream {
  readonly #log: EventLog
  readonly #topic: string
  readonly #query: ChangesQuery
  readonly #res: ServerResponse
  readonly #opts: Required<ChangesOptions>
  readonly #onEnd: ((reason: string) => void) | undefined
  readonly #match: Query | undefined
  /** Next offset to read, per partition. */
  readonly #cursors = new Map<number, number>()
  #pollTimer: NodeJS.Timeout | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined
  #ended = false

  constructor ({ log, topic, query, response, options, onEnd }: ChangeStreamOptions) {
    this.#log = log
    this.#topic = topic
    this.#query = query
    this.#res = response
    this.#opts = options
    this.#onEnd = onEnd
    this.#match = query.filter === undefined ? undefined : new Query(query.filter)
  }

  get ended (): boolean {
    return this.#ended
  }

  /** Sends the head, positions the cursors (a `gap` event when the resume point is gone) and starts polling. */
  async start (): Promise<void> {
    this.#res.once('close', () => this.stop('client closed'))
    this.#res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    this.#res.flushHeaders()
    try {
      await this.#position()
    } catch (err) {
      this.#fail(err)
      return
    }
    if (this.#ended) return
    this.#heartbeatTimer = setInterval(() => this.#write(': heartbeat\n\n'), this.#opts.heartbeatMs)
    this.#schedule(0)
  }

  /** Ends the stream and stops every timer (idempotent). */
  stop (reason: string): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#pollTimer)
    clearInterval(this.#heartbeatTimer)
    this.#pollTimer = undefined
    this.#heartbeatTimer = undefined
    if (!this.#res.writableEnded) this.#res.end()
    this.#onEnd?.(reason)
  }

  /** Ends the stream with a last `event: dropped` naming the reason. */
  drop (reason: string): void {
    if (this.#ended) return
    if (!this.#res.writableEnded && !this.#res.destroyed) this.#res.write(`event: dropped\ndata: ${JSON.stringify({ reason })}\n\n`)
    this.stop(`dropped: ${reason}`)
  }

  async #position (): Promise<void> {
    const offsets = await this.#log.offsets(this.#topic)
    const resume = this.#query.resume
    const lost: Array<{ partition: number, from: number, oldest: number }> = []
    for (const { partition, start, end } of offsets) {
      if (resume === undefined) {
        this.#cursors.set(partition, end)
        continue
      }
      const last = resume.get(partition)
      // A partition the id does not name: everything still retained, no loss.
      const next = last === undefined ? start : Math.min(last + 1, end)
      if (next < start) lost.push({ partition, from: next, oldest: start })
      this.#cursors.set(partition, Math.max(next, start))
    }
    if (lost.length > 0) this.#gap(lost)
  }

  #gap (partitions: Array<{ partition: number, from: number, oldest: number }>): void {
    const lostCount = partitions.reduce((n, p) => n + p.oldest - p.from, 0)
    const reason = 'events after the requested position are no longer retained; continuing from the oldest retained event'
    this.#write(`event: gap\ndata: ${JSON.stringify({ reason, lost: lostCount, partitions })}\n\n`)
  }

  #schedule (delayMs: number): void {
    if (this.#ended) return
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined
      this.#poll().then(more => {
        // Read on at once while pages come back full and the client keeps up; else wait a tick.
        this.#schedule(more && !this.#res.writableNeedDrain ? 0 : this.#opts.pollIntervalMs)
      }, err => this.#fail(err))
    }, delayMs)
  }

  /** One pass over every partition; true when a page came back full (more to read). */
  async #poll (): Promise<boolean> {
    if (this.#cursors.size === 0) {
      // The topic did not exist yet: everything it gets from now on is new.
      for (const { partition, start } of await this.#log.offsets(this.#topic)) this.#cursors.set(partition, start)
    }
    let more = false
    for (const [partition, cursor] of [...this.#cursors].sort((a, b) => a[0] - b[0])) {
      if (this.#ended) return false
      const page = await this.#log.read(this.#topic, partition, cursor, this.#opts.pageSize)
      if (this.#ended) return false
      if (page.length === 0) continue
      const first = page[0]
      if (first !== undefined && first.offset > cursor) {
        // Offsets may skip (Kafka); only a retention start beyond the cursor means lost events.
        const start = (await this.#log.offsets(this.#topic)).find(o => o.partition === partition)?.start ?? 0
        if (start > cursor) this.#gap([{ partition, from: cursor, oldest: start }])
      }
      for (const record of page) {
        this.#cursors.set(partition, record.offset + 1)
        this.#deliver(record)
        if (this.#ended) return false
      }
      if (page.length >= this.#opts.pageSize) more = true
    }
    return more
  }

  #deliver (record: LogRecord): void {
    if (record.value === null) return
    let key: unknown = null
    if (record.key !== null) {
      try {
        key = JSON.parse(record.key)
      } catch {
        key = record.key
      }
    }
    if (this.#query.key !== undefined && canonicalJson(key) !== this.#query.key) return
    let value: Doc
    try {
      value = JSON.parse(record.value) as Doc
    } catch {
      return
    }
    if (this.#match !== undefined) {
      const doc = (value['after'] ?? value['before'] ?? null) as Doc | null
      if (doc === null || !this.#match.test(doc)) return
    }
    const id = formatEventId(record.partition, this.#cursors)
    this.#write(`id: ${id}\nevent: sv-update\ndata: ${JSON.stringify({ ...value, key })}\n\n`)
  }

  /** Writes a frame; drops the client when its unsent bytes pass the bound. */
  #write (frame: string): void {
    if (this.#ended || this.#res.writableEnded || this.#res.destroyed) return
    this.#res.write(frame)
    if (this.#res.writableLength > this.#opts.maxBufferedBytes) {
      this.drop(`the client reads too slowly: more than ${this.#opts.maxBufferedBytes} bytes unsent`)
    }
  }

  #fail (err: unknown): void {
    if (this.#ended) return
    this.drop(`the event log could not be read: ${err instanceof Error ? err.message : String(err)}`)
  }
}

function single (query: QueryString, name: string): string | undefined {
  const v = query[name]
  return Array.isArray(v) ? v[v.length - 1] : v
}

function invalid (message: string): BraidError {
  return new BraidError('BRAID_QUERY_INVALID', message)
}
