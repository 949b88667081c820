/**
 * Replays a delivery plan against the braid service (embedded by default, or Kafka + MongoDB; with
 * restarts on the same data), then reads back what braid holds; and computes what it should hold
 * from the history.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../src/logger.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import { SystemCollection } from '../../src/runtime/collections.ts'
import { openEngines, type Engines } from '../../src/runtime/engines.ts'
import { verifyViews, type Difference } from '../../src/runtime/maintenance.ts'
import { createService, type Service } from '../../src/runtime/service.ts'
import type { Store } from '../../src/storage/store.ts'
import type { Item, ModelProjection, Row, SourceDb, TableSpec } from './cdc-history.ts'
import { expectedTables, mapRow } from './cdc-history.ts'

/** A schema under test: its source tables, the reference mapping and the reference aggregator. */
export interface SchemaUnderTest {
  name: string
  tables: TableSpec[]
  projections: ModelProjection[]
  /** Key fields of each view (for a stable order of the compared lists). */
  viewKeys: Record<string, string[]>
  /** The expected views (PUBLIC ones, without metadata) from the expected projections (by table name). */
  expectedViews (projections: Map<string, Row[]>): Map<string, Row[]>
}

/** What braid holds after quiescence. */
export interface Observed {
  /** PUBLIC projection records by collection, mapped fields only. */
  projections: Map<string, Row[]>
  /** PUBLIC views by view name, as the read path returns them, metadata removed. */
  views: Map<string, Row[]>
  /** `verifyViews` differences by view name. */
  differences: Map<string, Difference[]>
  deadLetters: number
  svErrors: Row[]
}

export interface Expected {
  /** The source tables by last write per key (by LSN); must equal the source database itself. */
  tables: Map<string, Row[]>
  projections: Map<string, Row[]>
  views: Map<string, Row[]>
  deadLetters: number
}

const projectionMetadata = new Set(['_id', '__STATE__', 'createdAt', 'updatedAt', 'timestamp', '__internal__counter', '__internal__counterType', '__internal__kafkaInfo'])
const viewMetadata = new Set(['_id', '__STATE__', 'createdAt', 'updatedAt'])
const idleTimeoutMs = 20_000
/** Kafka + FerretDB are much slower than the embedded engines (docs/mongodb.md). */
const productionIdleTimeoutMs = 120_000

/** Temporary data directories, removed by `removeAll` (afterEach/afterAll). */
export class TempDirs {
  readonly #dirs: string[] = []

  make (): string {
    const dir = mkdtempSync(join(tmpdir(), 'braid-convergence-'))
    this.#dirs.push(dir)
    return dir
  }

  removeAll (): void {
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}

/** A canonical text of a value (object keys sorted), to order and compare documents. */
export function canonical (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map(k => `${JSON.stringify(k)}:${canonical((value as Row)[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'undefined'
}

/** Documents in a stable order: by the given fields, then by content. */
export function sorted (docs: readonly Row[], fields: readonly string[] = []): Row[] {
  const keyOf = (d: Row): string => canonical(fields.map(f => d[f] ?? null)) + canonical(d)
  return [...docs].sort((a, b) => {
    const x = keyOf(a)
    const y = keyOf(b)
    return x < y ? -1 : x > y ? 1 : 0
  })
}

function strip (doc: Row, metadata: ReadonlySet<string>): Row {
  const out: Row = {}
  for (const [k, v] of Object.entries(doc)) if (!metadata.has(k)) out[k] = v
  return out
}

/** What braid should hold after the deliveries. */
export function expectations (schema: SchemaUnderTest, db: SourceDb, items: readonly Item[]): Expected {
  const tables = expectedTables(db, items)
  const byTable = new Map<string, Row[]>()
  const projections = new Map<string, Row[]>()
  for (const p of schema.projections) {
    const rows = (tables.get(p.table) ?? []).map(r => mapRow(p, r))
    byTable.set(p.table, rows)
    projections.set(p.collection, sorted(rows))
  }
  const views = new Map<string, Row[]>()
  for (const [name, docs] of schema.expectedViews(byTable)) views.set(name, sorted(docs, schema.viewKeys[name] ?? []))
  const deadLetters = items.filter(i => i.kind === 'raw' && i.deadLetter).length
  return { tables, projections, views, deadLetters }
}

/** The source database's own final rows, per table, in a stable order (to check the model). */
export function sourceTables (schema: SchemaUnderTest, db: SourceDb): Map<string, Row[]> {
  return new Map(schema.tables.map(t => [t.name, sorted(db.rows(t.name), t.key)]))
}

/** The same tables as `sourceTables` orders them. */
export function sortedTables (schema: SchemaUnderTest, tables: Map<string, Row[]>): Map<string, Row[]> {
  return new Map(schema.tables.map(t => [t.name, sorted(tables.get(t.name) ?? [], t.key)]))
}

interface Running {
  engines: Engines
  service: Service
  closed: boolean
}

/**
 * The store as a networked one behaves: every call waits before and after it runs (an event-loop
 * turn, or a few milliseconds of jitter), so that the projection stage and the view stage interleave
 * between their reads and writes.
 */
export function withLatency (store: Store, latency: Latency, random: () => number): Store {
  const wait = async (): Promise<void> => latency === 'jitter'
    ? new Promise(resolve => setTimeout(resolve, Math.floor(random() * 3)))
    : new Promise(resolve => setImmediate(resolve))
  const slow = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    await wait()
    const result = await fn(...args)
    await wait()
    return result
  }
  return {
    kind: store.kind,
    ensureCollections: slow(store.ensureCollections.bind(store)),
    getMany: slow(store.getMany.bind(store)),
    find: slow(store.find.bind(store)),
    count: slow(store.count.bind(store)),
    scan: store.scan.bind(store),
    write: slow(store.write.bind(store)),
    claimDue: slow(store.claimDue.bind(store)),
    releaseClaims: slow(store.releaseClaims.bind(store)),
    queueDepth: slow(store.queueDepth.bind(store)),
    getMeta: slow(store.getMeta.bind(store)),
    outboxPage: slow(store.outboxPage.bind(store)),
    outboxSize: slow(store.outboxSize.bind(store)),
    close: store.close.bind(store)
  }
}

export type Latency = 'none' | 'turns' | 'jitter'

/** Other engines than the embedded ones of the data directory (Kafka + MongoDB), with the names of one run. */
export interface ReplayEngines {
  open (dataDir: string): Promise<Engines>
  /** Prefix of the run's consumer groups. */
  groupPrefix: string
  /** The run's name of a topic of the history. */
  topic (name: string): string
}

export interface ReplayOptions {
  /** How the service's store delays its calls (see withLatency). */
  latency: Latency
  /** One event-loop turn between appends, or none. */
  pace: 'turns' | 'burst'
  /** Seed of the jitter. */
  seed: number
  /** Default: the embedded engines of the data directory. */
  engines?: ReplayEngines
}

/** A small deterministic generator (mulberry32). */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function open (pipeline: PipelineDefinition, dataDir: string, options: ReplayOptions): Promise<Running> {
  const engines = options.engines === undefined ? await openEngines({ dataDir }) : await options.engines.open(dataDir)
  const store = options.latency === 'none' ? engines.store : withLatency(engines.store, options.latency, prng(options.seed))
  const service = createService({
    pipeline,
    engines: { store, log: engines.log },
    logger: silentLogger(),
    ingestBatchSize: 7,
    buildBatchSize: 5,
    ...(options.engines === undefined ? {} : { groupPrefix: options.engines.groupPrefix })
  })
  await service.start()
  return { engines, service, closed: false }
}

async function close (running: Running): Promise<void> {
  if (running.closed) return
  running.closed = true
  await running.service.stop()
  await running.engines.close()
}

/**
 * Appends the items in order (consecutive messages of one topic in one append, at most 8), obeying
 * the barriers; then waits for quiescence and reads everything back.
 */
export async function replay (pipeline: PipelineDefinition, items: readonly Item[], dataDir: string, options: ReplayOptions): Promise<Observed> {
  let running = await open(pipeline, dataDir, options)
  let batch: { topic: string, items: Array<Exclude<Item, { kind: 'barrier' }>> } | undefined
  const flush = async (): Promise<void> => {
    if (batch === undefined) return
    const { items: list } = batch
    const topic = options.engines?.topic(batch.topic) ?? batch.topic
    batch = undefined
    // paced: one event-loop turn per append, the stages consume and build while the history arrives;
    // burst: appends back to back, every topic has a backlog when the stages get to run
    if (options.pace === 'turns') await new Promise(resolve => setImmediate(resolve))
    if (list.every(i => i.kind === 'message')) {
      await running.service.ingest(topic, list.map(i => ({ key: i.key, value: i.value })))
      return
    }
    // Malformed messages cannot go through ingest (it refuses the whole request): append them as
    // a producer writing to the topic directly would, among well-formed ones.
    await running.engines.log.append(topic, list.map(i => i.kind === 'raw'
      ? { key: i.key, value: i.value, timestamp: Date.now() }
      : { key: JSON.stringify(i.key), value: JSON.stringify(i.value), timestamp: Date.now() }))
  }
  try {
    for (const item of items) {
      if (item.kind === 'barrier') {
        await flush()
        if (item.action === 'idle' || item.action === 'restart') await running.service.idle(options.engines === undefined ? idleTimeoutMs : productionIdleTimeoutMs)
        if (item.action === 'restart' || item.action === 'restart-now') {
          await close(running)
          running = await open(pipeline, dataDir, options)
        }
        continue
      }
      if (batch !== undefined && (batch.topic !== item.topic || batch.items.length >= 8)) await flush()
      if (batch === undefined) batch = { topic: item.topic, items: [] }
      batch.items.push(item)
    }
    await flush()
    await running.service.idle(options.engines === undefined ? idleTimeoutMs : productionIdleTimeoutMs)
    return await observe(pipeline, running.engines)
  } finally {
    await close(running)
  }
}

async function observe (pipeline: PipelineDefinition, engines: Engines): Promise<Observed> {
  const { store, log } = engines
  const projections = new Map<string, Row[]>()
  for (const p of pipeline.projections.values()) {
    projections.set(p.collection, sorted((await store.find(p.collection, { __STATE__: 'PUBLIC' })).map(d => strip(d, projectionMetadata))))
  }
  const views = new Map<string, Row[]>()
  const differences = new Map<string, Difference[]>()
  for (const v of pipeline.singleViews.values()) {
    views.set(v.name, sorted((await store.find(v.collection, { __STATE__: 'PUBLIC' })).map(d => strip(d, viewMetadata)), Object.keys(v.key)))
    differences.set(v.name, (await verifyViews({ pipeline, store, log, logger: silentLogger() }, v.name)).differences)
  }
  return {
    projections,
    views,
    differences,
    deadLetters: await store.count(SystemCollection.deadLetters, {}),
    svErrors: await store.find(SystemCollection.svErrors, {})
  }
}
