import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { formatEventId, parseEventId } from '../../src/api/changes.ts'
import type { EventLog } from '../../src/event-log/event-log.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import type { UpdateEvents } from '../../src/model/single-view.ts'
import type { BraidService } from '../../src/runtime/types.ts'
import { customerRow, openPipeline, retail, retailConfig, retailWithUpdateEvents, tempDir, topics, waitFor, type Running } from '../runtime/harness.ts'

const topic = 'braid.customer_sv.sv-update'

interface SseEvent {
  id: string | undefined
  event: string
  data: Doc
}

/** A Server-Sent Events client on node:http, so a test can pause reading. */
class SseClient {
  readonly events: SseEvent[] = []
  readonly comments: string[] = []
  ended = false
  #buffer = ''

  constructor (readonly req: ClientRequest, readonly res: IncomingMessage) {
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => this.#feed(chunk))
    res.on('end', () => { this.ended = true })
    res.on('close', () => { this.ended = true })
  }

  static async open (base: string, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return await new Promise((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, { headers: { accept: 'text/event-stream', ...headers } }, res => resolve(new SseClient(req, res)))
      req.on('error', reject)
      req.end()
    })
  }

  #feed (chunk: string): void {
    this.#buffer += chunk
    for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
      const frame = this.#buffer.slice(0, end)
      this.#buffer = this.#buffer.slice(end + 2)
      let id: string | undefined
      let event = 'message'
      const data: string[] = []
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim())
        else if (line.startsWith('id: ')) id = line.slice(4)
        else if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data.push(line.slice(6))
      }
      if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join('\n')) as Doc })
    }
  }

  /** sv-update events of one email (by the event key). */
  of (email: string): SseEvent[] {
    return this.events.filter(e => e.event === 'sv-update' && (e.data['key'] as Doc)['email'] === email)
  }

  async waitFor (n: number, email: string): Promise<SseEvent[]> {
    return await waitFor(() => this.of(email).length >= n && this.of(email), `${n} sv-update events of ${email}`)
  }

  close (): void {
    this.req.destroy()
  }
}

const ops = (events: SseEvent[]): unknown[] => events.map(e => (e.data['operation'] as Doc)['type'])

let running: Running
let app: FastifyInstance
let base: string
const clients: SseClient[] = []

async function listen (a: FastifyInstance): Promise<string> {
  await a.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`
}

async function open (path: string, headers: Record<string, string> = {}, at = base): Promise<SseClient> {
  const client = await SseClient.open(at, path, headers)
  clients.push(client)
  return client
}

async function ingestCustomers (...messages: Parameters<typeof retail.customer>[]): Promise<void> {
  // One at a time: rebuilds of one view key are coalesced.
  for (const m of messages) {
    await running.service.ingest(topics.customers, [retail.customer(...m)])
    await running.service.idle()
  }
}

/** The service with its log replaced (the routes only use `pipeline` and `log`). */
function withLog (service: BraidService, log: EventLog): BraidService {
  return new Proxy(service, { get: (target, p) => p === 'log' ? log : Reflect.get(target, p) as unknown })
}

/** The log with some methods replaced; the others bound to the real one. */
function wrapLog (log: EventLog, overrides: Partial<Pick<EventLog, 'read' | 'offsets'>>): EventLog {
  return new Proxy(log, {
    get: (target, p) => {
      if (p === 'read' && overrides.read !== undefined) return overrides.read
      if (p === 'offsets' && overrides.offsets !== undefined) return overrides.offsets
      const v = Reflect.get(target, p) as unknown
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v
    }
  })
}

beforeAll(async () => {
  running = await openPipeline(retailConfig, tempDir())
  app = await buildApp(running.service, { logger: silentLogger(), changes: { pollIntervalMs: 20, heartbeatMs: 100 } })
  base = await listen(app)
})

afterAll(async () => {
  for (const c of clients) c.close()
  await app?.close()
  await running?.close()
})

describe('GET /single-views/{name}/changes', () => {
  it('streams INSERT, UPDATE and DELETE as Server-Sent Events, in order, with resumable ids', async () => {
    const client = await open('/single-views/customer_sv/changes')
    expect(client.res.statusCode).toBe(200)
    expect(client.res.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(client.res.headers['cache-control']).toBe('no-cache, no-transform')
    const row = customerRow(101, { email: 'ada@example.com', first_name: 'Ada' })
    const changed = { ...row, first_name: 'Augusta' }
    await ingestCustomers([row], [changed, 'u', row])
    await running.service.ingest(topics.customers, [retail.deleteCustomer(changed)])

    const events = await client.waitFor(3, 'ada@example.com')
    expect(ops(events)).toEqual(['INSERT', 'UPDATE', 'DELETE'])
    const [insert, update, remove] = events
    expect(insert?.data).toMatchObject({ key: { email: 'ada@example.com' }, source: 'retail', storageNamespace: 'customer_sv', primaryKeys: ['email'], before: null })
    expect(insert?.data['after']).toMatchObject({ email: 'ada@example.com', firstName: 'Ada' })
    expect(update?.data['before']).toMatchObject({ firstName: 'Ada' })
    expect(update?.data['after']).toMatchObject({ firstName: 'Augusta' })
    expect(remove?.data['after']).toBeNull()
    expect(Object.keys(insert?.data ?? {}).sort()).toEqual(['after', 'before', 'key', 'operation', 'primaryKeys', 'source', 'storageNamespace'])
    const offsets = events.map(e => {
      expect(e.id).toMatch(/^0:\d+$/)
      return Number(e.id?.split(':')[1])
    })
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    expect(new Set(offsets).size).toBe(3)
  })

  it('starts at the current end: events appended before the subscription are not sent', async () => {
    await ingestCustomers([customerRow(102, { email: 'early@example.com' })])
    const client = await open('/single-views/customer_sv/changes')
    await ingestCustomers([customerRow(103, { email: 'late@example.com' })])
    await client.waitFor(1, 'late@example.com')
    expect(client.of('early@example.com')).toEqual([])
  })

  it('sends a heartbeat comment', async () => {
    const client = await open('/single-views/customer_sv/changes')
    await waitFor(() => client.comments.includes('heartbeat'), 'a heartbeat')
  })

  it('filters by view key (`key`, any key order)', async () => {
    const client = await open(`/single-views/customer_sv/changes?key=${encodeURIComponent(JSON.stringify({ email: 'k1@example.com' }))}`)
    await ingestCustomers([customerRow(111, { email: 'k2@example.com' })], [customerRow(110, { email: 'k1@example.com' })])
    await client.waitFor(1, 'k1@example.com')
    expect(client.events.filter(e => e.event === 'sv-update').map(e => e.data['key'])).toEqual([{ email: 'k1@example.com' }])
  })

  it('filters by `_q` on after, or before for a DELETE', async () => {
    const client = await open(`/single-views/customer_sv/changes?_q=${encodeURIComponent(JSON.stringify({ firstName: 'Grace' }))}`)
    const grace = customerRow(121, { email: 'grace@example.com', first_name: 'Grace' })
    await ingestCustomers([customerRow(120, { email: 'notgrace@example.com', first_name: 'Linus' })], [grace])
    await running.service.ingest(topics.customers, [retail.deleteCustomer(grace)])
    const events = await client.waitFor(2, 'grace@example.com')
    expect(ops(events)).toEqual(['INSERT', 'DELETE'])
    expect(client.events.filter(e => e.event === 'sv-update').every(e => (e.data['key'] as Doc)['email'] === 'grace@example.com')).toBe(true)
  })

  it('resumes right after Last-Event-ID (header or ?lastEventId=), exactly the later events', async () => {
    const key = encodeURIComponent(JSON.stringify({ email: 'resume@example.com' }))
    const first = await open(`/single-views/customer_sv/changes?key=${key}`)
    const row = customerRow(130, { email: 'resume@example.com', first_name: 'One' })
    await ingestCustomers([row], [{ ...row, first_name: 'Two' }, 'u', row], [{ ...row, first_name: 'Three' }, 'u', { ...row, first_name: 'Two' }])
    const seen = await first.waitFor(3, 'resume@example.com')
    first.close()
    const afterFirst = seen[0]?.id ?? ''

    const byHeader = await open(`/single-views/customer_sv/changes?key=${key}`, { 'last-event-id': afterFirst })
    const byQuery = await open(`/single-views/customer_sv/changes?key=${key}&lastEventId=${encodeURIComponent(afterFirst)}`)
    for (const client of [byHeader, byQuery]) {
      const events = await client.waitFor(2, 'resume@example.com')
      expect(events.map(e => e.id)).toEqual([seen[1]?.id, seen[2]?.id])
      expect(events.map(e => (e.data['after'] as Doc)['firstName'])).toEqual(['Two', 'Three'])
    }
    // Nothing more arrives: no duplicates, no replay of the first event.
    await new Promise(resolve => setTimeout(resolve, 150))
    expect(byHeader.of('resume@example.com')).toHaveLength(2)
    expect(byHeader.events.some(e => e.event === 'gap')).toBe(false)
  })

  it('sends a gap event when the resume position is older than the retained start, then the oldest retained', async () => {
    const key = encodeURIComponent(JSON.stringify({ email: 'gap@example.com' }))
    const first = await open(`/single-views/customer_sv/changes?key=${key}`)
    const row = customerRow(140, { email: 'gap@example.com', first_name: 'A' })
    await ingestCustomers([row], [{ ...row, first_name: 'B' }, 'u', row], [{ ...row, first_name: 'C' }, 'u', { ...row, first_name: 'B' }])
    const seen = await first.waitFor(3, 'gap@example.com')
    // Retention removed everything before the third event.
    const cut = Number(seen[2]?.id?.split(':')[1])
    const log = running.service.log
    const pruned = wrapLog(log, {
      offsets: async t => (await log.offsets(t)).map(o => ({ ...o, start: Math.max(o.start, cut) })),
      read: async (t, p, offset, limit) => log.read(t, p, Math.max(offset, cut), limit)
    })
    const gapApp = await buildApp(withLog(running.service, pruned), { logger: silentLogger(), changes: { pollIntervalMs: 20 } })
    try {
      const client = await open(`/single-views/customer_sv/changes?key=${key}`, { 'last-event-id': seen[0]?.id ?? '' }, await listen(gapApp))
      const events = await client.waitFor(1, 'gap@example.com')
      expect(client.events[0]?.event).toBe('gap')
      const from = Number(seen[0]?.id?.split(':')[1]) + 1
      expect(client.events[0]?.data).toMatchObject({ lost: cut - from, partitions: [{ partition: 0, from, oldest: cut }] })
      expect(typeof client.events[0]?.data['reason']).toBe('string')
      expect(events.map(e => e.id)).toEqual([seen[2]?.id])
      client.close()
    } finally {
      await gapApp.close()
    }
  })

  it('answers 400 with the JSON error body for a bad _q, key, parameter or Last-Event-ID, before any stream', async () => {
    for (const [path, headers] of [
      ['/single-views/customer_sv/changes?_q=%7Bnot-json', {}],
      [`/single-views/customer_sv/changes?_q=${encodeURIComponent('{"firstName":{"$where":"x"}}')}`, {}],
      [`/single-views/customer_sv/changes?_q=${encodeURIComponent('{"noSuchField":1}')}`, {}],
      ['/single-views/customer_sv/changes?key=%5B1%5D', {}],
      ['/single-views/customer_sv/changes?_l=5', {}],
      ['/single-views/customer_sv/changes', { 'last-event-id': 'yesterday' }]
    ] as const) {
      const res = await fetch(`${base}${path}`, { headers })
      expect(res.status, path).toBe(400)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toMatchObject({ statusCode: 400, code: 'BRAID_QUERY_INVALID', error: 'Bad Request' })
    }
  })

  it('answers 404 {"error":"not found"} for an unknown view', async () => {
    const res = await fetch(`${base}/single-views/nope/changes`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'not found' })
  })

  it('drops a slow client with a reason while the pipeline keeps building', async () => {
    const before = (await running.service.log.offsets(topic))[0]?.end ?? 0
    const big = 'x'.repeat(300_000)
    await running.service.ingest(topics.customers, Array.from({ length: 40 }, (_, i) => retail.customer(customerRow(200 + i, { email: `big${i}@example.com`, first_name: big }))))
    await running.service.idle()
    const slowApp = await buildApp(running.service, { logger: silentLogger(), changes: { pollIntervalMs: 20, maxBufferedBytes: 256 * 1024 } })
    try {
      const client = await open('/single-views/customer_sv/changes', { 'last-event-id': `0:${before - 1}` }, await listen(slowApp))
      client.res.pause()
      // The pipeline goes on while the client reads nothing.
      await ingestCustomers([customerRow(300, { email: 'meanwhile@example.com' })])
      const built = await running.service.store.find('customer_sv', { email: 'meanwhile@example.com' }, { limit: 1 })
      expect(built).toHaveLength(1)
      await new Promise(resolve => setTimeout(resolve, 200))
      client.res.resume()
      await waitFor(() => client.ended, 'the end of the dropped stream')
      const last = client.events[client.events.length - 1]
      expect(last?.event).toBe('dropped')
      expect(String(last?.data['reason'])).toMatch(/reads too slowly/)
      expect(client.events.filter(e => e.event === 'sv-update').length).toBeLessThan(40)
    } finally {
      await slowApp.close()
    }
  })

  it('stops polling the log when the client disconnects', async () => {
    let reads = 0
    const log = running.service.log
    const counting = wrapLog(log, { read: async (t, p, offset, limit) => { reads++; return log.read(t, p, offset, limit) } })
    const spyApp = await buildApp(withLog(running.service, counting), { logger: silentLogger(), changes: { pollIntervalMs: 10, heartbeatMs: 10 } })
    try {
      const client = await open('/single-views/customer_sv/changes', {}, await listen(spyApp))
      await waitFor(() => reads >= 3, 'the stream polling')
      client.close()
      await new Promise(resolve => setTimeout(resolve, 100))
      const settled = reads
      await new Promise(resolve => setTimeout(resolve, 200))
      expect(reads).toBe(settled)
    } finally {
      await spyApp.close()
    }
  })

  it('ends open streams with a dropped event when the server closes', async () => {
    const closing = await buildApp(running.service, { logger: silentLogger(), changes: { pollIntervalMs: 20 } })
    const client = await open('/single-views/customer_sv/changes', {}, await listen(closing))
    await closing.close()
    await waitFor(() => client.ended, 'the end of the stream')
    expect(client.events.map(e => e.event)).toEqual(['dropped'])
  })
})

describe('GET /single-views/{name}/changes of a view with updateEvents key or none', () => {
  /** The retail pipeline with customer_sv's updateEvents set, and its API listening. */
  async function serve (updateEvents: UpdateEvents): Promise<{ running: Running, app: FastifyInstance, base: string }> {
    const r = await openPipeline(await retailWithUpdateEvents(updateEvents), tempDir())
    const a = await buildApp(r.service, { logger: silentLogger(), changes: { pollIntervalMs: 20, heartbeatMs: 100 } })
    return { running: r, app: a, base: await listen(a) }
  }

  it('key: streams the operation and the key of each change, without documents, and refuses _q', async () => {
    const served = await serve('key')
    try {
      const client = await open(`/single-views/customer_sv/changes?key=${encodeURIComponent(JSON.stringify({ email: 'kay@example.com' }))}`, {}, served.base)
      const row = customerRow(400, { email: 'kay@example.com', first_name: 'Kay' })
      for (const message of [retail.customer(customerRow(401, { email: 'other@example.com' })), retail.customer(row), retail.customer({ ...row, first_name: 'Kai' }, 'u', row)]) {
        await served.running.service.ingest(topics.customers, [message])
        await served.running.service.idle()
      }
      const events = await client.waitFor(2, 'kay@example.com')
      expect(ops(events)).toEqual(['INSERT', 'UPDATE'])
      expect(client.events.filter(e => e.event === 'sv-update')).toHaveLength(2)
      for (const e of events) {
        expect(Object.keys(e.data).sort()).toEqual(['key', 'operation', 'primaryKeys', 'source', 'storageNamespace'])
      }

      const res = await fetch(`${served.base}/single-views/customer_sv/changes?_q=${encodeURIComponent(JSON.stringify({ firstName: 'Kai' }))}`)
      expect(res.status).toBe(400)
      const body = await res.json() as Doc
      expect(body).toMatchObject({ statusCode: 400, code: 'BRAID_QUERY_INVALID', details: { view: 'customer_sv', updateEvents: 'key' } })
      expect(String(body['message'])).toMatch(/updateEvents: key.*set its updateEvents to full/)
      const document = await (await fetch(`${served.base}/documentation/json`)).json() as { paths: Record<string, { get?: { description?: string } }> }
      expect(document.paths['/single-views/customer_sv/changes']?.get?.description).toContain('without the documents (`updateEvents: key`)')
    } finally {
      await served.app.close()
      await served.running.close()
    }
  })

  it('none: answers 404 (the usual body, with a message saying why there is no feed), and leaves the route out of the API document', async () => {
    const served = await serve('none')
    try {
      const res = await fetch(`${served.base}/single-views/customer_sv/changes`, { headers: { accept: 'text/event-stream' } })
      expect(res.status).toBe(404)
      const body = await res.json() as Doc
      expect(body['error']).toBe('not found')
      expect(String(body['message'])).toMatch(/^single view customer_sv publishes no change events \(updateEvents: none\).*set its updateEvents to key or full/)
      const document = await (await fetch(`${served.base}/documentation/json`)).json() as { paths: Record<string, unknown> }
      expect(Object.keys(document.paths)).toContain('/single-views/customer_sv/')
      expect(Object.keys(document.paths)).not.toContain('/single-views/customer_sv/changes')
      // The view itself is built and read as usual.
      await served.running.service.ingest(topics.customers, [retail.customer(customerRow(410, { email: 'quiet@example.com' }))])
      await served.running.service.idle()
      expect((await fetch(`${served.base}/single-views/customer_sv/count`)).status).toBe(200)
      expect(await (await fetch(`${served.base}/single-views/customer_sv/count`)).json()).toBe(1)
    } finally {
      await served.app.close()
      await served.running.close()
    }
  })
})

describe('change event ids', () => {
  it('name the event partition first, then every other partition, as last offsets read', () => {
    const cursors = new Map([[1, 7], [0, 3], [2, 0]])
    expect(formatEventId(1, cursors)).toBe('1:6,0:2,2:-1')
    expect([...parseEventId('1:6,0:2,2:-1')].sort()).toEqual([[0, 2], [1, 6], [2, -1]])
    expect(() => parseEventId('0:x')).toThrow(/Last-Event-ID/)
  })
})
