/**
 * Streamed document responses: `GET …/` (a JSON array) and `GET …/export` (ndjson, JSON array or CSV
 * by `Accept`). Documents are read in pages and written as they come, so memory stays constant
 * whatever the size of the result: with `_s`, pages of `find` with skip/limit (the store sorts);
 * without, pages of `scan` (id order). Reading stops when the client goes away.
 * @module
 */
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Query } from 'mingo'
import { BraidError, isBraidError } from '../errors.ts'
import type { Doc, Filter, Sort } from '../model/document.ts'
import type { Store } from '../storage/store.ts'
import { negotiate, type Negotiated } from './negotiate.ts'

/** Documents per page read from the store. */
export const EXPORT_PAGE_SIZE = 1000

export type ExportFormat = 'ndjson' | 'json' | 'csv'

export const exportContentTypes: Readonly<Record<ExportFormat, string>> = {
  ndjson: 'application/x-ndjson',
  json: 'application/json',
  csv: 'text/csv'
}

/** Media ranges braid can answer, most specific first. */
const mediaRanges: ReadonlyMap<string, ExportFormat> = new Map([
  ['application/x-ndjson', 'ndjson'],
  ['application/json', 'json'],
  ['text/csv', 'csv'],
  ['application/*', 'ndjson'],
  ['text/*', 'csv'],
  ['*/*', 'ndjson']
])

export type Negotiation = Negotiated<ExportFormat>

/**
 * The export format for an `Accept` header: the acceptable media range with the highest q-weight
 * (then the most specific, then the first) that braid supports. No header, an empty one or one
 * without any media range means ndjson. When nothing fits, `unsupported` names the preferred type.
 */
export function negotiateExport (accept: string | undefined): Negotiation {
  return negotiate(accept, mediaRanges, 'ndjson')
}

// ---------------------------------------------------------------- serializers

/** How a stream of documents is written: what opens it, each document, what closes it. */
export interface Serializer {
  open: string
  item (doc: Doc, first: boolean): string
  close: string
}

/** The CRUD Service's JSON array layout: `[\n{…}\n,\n{…}\n]\n` (`[\n\n]\n` when empty). */
export const jsonArraySerializer: Serializer = {
  open: '[\n',
  item: (doc, first) => first ? JSON.stringify(doc) : `\n,\n${JSON.stringify(doc)}`,
  close: '\n]\n'
}

export const ndjsonSerializer: Serializer = {
  open: '',
  item: doc => `${JSON.stringify(doc)}\n`,
  close: ''
}

/** CSV layout options, from `_exportOpts` (csv-stringify's names). */
export interface CsvOptions {
  /** Field separator (default `,`). */
  delimiter?: string
  /** Write the header row (default true). */
  header?: boolean
  /** Line end: `unix` (`\n`, the default), `windows` (`\r\n`), or the text itself. */
  record_delimiter?: string
}

const recordDelimiters: Readonly<Record<string, string>> = { unix: '\n', windows: '\r\n', mac: '\r' }

/**
 * `_exportOpts`: a JSON object of CSV options (`{"delimiter":";"}`), used by `text/csv` exports only,
 * as the CRUD Service passes them to csv-stringify. braid supports `delimiter`, `header` and
 * `record_delimiter`; any other option is refused with 400 rather than silently ignored.
 */
export function parseExportOptions (text: string): CsvOptions {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw invalidOptions(`_exportOpts is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidOptions('_exportOpts must be a JSON object of CSV options, e.g. {"delimiter":";"}')
  const out: CsvOptions = {}
  for (const [k, v] of Object.entries(parsed)) {
    if (k === 'delimiter') {
      if (typeof v !== 'string' || v === '' || /["\r\n]/.test(v)) throw invalidOptions('_exportOpts.delimiter must be a non-empty string without quotes or line breaks')
      out.delimiter = v
    } else if (k === 'header') {
      if (typeof v !== 'boolean') throw invalidOptions('_exportOpts.header must be true or false')
      out.header = v
    } else if (k === 'record_delimiter') {
      if (typeof v !== 'string' || v === '' || (recordDelimiters[v] === undefined && !/^[\r\n]+$/.test(v))) throw invalidOptions('_exportOpts.record_delimiter must be unix, windows, mac, or a line break')
      out.record_delimiter = v
    } else {
      throw invalidOptions(`_exportOpts: unsupported option "${k}"; braid supports delimiter, header and record_delimiter`)
    }
  }
  return out
}

function invalidOptions (message: string): BraidError {
  return new BraidError('BRAID_QUERY_INVALID', message)
}

/**
 * CSV (RFC 4180, `\n` line ends by default): a header row of `columns`, then one row per document.
 * Strings are always quoted (`"` doubled inside), objects and arrays are JSON in quotes, numbers
 * bare, booleans `1` or empty and null or missing values empty, as the CRUD Service's export
 * (csv-stringify) writes them; a bare cell holding the delimiter is quoted. A dotted column
 * (`tier.code`) reads the nested value, across arrays (`orders.orderId` → the list of order ids).
 */
export function csvSerializer (columns: readonly string[], options: CsvOptions = {}): Serializer {
  const paths = columns.map(c => c.split('.'))
  const delimiter = options.delimiter ?? ','
  const eol = options.record_delimiter === undefined ? '\n' : recordDelimiters[options.record_delimiter] ?? options.record_delimiter
  const cell = (value: unknown): string => {
    const text = csvCell(value)
    return text.startsWith('"') || !text.includes(delimiter) ? text : quote(text)
  }
  return {
    open: options.header === false ? '' : `${columns.map(quote).join(delimiter)}${eol}`,
    item: doc => `${paths.map(path => cell(pick(doc, path))).join(delimiter)}${eol}`,
    close: ''
  }
}

export function csvCell (value: unknown): string {
  if (value === null || value === undefined) return ''
  switch (typeof value) {
    case 'string': return quote(value)
    case 'number':
    case 'bigint': return String(value)
    case 'boolean': return value ? '1' : ''
    default: return quote(JSON.stringify(value))
  }
}

function quote (text: string): string {
  return `"${text.replaceAll('"', '""')}"`
}

function pick (value: unknown, path: readonly string[]): unknown {
  let current = value
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as string
    if (Array.isArray(current) && !/^\d+$/.test(segment)) {
      const rest = path.slice(i)
      return current.map(element => pick(element, rest))
    }
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Doc)[segment]
  }
  return current
}

// ---------------------------------------------------------------- reading

export interface PageQuery {
  filter: Filter
  sort?: Sort
  skip?: number
  /** Documents at most; absent means all. */
  limit?: number
  projection?: Record<string, 0 | 1>
}

/**
 * The matching documents of `collection`, page by page, with `transform` applied (after the
 * projection). Stops at the end, at `limit`, or when `signal` is aborted.
 */
export async function * documentPages (
  store: Store,
  collection: string,
  query: PageQuery,
  transform: (doc: Doc) => Doc,
  signal: AbortSignal,
  pageSize = EXPORT_PAGE_SIZE
): AsyncGenerator<Doc[]> {
  let remaining = query.limit ?? Infinity
  let skip = query.skip ?? 0
  if (query.sort !== undefined) {
    // The store sorts (ties in id order, so consecutive pages neither repeat nor miss a document).
    while (remaining > 0 && !signal.aborted) {
      const limit = Math.min(pageSize, remaining)
      const docs = await store.find(collection, query.filter, {
        sort: query.sort,
        skip,
        limit,
        ...(query.projection === undefined ? {} : { projection: query.projection })
      })
      if (docs.length > 0) yield docs.map(transform)
      if (docs.length < limit) return
      skip += limit
      remaining -= limit
    }
    return
  }
  if (remaining <= 0) return
  const batchSize = Number.isFinite(remaining) ? Math.max(1, Math.min(pageSize, skip + remaining)) : pageSize
  for await (const page of store.scan(collection, query.filter, batchSize)) {
    if (signal.aborted) return
    let docs = page
    if (skip > 0) {
      const dropped = Math.min(skip, docs.length)
      docs = docs.slice(dropped)
      skip -= dropped
    }
    if (docs.length > remaining) docs = docs.slice(0, remaining)
    remaining -= docs.length
    if (docs.length > 0) yield project(docs, query.projection).map(transform)
    if (remaining <= 0) return
  }
}

/** Mongo-style projection of scanned pages, with the semantics `find` applies (mingo's). */
function project (docs: Doc[], projection: Record<string, 0 | 1> | undefined): Doc[] {
  if (projection === undefined || Object.keys(projection).length === 0) return docs
  try {
    return new Query({}).find<Doc>(docs, projection).all()
  } catch (err) {
    throw new BraidError('BRAID_QUERY_INVALID', `Invalid projection: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/** One page as a source of pages (`GET /`, at most `_l` documents). */
export async function * onePage (docs: Doc[]): AsyncGenerator<Doc[]> {
  if (docs.length > 0) yield docs
}

// ---------------------------------------------------------------- responding

/**
 * Sends `pages` through `serializer` as a chunked response. The first page is read before the status
 * is sent, so an invalid query still gets its 400; a failure later can only cut the response short
 * (logged with its code, the connection is closed without the closing chunk). A HEAD request reads
 * the first page only.
 */
export async function sendDocuments (
  request: FastifyRequest,
  reply: FastifyReply,
  pages: AsyncIterable<Doc[]>,
  serializer: Serializer,
  contentType: string
): Promise<FastifyReply> {
  const iterator = pages[Symbol.asyncIterator]()
  const first = await iterator.next()
  if (request.method === 'HEAD') {
    // The status and headers only: no need to read the rest.
    await iterator.return?.()
    return reply.header('content-type', contentType).send()
  }
  async function * chunks (): AsyncGenerator<string> {
    let started = false
    const page = (docs: Doc[]): string => {
      let out = ''
      for (const doc of docs) {
        out += serializer.item(doc, !started)
        started = true
      }
      return out
    }
    try {
      let next = first
      let text = serializer.open
      while (next.done !== true) {
        text += page(next.value)
        if (text !== '') yield text
        text = ''
        next = await iterator.next()
      }
      text += serializer.close
      if (text !== '') yield text
    } catch (err) {
      const code = isBraidError(err) ? err.code : 'BRAID_INTERNAL'
      request.log.error({ code, route: request.routeOptions.url }, 'reading the documents failed after the response started; the response is cut short')
      throw new Error(`the response was cut short (${code})`)
    } finally {
      await iterator.return?.()
    }
  }
  reply.header('content-type', contentType)
  return reply.send(Readable.from(chunks(), { objectMode: false }))
}

/** An AbortSignal aborted when the response closes (the client went away, or it was sent). */
export function closeSignal (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => controller.abort())
  return controller.signal
}
