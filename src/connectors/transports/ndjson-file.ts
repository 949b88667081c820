/**
 * The NDJSON file transport: one record per line, `{"key":…, "value":…, "timestamp"?:…, "headers"?:…}`.
 *
 * - `key`/`value`: a string is taken as the text itself; any other JSON (object, array, number,
 *   boolean) is serialised back to JSON text; null (or an absent key) is null. `value` must be present
 *   (null is a delete for most formats), so that a misspelt field cannot turn a line into a delete.
 * - `timestamp`: epoch ms (number or digit string) or an ISO-8601 date; absent ⇒ the log's append time.
 * - `headers`: an object of string values.
 * Blank lines are skipped. The file is streamed line by line (constant memory); records come out in
 * batches of `batchSize`. A bad line stops the read with BRAID_DECODE_FAILED naming `file:line`
 * (never quoting the line, which may hold key values).
 * @module
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { BraidError, isBraidError } from '../../errors.ts'
import type { AppendRecord } from '../../model/log-record.ts'
import type { Transport, TransportReadOptions } from '../connector.ts'

export interface NdjsonFileOptions {
  /** Records per yielded batch (default 500). */
  batchSize?: number
  signal?: AbortSignal
}

const defaultBatchSize = 500
const allowedFields = new Set(['key', 'value', 'timestamp', 'headers'])

/** Reads an NDJSON file into batches of AppendRecords. */
export async function * readNdjsonFile (path: string, options: NdjsonFileOptions = {}): AsyncGenerator<AppendRecord[]> {
  const batchSize = Math.max(1, Math.trunc(options.batchSize ?? defaultBatchSize))
  const stream = createReadStream(path, { encoding: 'utf8' })
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  let lineNo = 0
  let batch: AppendRecord[] = []
  try {
    for await (const line of lines) {
      lineNo++
      if (options.signal?.aborted === true) break
      const record = parseNdjsonLine(line, path, lineNo)
      if (record === null) continue
      batch.push(record)
      if (batch.length >= batchSize) {
        yield batch
        batch = []
      }
    }
    if (batch.length > 0) yield batch
  } catch (err) {
    if (isBraidError(err)) throw err
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error'
    throw new BraidError('BRAID_USAGE', `ndjson-file: cannot read "${path}" (${code}); check that the file exists and is readable`, {
      details: { path, line: lineNo },
      cause: err
    })
  } finally {
    lines.close()
    stream.destroy()
  }
}

/** The NDJSON file as a Transport. */
export function createNdjsonFileTransport (path: string, options: { batchSize?: number } = {}): Transport {
  return {
    kind: 'ndjson-file',
    origin: path,
    read: (readOptions: TransportReadOptions = {}) => readNdjsonFile(path, { ...options, signal: readOptions.signal })
  }
}

/**
 * Parses one NDJSON line; null for a blank line. Errors name `source:lineNo`.
 * Exported for other line-oriented transports (HTTP NDJSON bodies).
 */
export function parseNdjsonLine (line: string, source: string, lineNo: number): AppendRecord | null {
  if (line.trim() === '') return null
  const where: Where = { source, line: lineNo }
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch (err) {
    const at = err instanceof Error ? /position (\d+)/.exec(err.message)?.[1] : undefined
    throw bad(where, `line is not valid JSON${at === undefined ? '' : ` (problem at character ${at})`}; each line must be one JSON object {"key":…, "value":…}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw bad(where, 'line is not a JSON object; each line must be one JSON object {"key":…, "value":…}')
  }
  const obj = parsed as Record<string, unknown>
  const unknown = Object.keys(obj).filter(f => !allowedFields.has(f))
  if (unknown.length > 0) {
    throw bad(where, `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map(f => `"${f}"`).join(', ')}; a line may have key, value, timestamp, headers`)
  }
  if (!('value' in obj)) {
    throw bad(where, 'field "value" is missing; give the record (or "value": null for a delete)')
  }
  const record: AppendRecord = { key: toText(obj['key']), value: toText(obj['value']) }
  if (obj['timestamp'] !== undefined && obj['timestamp'] !== null) record.timestamp = toTimestamp(obj['timestamp'], where)
  if (obj['headers'] !== undefined && obj['headers'] !== null) record.headers = toHeaders(obj['headers'], where)
  return record
}

function toText (value: unknown): string | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

function toTimestamp (value: unknown, where: Where): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.trunc(value)
  if (typeof value === 'string') {
    const text = value.trim()
    if (/^\d+$/.test(text)) return Number(text)
    const ms = Date.parse(text)
    if (Number.isFinite(ms)) return ms
  }
  throw bad(where, 'field "timestamp" is not a valid time; give epoch milliseconds or an ISO-8601 date')
}

function toHeaders (value: unknown, where: Where): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(where, 'field "headers" is not an object; give {"name": "text", …}')
  }
  const headers: Record<string, string> = {}
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw bad(where, `header "${name}" is not a string; header values are text`)
    headers[name] = v
  }
  return headers
}

interface Where {
  source: string
  line: number
}

function bad (where: Where, reason: string): BraidError {
  return new BraidError('BRAID_DECODE_FAILED', `${where.source}:${where.line}: ${reason}`, { details: { ...where } })
}
