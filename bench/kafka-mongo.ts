/**
 * `npm run bench -- --engine kafka-mongo`: the retail pipeline on the production engines (Apache Kafka
 * event log, MongoDB-wire store), with one worker and then two, and the raw bulk-upsert ceiling of
 * the same store. Events are appended to Kafka by a producer of their own (as a source connector
 * would) while the workers consume. Topics, consumer groups and the database are unique per run and
 * removed at the end. See bench/README.md.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { Admin } from '@platformatic/kafka'
import { MongoClient } from 'mongodb'
import { loadPipeline } from '../src/config/index.ts'
import { createKafkaEventLog } from '../src/event-log/kafka/index.ts'
import type { KafkaEventLogOptions } from '../src/event-log/kafka/index.ts'
import type { Logger } from '../src/logger.ts'
import type { Doc } from '../src/model/document.ts'
import { keyId } from '../src/model/key.ts'
import type { AppendRecord } from '../src/model/log-record.ts'
import type { PipelineDefinition } from '../src/model/single-view.ts'
import { tombstoneCollectionSpec } from '../src/projections/updater.ts'
import { pipelineCollections } from '../src/runtime/collections.ts'
import { openEngines, type Engines } from '../src/runtime/engines.ts'
import { createService, type Service } from '../src/runtime/service.ts'
import { createMongoStore } from '../src/storage/mongodb/index.ts'
import type { IngestMessage } from '../src/runtime/types.ts'
import { RetailData, type TopicBatch } from './generators.ts'
import { countEvents, Meter, sleep, type Measured } from './harness.ts'
import type { BenchResults } from './report.ts'

/** Sizes per scale: FerretDB 1.24 costs milliseconds per document written (docs/mongodb.md), so they are small. */
export const kafkaMongoScales = {
  small: { views: 500, steady: 1_000 },
  default: { views: 1_000, steady: 2_000 },
  large: { views: 5_000, steady: 10_000 }
} as const

/** One measured phase: events appended while `workers` services consume, until every view is built. */
export interface PhaseFigures {
  workers: number
  events: number
  /** Producer appends (to Kafka, through the EventLog), events/s. */
  appendEventsPerS: number
  /** Events ÷ time from the first append until every worker is idle (views built, queue and outbox empty). */
  endToEndEventsPerS: number
  seconds: number
  /** Builds (written + unchanged) over all workers, and per second of the phase. */
  rebuilds: number
  rebuildsPerS: number
  viewsWritten: number
  /** Builds per worker, to see that both took part. */
  rebuildsPerWorker: number[]
  /** CPU of this Node process (producer + every worker) over the phase, % of one core. */
  cpuPct: number
  /** CPU of the store server (FerretDB) over the phase, % of one core, when its process was found on this machine. */
  storeServerCpuPct: number | undefined
  peakRssMiB: number
}

export interface KafkaMongoResults {
  meta: BenchResults['meta'] & { store: string, kafka: string, loadAverage: number[] }
  views: number
  load: PhaseFigures
  oneWorker: PhaseFigures
  /** Undefined when the phase failed or stalled (see twoWorkersError). */
  twoWorkers: PhaseFigures | undefined
  twoWorkersError: string | undefined
  /** The same view documents bulk-written into a fresh database of the same server, 1000 per write. */
  limit: { docs: number, avgDocBytes: number, insertDocsPerS: number, replaceDocsPerS: number, writeStrategy: string, server: string }
  ratios: { twoOverOne: number, rebuildsOverLimit: number, rebuildsOverLimitTwo: number }
  targets: Array<{ figure: string, target: string, value: string, met: boolean }>
  notes: string[]
}

export interface KafkaMongoContext {
  root: string
  work: string
  logger: Logger
  log: (line: string) => void
  seed: number
  scale: keyof typeof kafkaMongoScales
  meta: BenchResults['meta']
}

/** The production servers, from the same variables as the tests; no fallback. */
export function productionServers (env: NodeJS.ProcessEnv = process.env): { brokers: string[], mongodbUrl: string } {
  const missing: string[] = []
  const brokers = (env['BRAID_KAFKA_BROKERS'] ?? '').split(',').map(b => b.trim()).filter(b => b !== '')
  if (brokers.length === 0) missing.push('BRAID_KAFKA_BROKERS (host:port[,host:port])')
  const mongodbUrl = (env['BRAID_MONGODB_URL'] ?? '').trim()
  if (mongodbUrl === '') missing.push('BRAID_MONGODB_URL (mongodb://host:port/)')
  if (missing.length > 0) {
    throw new Error(`--engine kafka-mongo needs ${missing.join(' and ')}; start the servers with ` +
      '`scripts/services.sh up kafka ferretdb` then `eval "$(scripts/services.sh env kafka ferretdb)"`, or export the variables to point at your own')
  }
  return { brokers, mongodbUrl }
}

function databaseUrl (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

interface RunNames {
  prefix: string
  database: string
  brokers: string[]
  mongodbUrl: string
}

function kafkaOptions (names: RunNames): KafkaEventLogOptions {
  return { brokers: names.brokers, autoCreateTopics: true, defaultPartitions: 6, replicationFactor: 1 }
}

/** The retail pipeline with this run's topics, as test/e2e/production-harness.ts does. */
async function runPipeline (root: string, names: RunNames): Promise<PipelineDefinition> {
  const pipeline = await loadPipeline(join(root, 'examples/retail/braid.yaml'))
  for (const p of pipeline.projections.values()) p.topic = names.prefix + p.topic
  for (const v of pipeline.singleViews.values()) v.svUpdateTopic = `${names.prefix}${v.name}.sv-update`
  pipeline.engines = { ...pipeline.engines, deadLetterTopic: `${names.prefix}dead-letters` }
  return pipeline
}

function runTopics (pipeline: PipelineDefinition): string[] {
  return [...new Set([
    ...[...pipeline.projections.values()].map(p => p.topic),
    ...[...pipeline.singleViews.values()].map(v => v.svUpdateTopic),
    pipeline.engines?.deadLetterTopic ?? ''
  ])].filter(t => t !== '')
}

function toRecord (m: IngestMessage): AppendRecord {
  const text = (v: unknown): string | null => v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)
  return { key: text(m.key), value: text(m.value), timestamp: typeof m.timestamp === 'number' ? m.timestamp : Date.now(), headers: m.headers ?? {} }
}

/** CPU seconds (user + system) of a process, from /proc; undefined off Linux or when it is not readable. */
function processCpuS (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

/** The FerretDB process serving `url` on this machine (its --listen-addr names the port), if any. */
function findStoreServer (url: string): number | undefined {
  const port = new URL(url).port
  try {
    for (const entry of readdirSync('/proc').filter(d => /^\d+$/.test(d))) {
      let cmd: string[]
      try {
        cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      } catch {
        continue
      }
      if (cmd.some(a => a.endsWith('ferretdb')) && cmd.some(a => a.startsWith('--listen-addr=') && a.endsWith(`:${port}`))) return Number(entry)
    }
  } catch {}
  return undefined
}

/** A phase that has not drained after this long is reported as not finished (FerretDB can stall, docs/mongodb.md). */
const phaseTimeoutMs = 15 * 60_000
/** The 2-worker phase (start included) is reported as stalled after this long: it repeats the 1-worker workload. */
const twoWorkersTimeoutMs = 4 * 60_000

/** Resolves with the promise, or undefined after `ms` (the promise keeps running). */
async function within<T> (promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<undefined>(resolve => { timer = setTimeout(() => resolve(undefined), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

interface Worker {
  engines: Engines
  service: Service
}

async function startWorkers (n: number, pipeline: PipelineDefinition, names: RunNames, ctx: KafkaMongoContext, tag: string): Promise<Worker[]> {
  const workers: Worker[] = []
  for (let i = 0; i < n; i++) {
    const engines = await openEngines({
      dataDir: join(ctx.work, `${tag}-${i}`),
      kafka: kafkaOptions(names),
      mongodb: { url: names.mongodbUrl, database: names.database }
    })
    const service = createService({ pipeline, engines, logger: ctx.logger, groupPrefix: names.prefix, refreshMs: 500 })
    workers.push({ engines, service })
  }
  // One after the other: concurrent createIndexes on new collections can crash a FerretDB connection (docs/mongodb.md).
  for (const w of workers) await w.service.start()
  // Every worker sees the others (queue partitions split) before the events come.
  const deadline = Date.now() + 60_000
  for (;;) {
    const seen = await Promise.all(workers.map(async w => (await w.service.status()).workers?.length ?? 0))
    if (seen.every(s => s === n)) break
    if (Date.now() > deadline) throw new Error(`the ${n} workers did not see each other within 60 s (they see ${seen.join(', ')})`)
    await sleep(100)
  }
  // Let the Kafka consumer group settle (a second member makes the first rejoin).
  if (n > 1) await sleep(3_000)
  return workers
}

async function stopWorkers (workers: Worker[]): Promise<void> {
  // Together: a worker stopped alone makes the others rejoin the consumer group before they can stop.
  await Promise.all(workers.map(async w => w.service.stop()))
  await Promise.all(workers.map(async w => w.engines.close()))
}

/** Appends `batches` through a producer EventLog while the workers consume; times until all of them are idle. */
async function runPhase (workers: Worker[], producer: ReturnType<typeof createKafkaEventLog>, names: RunNames, batches: readonly TopicBatch[], storeServer: number | undefined): Promise<PhaseFigures> {
  const events = countEvents(batches)
  const serverCpu0 = storeServer === undefined ? undefined : processCpuS(storeServer)
  const m = new Meter()
  const a = new Meter()
  for (const b of batches) await producer.append(names.prefix + b.topic, b.messages.map(toRecord))
  const append: Measured = a.stop()
  for (const w of workers) await w.service.idle(phaseTimeoutMs)
  const run = m.stop()
  const serverCpu1 = storeServer === undefined ? undefined : processCpuS(storeServer)
  const perWorker: number[] = []
  let written = 0
  for (const w of workers) {
    const v = (await w.service.status()).singleViews['customer_sv']
    perWorker.push((v?.written ?? 0) + (v?.unchanged ?? 0))
    written += v?.written ?? 0
  }
  const rebuilds = perWorker.reduce((s, x) => s + x, 0)
  const seconds = run.wallMs / 1000
  return {
    workers: workers.length,
    events,
    appendEventsPerS: events / (append.wallMs / 1000),
    endToEndEventsPerS: events / seconds,
    seconds,
    rebuilds,
    rebuildsPerS: rebuilds / seconds,
    viewsWritten: written,
    rebuildsPerWorker: perWorker,
    cpuPct: run.cpuMs / run.wallMs * 100,
    storeServerCpuPct: serverCpu0 === undefined || serverCpu1 === undefined ? undefined : (serverCpu1 - serverCpu0) / seconds * 100,
    peakRssMiB: run.peakRssMiB
  }
}

/** Bulk writes of the view documents into a fresh database of the same server, 1000 per write: insert, then replace. */
async function rawUpsertCeiling (source: Engines['store'], pipeline: PipelineDefinition, collection: string, names: RunNames): Promise<KafkaMongoResults['limit']> {
  const docs: Array<{ collection: string, id: string, doc: Doc }> = []
  let bytes = 0
  for await (const page of source.scan(collection, {})) {
    for (const d of page) {
      docs.push({ collection, id: keyId(d, ['email']), doc: d })
      bytes += JSON.stringify(d).length
    }
  }
  const store = await createMongoStore({ url: names.mongodbUrl, database: `${names.database}_limit` })
  try {
    await store.ensureCollections(pipelineCollections(pipeline, [tombstoneCollectionSpec]))
    const pass = async (): Promise<number> => {
      const t0 = performance.now()
      for (let i = 0; i < docs.length; i += 1000) await store.write({ put: docs.slice(i, i + 1000) })
      return docs.length / ((performance.now() - t0) / 1000)
    }
    const insertDocsPerS = await pass()
    const replaceDocsPerS = await pass()
    return { docs: docs.length, avgDocBytes: bytes / Math.max(1, docs.length), insertDocsPerS, replaceDocsPerS, writeStrategy: store.writeStrategy, server: `${store.server.kind} ${store.server.version}` }
  } finally {
    await store.close()
  }
}

async function cleanUp (names: RunNames, topics: string[], log: (line: string) => void): Promise<void> {
  const client = new MongoClient(names.mongodbUrl, { serverSelectionTimeoutMS: 10_000 })
  try {
    for (const db of [names.database, `${names.database}_limit`]) await client.db(db).dropDatabase()
  } catch (err) {
    log(`cleanup: could not drop databases ${names.database}{,_limit}: ${(err as Error).message}`)
  } finally {
    await client.close()
  }
  const admin = new Admin({ clientId: 'braid-bench-cleanup', bootstrapBrokers: names.brokers })
  try {
    await admin.deleteTopics({ topics })
    await admin.deleteGroups({ groups: [`${names.prefix}projections`, `${names.prefix}chaining`, `${names.prefix}commands`] }).catch(() => {})
  } catch (err) {
    log(`cleanup: could not delete topics ${names.prefix}*: ${(err as Error).message}`)
  } finally {
    await admin.close()
  }
}

export async function runKafkaMongo (ctx: KafkaMongoContext): Promise<KafkaMongoResults> {
  const servers = productionServers()
  const run = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  const names: RunNames = { prefix: `bench.${run}.`, database: `braid_bench_${run}`, brokers: servers.brokers, mongodbUrl: databaseUrl(servers.mongodbUrl, `braid_bench_${run}`) }
  const pipeline = await runPipeline(ctx.root, names)
  const topics = runTopics(pipeline)
  const sizes = kafkaMongoScales[ctx.scale]
  const data = new RetailData(ctx.seed)
  const storeServer = findStoreServer(servers.mongodbUrl)
  const producer = createKafkaEventLog(kafkaOptions(names))
  const notes: string[] = []
  ctx.log(`kafka-mongo: topics ${names.prefix}*, database ${names.database}; FerretDB process ${storeServer ?? 'not found on this machine (its CPU is not reported)'}`)
  try {
    await producer.ensureTopics(topics.map(name => ({ name })))

    ctx.log(`${sizes.views} views: initial load, 1 worker`)
    let workers = await startWorkers(1, pipeline, names, ctx, 'load')
    const load = await runPhase(workers, producer, names, data.snapshot(sizes.views), storeServer)
    const viewCollection = pipeline.singleViews.get('customer_sv')?.collection ?? 'customer_sv'
    const views = await workers[0]?.engines.store.count(viewCollection, {}) ?? 0
    ctx.log(`  ${load.events} rows, ${views} views in ${load.seconds.toFixed(1)} s (${Math.round(load.endToEndEventsPerS)} rows/s)`)
    await stopWorkers(workers)

    ctx.log(`${sizes.views} views: steady retail traffic, ${sizes.steady} events, 1 worker`)
    workers = await startWorkers(1, pipeline, names, ctx, 'one')
    const oneWorker = await runPhase(workers, producer, names, data.steady(sizes.steady), storeServer)
    ctx.log(`  ${Math.round(oneWorker.endToEndEventsPerS)} events/s end to end, ${Math.round(oneWorker.rebuildsPerS)} rebuilds/s`)

    ctx.log(`${sizes.views} views: raw bulk upsert ceiling of the same server`)
    const limit = await rawUpsertCeiling(workers[0]?.engines.store as Engines['store'], pipeline, viewCollection, names)
    ctx.log(`  ${Math.round(limit.insertDocsPerS)} docs/s insert, ${Math.round(limit.replaceDocsPerS)} docs/s replace (${limit.writeStrategy})`)
    await stopWorkers(workers)

    ctx.log(`${sizes.views} views: steady retail traffic, ${sizes.steady} more events, 2 workers`)
    let twoWorkers: PhaseFigures | undefined
    let twoWorkersError: string | undefined
    workers = []
    try {
      const phase = (async () => {
        workers = await startWorkers(2, pipeline, names, ctx, 'two')
        ctx.log('  both workers see each other; appending')
        return await runPhase(workers, producer, names, data.steady(sizes.steady), storeServer)
      })()
      phase.catch(() => {})
      twoWorkers = await within(phase, twoWorkersTimeoutMs)
      if (twoWorkers === undefined) twoWorkersError = `did not finish within ${twoWorkersTimeoutMs / 1000} s`
    } catch (err) {
      twoWorkersError = (err as Error).message
    }
    if (twoWorkers !== undefined) {
      ctx.log(`  ${Math.round(twoWorkers.endToEndEventsPerS)} events/s end to end, ${Math.round(twoWorkers.rebuildsPerS)} rebuilds/s (per worker: ${twoWorkers.rebuildsPerWorker.join(', ')})`)
      const finalViews = await within(workers[0]?.engines.store.count(viewCollection, {}) ?? Promise.resolve(0), 60_000)
      if (finalViews !== data.customers.length) notes.push(`after the 2-worker phase the store holds ${finalViews ?? 'an unknown number of'} views for ${data.customers.length} customers`)
    } else {
      ctx.log(`  2 workers: ${twoWorkersError ?? ''}`)
      notes.push(`the 2-worker phase failed: ${twoWorkersError ?? ''}`)
    }
    if (await within(stopWorkers(workers), 60_000) === undefined && workers.length > 0) notes.push('the 2 workers did not stop within 60 s')

    const twoOverOne = twoWorkers === undefined ? Number.NaN : twoWorkers.endToEndEventsPerS / oneWorker.endToEndEventsPerS
    const best = Math.max(oneWorker.endToEndEventsPerS, twoWorkers?.endToEndEventsPerS ?? 0)
    return {
      meta: { ...ctx.meta, store: `${limit.server} at ${new URL(servers.mongodbUrl).host}`, kafka: servers.brokers.join(','), loadAverage: loadavg().map(x => Math.round(x * 100) / 100) },
      views,
      load,
      oneWorker,
      twoWorkers,
      twoWorkersError,
      limit,
      ratios: { twoOverOne, rebuildsOverLimit: oneWorker.rebuildsPerS / limit.replaceDocsPerS, rebuildsOverLimitTwo: twoWorkers === undefined ? Number.NaN : twoWorkers.rebuildsPerS / limit.replaceDocsPerS },
      targets: [
        { figure: 'retail events/s end to end, Kafka + store', target: '≥ 5,000', value: Math.round(best).toLocaleString('en-US'), met: best >= 5_000 },
        { figure: 'two workers ÷ one worker', target: '≥ 1.6×', value: Number.isFinite(twoOverOne) ? `${twoOverOne.toFixed(2)}×` : 'not measured', met: twoOverOne >= 1.6 }
      ],
      notes
    }
  } finally {
    await producer.close().catch(() => {})
    await cleanUp(names, topics, ctx.log)
    rmSync(ctx.work, { recursive: true, force: true })
  }
}

const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a'
const pct = (x: number): string => `${fmt(x * 100, 1)}%`
const cpu = (x: number | undefined): string => x === undefined ? 'n/a' : `${fmt(x)}%`

export function kafkaMongoMarkdown (r: KafkaMongoResults): string {
  const out: string[] = []
  out.push(`# braid benchmark — kafka-mongo, scale ${r.meta.scale}, ${r.meta.date}`)
  out.push('')
  out.push(`\`${r.meta.command}\` — Node ${r.meta.node}, ${r.meta.cpus}, ${r.meta.memoryGiB} GiB, ${r.meta.platform}; seed ${r.meta.seed}; ${fmt(r.meta.totalS)} s in all; load average at the end ${r.meta.loadAverage.join(' / ')}.`)
  out.push(`Store: ${r.meta.store}. Event log: Apache Kafka at ${r.meta.kafka} (6 partitions per topic). Everything on this machine, over loopback.`)
  out.push('')
  out.push('## Targets')
  out.push('')
  out.push('| figure | target | measured | |')
  out.push('|---|---|---:|---|')
  for (const t of r.targets) out.push(`| ${t.figure} | ${t.target} | ${t.value} | ${t.met ? 'met' : '**missed**'} |`)
  out.push('')
  out.push(`## Phases (${fmt(r.views)} views)`)
  out.push('')
  out.push('| phase | workers | events | append events/s | end-to-end events/s | seconds | rebuilds (per worker) | rebuilds/s | braid process CPU | store server CPU | peak RSS |')
  out.push('|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|')
  const row = (name: string, p: PhaseFigures): string =>
    `| ${name} | ${p.workers} | ${fmt(p.events)} | ${fmt(p.appendEventsPerS)} | ${fmt(p.endToEndEventsPerS)} | ${fmt(p.seconds, 1)} | ${fmt(p.rebuilds)} (${p.rebuildsPerWorker.map(x => fmt(x)).join(' + ')}) | ${fmt(p.rebuildsPerS)} | ${cpu(p.cpuPct)} | ${cpu(p.storeServerCpuPct)} | ${fmt(p.peakRssMiB)} MiB |`
  out.push(row('initial load', r.load))
  out.push(row('steady retail', r.oneWorker))
  if (r.twoWorkers !== undefined) out.push(row('steady retail', r.twoWorkers))
  else out.push(`| steady retail | 2 | | | not finished: ${esc(r.twoWorkersError ?? '')} | | | | | | |`)
  out.push('')
  out.push(`Two workers ÷ one: **${fmt(r.ratios.twoOverOne, 2)}×** end to end.`)
  out.push('')
  out.push('## Raw bulk-upsert ceiling (same server)')
  out.push('')
  out.push('| figure | value |')
  out.push('|---|---:|')
  out.push(`| view documents written (avg ${fmt(r.limit.avgDocBytes)} bytes), \`store.write({ put })\` 1000 per write, strategy \`${r.limit.writeStrategy}\` | ${fmt(r.limit.docs)} |`)
  out.push(`| insert, docs/s | ${fmt(r.limit.insertDocsPerS)} |`)
  out.push(`| replace, docs/s | ${fmt(r.limit.replaceDocsPerS)} |`)
  out.push(`| steady rebuilds/s ÷ replace docs/s, 1 worker | ${pct(r.ratios.rebuildsOverLimit)} |`)
  out.push(`| steady rebuilds/s ÷ replace docs/s, 2 workers | ${pct(r.ratios.rebuildsOverLimitTwo)} |`)
  out.push('')
  if (r.notes.length > 0) {
    out.push('## Notes')
    out.push('')
    for (const n of r.notes) out.push(`- ${n}`)
    out.push('')
  }
  return out.join('\n')
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

/** Bars: end-to-end events/s (1 and 2 workers, target), rebuilds/s against the raw-upsert ceiling. */
export function kafkaMongoSvg (r: KafkaMongoResults): string {
  const w = 760
  const h = 300
  const panel = (x0: number, title: string, bars: Array<{ label: string, value: number, colour: string }>, line?: { label: string, value: number }): string => {
    const pw = 330
    const ph = 200
    const top = 50
    const max = Math.max(...bars.map(b => b.value), line?.value ?? 0) * 1.1
    const bw = pw / bars.length * 0.6
    const parts: string[] = [`<text x="${x0 + pw / 2}" y="30" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`]
    parts.push(`<line x1="${x0}" y1="${top + ph}" x2="${x0 + pw}" y2="${top + ph}" stroke="#333"/>`)
    bars.forEach((b, i) => {
      const bh = b.value / max * ph
      const x = x0 + (i + 0.2) * pw / bars.length
      parts.push(`<rect x="${x.toFixed(1)}" y="${(top + ph - bh).toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="${b.colour}"/>`)
      parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${(top + ph - bh - 5).toFixed(1)}" text-anchor="middle" font-size="12">${fmt(b.value)}</text>`)
      parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${top + ph + 18}" text-anchor="middle" font-size="12">${esc(b.label)}</text>`)
    })
    if (line !== undefined) {
      const y = top + ph - line.value / max * ph
      parts.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x0 + pw}" y2="${y.toFixed(1)}" stroke="#c00" stroke-dasharray="6 4"/>`)
      parts.push(`<text x="${x0 + pw}" y="${(y - 5).toFixed(1)}" text-anchor="end" font-size="12" fill="#c00">${esc(line.label)}</text>`)
    }
    return parts.join('\n')
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    panel(40, `retail events/s end to end (${fmt(r.views)} views)`, [
      { label: '1 worker', value: r.oneWorker.endToEndEventsPerS, colour: '#4a7ebb' },
      { label: '2 workers', value: r.twoWorkers?.endToEndEventsPerS ?? 0, colour: '#2f5f9a' }
    ], { label: 'target 5,000', value: 5_000 }),
    panel(410, 'view rebuilds/s vs raw bulk upsert', [
      { label: '1 worker', value: r.oneWorker.rebuildsPerS, colour: '#5a9e5a' },
      { label: '2 workers', value: r.twoWorkers?.rebuildsPerS ?? 0, colour: '#3c7a3c' },
      { label: 'replace docs/s', value: r.limit.replaceDocsPerS, colour: '#999' },
      { label: 'insert docs/s', value: r.limit.insertDocsPerS, colour: '#bbb' }
    ]),
    `<text x="${w / 2}" y="${h - 12}" text-anchor="middle" font-size="11" fill="#555">${esc(`${r.meta.store}; Kafka ${r.meta.kafka}; ${r.meta.date}; ${r.meta.cpus}`)}</text>`,
    '</svg>',
    ''
  ].join('\n')
}
