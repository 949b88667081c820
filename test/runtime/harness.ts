/**
 * Shared plumbing of the runtime, API, e2e and demo tests: temporary data directories, a pipeline
 * running on the embedded engines, polling, reading a log topic, and Debezium messages of the retail
 * example.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll } from 'vitest'
import { loadPipeline } from '../../src/config/index.ts'
import { retailTopics } from '../../src/demo/retail.ts'
import type { EventLog } from '../../src/event-log/event-log.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import type { LogRecord } from '../../src/model/log-record.ts'
import type { PipelineDefinition, UpdateEvents } from '../../src/model/single-view.ts'
import { openEngines, type Engines } from '../../src/runtime/engines.ts'
import { createService, type Service } from '../../src/runtime/service.ts'
import type { IngestMessage } from '../../src/runtime/types.ts'

export const repoRoot = resolve(import.meta.dirname, '../..')
export const retailConfig = join(repoRoot, 'examples/retail/braid.yaml')

/** The retail example with customer_sv's `updateEvents` set. */
export async function retailWithUpdateEvents (updateEvents: UpdateEvents): Promise<PipelineDefinition> {
  const pipeline = await loadPipeline(retailConfig)
  const def = pipeline.singleViews.get('customer_sv')
  if (def === undefined) throw new Error('the retail example has no customer_sv')
  def.updateEvents = updateEvents
  return pipeline
}
export const retailMia = join(repoRoot, 'examples/retail/mia')
export const runtimeFixtures = join(repoRoot, 'test/fixtures/runtime')

const dirs: string[] = []

afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A new temporary directory, removed after the test file. */
export function tempDir (prefix = 'braid-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

export interface Running {
  pipeline: PipelineDefinition
  engines: Engines
  service: Service
  /** Stops the service (when started) and closes the engines. */
  close (): Promise<void>
}

export interface OpenOptions {
  /** Start consuming (default true). */
  start?: boolean
  exclusive?: boolean
  buildBatchSize?: number
  ingestBatchSize?: number
}

/** A service on the embedded engines of `dataDir` running the pipeline at `config`. */
export async function openPipeline (config: string | PipelineDefinition, dataDir: string, options: OpenOptions = {}): Promise<Running> {
  const pipeline = typeof config === 'string' ? await loadPipeline(config) : config
  const engines = await openEngines({ dataDir, exclusive: options.exclusive ?? false })
  const service = createService({
    pipeline,
    engines,
    logger: silentLogger(),
    ...(options.buildBatchSize === undefined ? {} : { buildBatchSize: options.buildBatchSize }),
    ...(options.ingestBatchSize === undefined ? {} : { ingestBatchSize: options.ingestBatchSize })
  })
  if (options.start !== false) await service.start()
  let closed = false
  return {
    pipeline,
    engines,
    service,
    async close () {
      if (closed) return
      closed = true
      await service.stop()
      await engines.close()
    }
  }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T> (check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<Exclude<T, undefined | false | null>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false && value !== null) return value as Exclude<T, undefined | false | null>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Every record of a topic, all partitions, in (partition, offset) order. */
export async function readTopic (log: EventLog, topic: string): Promise<LogRecord[]> {
  const out: LogRecord[] = []
  for (const p of await log.offsets(topic)) {
    for (let offset = p.start; offset < p.end;) {
      const page = await log.read(topic, p.partition, offset, 1000)
      if (page.length === 0) break
      out.push(...page)
      offset = (page[page.length - 1]?.offset ?? offset) + 1
    }
  }
  return out
}

/** Records appended to a topic so far (sum of end − start over partitions). */
export async function topicSize (log: EventLog, topic: string): Promise<number> {
  let n = 0
  for (const p of await log.offsets(topic)) n += p.end - p.start
  return n
}

// ---------------------------------------------------------------- Debezium messages

let lsn = 10_000

export type DebeziumOp = 'c' | 'r' | 'u' | 'd'

/** A Debezium change event as `POST /ingest` takes it; positions (LSNs) increase across calls. */
export function debezium (key: Doc, op: DebeziumOp, before: Doc | null, after: Doc | null, position = ++lsn): IngestMessage {
  const now = Date.now()
  return { key, value: { op, before, after, source: { connector: 'postgresql', lsn: position, ts_ms: now }, ts_ms: now } }
}

/** The retail example's Debezium topics (the demo generator's names). */
export const topics = retailTopics

export interface CustomerRow {
  customer_id: number
  email: string
  first_name: string
  last_name: string
  phone: string
  tier_code: string
  created_at: number
  [field: string]: unknown
}

export function customerRow (id: number, fields: Partial<CustomerRow> = {}): CustomerRow {
  return {
    customer_id: id,
    email: `customer.${id}@example.com`,
    first_name: `First${id}`,
    last_name: `Last${id}`,
    phone: `+39 0${id}`,
    tier_code: 'bronze',
    created_at: 1_700_000_000_000 + id,
    ...fields
  }
}

export const retail = {
  customer: (row: CustomerRow, op: DebeziumOp = 'c', before: CustomerRow | null = null): IngestMessage =>
    debezium({ customer_id: row.customer_id }, op, before, op === 'd' ? null : row),
  deleteCustomer: (row: CustomerRow): IngestMessage => debezium({ customer_id: row.customer_id }, 'd', row, null),
  tier: (code: string, name: string, discountPct: number, op: DebeziumOp = 'c'): IngestMessage =>
    debezium({ tier_code: code }, op, null, { tier_code: code, name, discount_pct: discountPct }),
  preferences: (email: string, newsletter: boolean, channels: Doc[] = []): IngestMessage =>
    debezium({ email }, 'c', null, { email, newsletter: String(newsletter), channels: JSON.stringify(channels), updated_at: 1_700_000_000_000 }),
  order: (orderId: number, customerId: number, total: string, status = 'placed'): IngestMessage =>
    debezium({ order_id: orderId }, 'c', null, { order_id: orderId, customer_id: customerId, status, total, currency: 'EUR', placed_at: 1_700_000_000_000 }),
  line: (orderId: number, lineNo: number, sku: string, quantity: number, unitPrice: number): IngestMessage =>
    debezium({ order_id: orderId, line_no: lineNo }, 'c', null, { order_id: orderId, line_no: lineNo, sku, quantity, unit_price: unitPrice })
}

/** The stored view of a customer (by email), or undefined. */
export async function customerView (service: Service, email: string, states: string[] = ['PUBLIC']): Promise<Doc | undefined> {
  const docs = await service.store.find('customer_sv', { email, __STATE__: { $in: states } }, { limit: 1 })
  return docs[0]
}
