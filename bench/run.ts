/**
 * `npm run bench`: braid's throughput, freshness and scaling on the retail pipeline, with the
 * physical limit and the naive way measured in the same run. See bench/README.md.
 * @module
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { loadPipeline } from '../src/config/index.ts'
import { silentLogger } from '../src/logger.ts'
import type { Doc } from '../src/model/document.ts'
import { keyId } from '../src/model/key.ts'
import type { PipelineDefinition, UpdateEvents } from '../src/model/single-view.ts'
import { pipelineCollections } from '../src/runtime/collections.ts'
import { openEngines } from '../src/runtime/engines.ts'
import { tombstoneCollectionSpec } from '../src/projections/updater.ts'
import { stableStringify } from '../src/single-view/values.ts'
import { createEmbeddedEventLog } from '../src/event-log/embedded/index.ts'
import { createEmbeddedStore } from '../src/storage/embedded/index.ts'
import type { Store } from '../src/storage/store.ts'
import { parseArgs, scales, usage, UsageError, type BenchArgs } from './args.ts'
import { RetailData, type TopicBatch } from './generators.ts'
import { Meter, percentile, profiled, runBacklog, runPaced, runStaged, type BacklogResult, type Env, type Measured, type StagedResult } from './harness.ts'
import { kafkaMongoMarkdown, kafkaMongoSvg, productionServers, runKafkaMongo } from './kafka-mongo.ts'
import { NaiveRetail } from './naive.ts'
import { ProbeStore } from './probe-store.ts'
import { cdfPoints, markdown, round, svgChart, type BenchResults, type LoadFigures, type Percentiles, type SteadyFigures } from './report.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const viewName = 'customer_sv'
const hotKeyCount = 50
/** The view's updateEvents, each measured on its own copy of the store at the largest default size. */
const updateEventModes = ['full', 'key', 'none'] as const

function log (line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

async function main (): Promise<void> {
  let args: BenchArgs
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    if (err.message !== '') process.stderr.write(`bench: ${err.message}\n`)
    process.stderr.write(`${usage}\n`)
    process.exitCode = 2
    return
  }
  const started = performance.now()
  const scale = scales[args.scale]
  const work = join(tmpdir(), `braid-bench-${process.pid}`)
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const logger = silentLogger()
  const pipeline = await loadPipeline(join(root, 'examples/retail/braid.yaml'))
  const rebuildPipeline = await loadPipeline(writeRebuildVariant(work))
  const view = pipeline.singleViews.get(viewName)
  if (view === undefined) throw new Error(`examples/retail has no ${viewName}`)
  const primary = scale.sizes[1] ?? scale.sizes[0] as number
  const date = new Date().toISOString().slice(0, 10)
  const results: BenchResults = {
    meta: {
      date,
      command: process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(' ')}` : 'npm run bench',
      engine: args.engine,
      scale: args.scale,
      seed: args.seed,
      node: process.versions.node,
      cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      platform: `${process.platform} ${process.arch}`,
      totalS: 0
    },
    scaling: [],
    primaryViews: primary
  }

  if (args.engine === 'kafka-mongo') {
    try {
      productionServers()
    } catch (err) {
      rmSync(work, { recursive: true, force: true })
      process.stderr.write(`bench: ${(err as Error).message}\n`)
      process.exitCode = 2
      return
    }
    const km = await runKafkaMongo({ root, work, logger, log, seed: args.seed, scale: args.scale, meta: results.meta })
    km.meta.totalS = (performance.now() - started) / 1000
    writeOutputs(args, date, kafkaMongoMarkdown(km), JSON.stringify(km, null, 2) + '\n', kafkaMongoSvg(km), km.meta.totalS)
    return
  }

  try {
    for (const size of scale.sizes) {
      const full = size === primary && args.scenario === 'all'
      const dir = join(work, `views-${size}`)
      const data = new RetailData(args.seed)
      let env = await openEnv(dir, view.collection, logger)

      log(`${size} views: initial load`)
      const snapshot = data.snapshot(size)
      const load = await runBacklog(env, pipeline, snapshot)
      const views = await env.engines.store.count(view.collection, {})
      const loadFigures = toLoad(load, views)
      log(`  ${loadFigures.rows} rows, ${views} views in ${loadFigures.totalS.toFixed(1)} s (${Math.round(loadFigures.rowsPerS)} rows/s draining)`)

      const naiveDir = join(work, `naive-${size}`)
      const naiveEventsDir = join(work, `naive-events-${size}`)
      const stagedDir = join(work, `staged-${size}`)
      const modeDir = (mode: string): string => join(work, `update-events-${mode}-${size}`)
      if (full) {
        await env.engines.close()
        copyFiles(dir, naiveDir, ['store.sqlite'])
        copyFiles(dir, naiveEventsDir, ['store.sqlite'])
        copyFiles(dir, stagedDir, ['store.sqlite', 'log.sqlite'])
        for (const mode of updateEventModes) copyFiles(dir, modeDir(mode), ['store.sqlite', 'log.sqlite'])
        env = await openEnv(dir, view.collection, logger)
      }

      log(`${size} views: steady retail traffic, ${scale.steady} events`)
      const steadyBatches = data.steady(scale.steady)
      const steady = toSteady(await profiled(args.profile, `steady-${size}`, async () => await runBacklog(env, pipeline, steadyBatches)))
      log(`  ${Math.round(steady.sourceEventsPerS)} events/s into projections, ${Math.round(steady.endToEndEventsPerS)} end to end, ${steady.cpuUsPerEvent.toFixed(1)} µs CPU/event`)
      results.scaling.push({ views: size, load: loadFigures, steady })
      if (!full) {
        await env.engines.close()
        rmSync(dir, { recursive: true, force: true })
        continue
      }
      results.retail = steady

      log(`${size} views: naive, the same ${scale.steady} events (views only, then views and sv-update events)`)
      const naiveStore = createEmbeddedStore({ path: join(naiveDir, 'store.sqlite') })
      const naive = new NaiveRetail(naiveStore, pipeline, logger)
      results.naive = await runNaive(naive, naiveStore, env.engines.store, view.collection, steadyBatches)
      const naiveEventsStore = createEmbeddedStore({ path: join(naiveEventsDir, 'store.sqlite') })
      const naiveEventsLog = createEmbeddedEventLog({ path: join(naiveEventsDir, 'log.sqlite') })
      const naiveEvents = new NaiveRetail(naiveEventsStore, pipeline, logger, naiveEventsLog)
      results.naiveEvents = await runNaive(naiveEvents, naiveEventsStore, env.engines.store, view.collection, steadyBatches)
      log(`  naive ${Math.round(results.naive.eventsPerS)} events/s, with sv-update events ${Math.round(results.naiveEvents.eventsPerS)}; views identical: ${results.naive.sameViews && results.naiveEvents.sameViews} (${results.naive.compared} compared)`)

      log(`${size} views: the same ${scale.steady} events, one stage at a time`)
      const stagedEnv = await openEnv(stagedDir, view.collection, logger)
      const staged = await runStaged(stagedEnv, pipeline, viewName, steadyBatches)
      await stagedEnv.engines.close()
      rmSync(stagedDir, { recursive: true, force: true })
      results.stages = toStages(staged)
      log(`  projection stage ${Math.round(results.stages.projection.eventsPerS)} events/s, view stage ${Math.round(results.stages.views.rebuildsPerS)} rebuilds/s`)

      results.updateEvents = []
      for (const mode of updateEventModes) {
        log(`${size} views: the same ${scale.steady} events with updateEvents: ${mode}`)
        const modeEnv = await openEnv(modeDir(mode), view.collection, logger)
        const run = toSteady(await runBacklog(modeEnv, withUpdateEvents(pipeline, viewName, mode), steadyBatches))
        await modeEnv.engines.close()
        rmSync(modeDir(mode), { recursive: true, force: true })
        results.updateEvents.push({ mode, endToEndEventsPerS: run.endToEndEventsPerS, cpuUsPerEvent: run.cpuUsPerEvent })
        log(`  ${Math.round(run.endToEndEventsPerS)} events/s end to end, ${run.cpuUsPerEvent.toFixed(1)} µs CPU/event`)
      }

      // Half load is half of what the freshness traffic itself sustains: one update per event, which
      // coalesces less than the steady mix, each a full rebuild of its view.
      log(`${size} views: the freshness traffic as a backlog (its maximum rate), ${scale.steady} events`)
      const traffic = toSteady(await runBacklog(env, pipeline, data.markedBacklog(0, scale.steady)))
      const rate = Math.max(100, Math.round(traffic.sustainedEventsPerS / 2))
      log(`  ${Math.round(traffic.endToEndEventsPerS)} events/s end to end, ${Math.round(traffic.sustainedEventsPerS)} sustained with the producer`)
      log(`${size} views: freshness, paced at ${rate} events/s (half of ${Math.round(traffic.sustainedEventsPerS)}) for ${args.duration} s`)
      const paced = await profiled(args.profile, `freshness-${size}`, async () => await runPaced(env, pipeline, data, rate, args.duration, scale.steady))
      results.freshness = {
        maximum: { events: traffic.events, endToEndEventsPerS: traffic.endToEndEventsPerS, sustainedEventsPerS: traffic.sustainedEventsPerS, rebuilds: traffic.rebuilds, cpuUsPerEvent: traffic.cpuUsPerEvent },
        targetRate: rate,
        achievedRate: paced.achievedRate,
        events: paced.events,
        measured: paced.measured,
        unresolved: paced.unresolved,
        fromScheduled: percentiles(paced.latencies),
        fromAppend: percentiles(paced.fromAppend),
        cdf: cdfPoints(paced.latencies),
        cpuPct: paced.run.cpuMs / paced.run.wallMs * 100
      }
      log(`  p50 ${results.freshness.fromScheduled.p50} ms, p99 ${results.freshness.fromScheduled.p99} ms, p99.9 ${results.freshness.fromScheduled.p999} ms; unresolved ${paced.unresolved}`)

      log(`${size} views: hot keys, ${scale.hot} updates on ${hotKeyCount} views`)
      const hot = await runBacklog(env, pipeline, data.hotKeys(scale.hot, hotKeyCount))
      results.hotKeys = { events: hot.events, keys: hotKeyCount, endToEndEventsPerS: hot.events / (hot.endToEnd.wallMs / 1000), rebuilds: hot.rebuilds, coalescing: hot.events / Math.max(1, hot.rebuilds) }

      const fanViews = data.customersOfTier('bronze')
      log(`${size} views: fan-out, one tier shared by ${fanViews} views (patch, then rebuild, then naive)`)
      const patch = await runBacklog(env, pipeline, data.renameTier('bronze'))
      const rebuild = await runBacklog(env, rebuildPipeline, data.renameTier('bronze'))
      const rename = data.renameTier('bronze')
      const naiveFan = await naiveFanOut(naive, rename)
      const naiveEventsFan = await naiveFanOut(naiveEvents, rename)
      await naiveStore.close()
      await naiveEventsLog.close()
      await naiveEventsStore.close()
      results.fanOut = {
        views: fanViews,
        patch: { seconds: patch.endToEnd.wallMs / 1000, viewsPerS: patch.patched / (patch.endToEnd.wallMs / 1000), patched: patch.patched },
        rebuild: { seconds: rebuild.endToEnd.wallMs / 1000, viewsPerS: rebuild.rebuilds / (rebuild.endToEnd.wallMs / 1000), rebuilds: rebuild.rebuilds },
        naive: naiveFan,
        naiveEvents: naiveEventsFan
      }
      log(`  patch ${Math.round(results.fanOut.patch.viewsPerS)} views/s, rebuild ${Math.round(results.fanOut.rebuild.viewsPerS)} views/s, naive ${Math.round(naiveFan.viewsPerS)} views/s, with sv-update events ${Math.round(naiveEventsFan.viewsPerS)}`)

      log(`${size} views: physical limit (bulk upsert of the view documents)`)
      results.limit = await physicalLimit(env.engines.store, pipeline, view.collection, join(work, 'limit'))
      log(`  ${Math.round(results.limit.insertDocsPerS)} docs/s insert, ${Math.round(results.limit.replaceDocsPerS)} docs/s replace`)
      await env.engines.close()
      rmSync(dir, { recursive: true, force: true })
      rmSync(naiveDir, { recursive: true, force: true })
      rmSync(naiveEventsDir, { recursive: true, force: true })
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }

  results.meta.totalS = (performance.now() - started) / 1000
  if (results.retail !== undefined && results.limit !== undefined && results.naive !== undefined && results.naiveEvents !== undefined && results.fanOut !== undefined && results.freshness !== undefined) {
    results.ratios = {
      ourOverLimit: results.fanOut.rebuild.viewsPerS / results.limit.insertDocsPerS,
      ourOverNaive: results.retail.endToEndEventsPerS / results.naive.eventsPerS,
      fanOutOverNaive: results.fanOut.rebuild.viewsPerS / results.fanOut.naive.viewsPerS,
      ourOverNaiveEvents: results.retail.endToEndEventsPerS / results.naiveEvents.eventsPerS,
      fanOutOverNaiveEvents: results.fanOut.rebuild.viewsPerS / results.fanOut.naiveEvents.viewsPerS
    }
    const none = results.updateEvents?.find(u => u.mode === 'none')
    if (none !== undefined) results.ratios.noEventsOverNaive = none.endToEndEventsPerS / results.naive.eventsPerS
    const r = results.retail
    results.targets = [
      { figure: 'source events/s into projections, retail', target: '≥ 30,000', value: Math.round(r.sourceEventsPerS).toLocaleString('en-US'), met: r.sourceEventsPerS >= 30_000 },
      { figure: 'view rebuilds/s (fan-out without patch)', target: '≥ 10,000', value: Math.round(results.fanOut.rebuild.viewsPerS).toLocaleString('en-US'), met: results.fanOut.rebuild.viewsPerS >= 10_000 },
      { figure: 'freshness p99 at half load', target: '≤ 50 ms', value: `${results.freshness.fromScheduled.p99} ms`, met: results.freshness.fromScheduled.p99 <= 50 },
      { figure: 'view rebuilds/s ÷ raw bulk upsert docs/s', target: '≥ 25%', value: `${(results.ratios.ourOverLimit * 100).toFixed(1)}%`, met: results.ratios.ourOverLimit >= 0.25 },
      { figure: 'retail end-to-end events/s ÷ naive (same outputs: views and sv-update events)', target: '≥ 20×', value: `${results.ratios.ourOverNaiveEvents.toFixed(1)}×${results.ratios.noEventsOverNaive === undefined ? '' : ` (updateEvents none ÷ naive, views only: ${results.ratios.noEventsOverNaive.toFixed(1)}×)`}`, met: results.ratios.ourOverNaiveEvents >= 20 }
    ]
  }

  writeOutputs(args, date, markdown(results), JSON.stringify(results, null, 2) + '\n', svgChart(results), results.meta.totalS)
}

/** Prints the Markdown and writes bench/results/<date>-<engine>[-<scale>][-<scenario>].{json,md,svg} (and --json); the default scale has no suffix. */
function writeOutputs (args: BenchArgs, date: string, md: string, json: string, svg: string, totalS: number): void {
  process.stdout.write(`\n${md}\n`)
  const outDir = resolve(args.out ?? join(root, 'bench/results'))
  mkdirSync(outDir, { recursive: true })
  const base = join(outDir, `${date}-${args.engine}${args.scale === 'default' ? '' : `-${args.scale}`}${args.scenario === 'all' ? '' : `-${args.scenario}`}`)
  writeFileSync(`${base}.json`, json)
  writeFileSync(`${base}.md`, md + '\n')
  writeFileSync(`${base}.svg`, svg)
  if (args.json !== undefined) writeFileSync(resolve(args.json), json)
  log(`wrote ${base}.{json,md,svg}${args.json === undefined ? '' : ` and ${args.json}`} in ${totalS.toFixed(0)} s`)
}

async function openEnv (dir: string, collection: string, logger: Env['logger']): Promise<Env> {
  // Exclusive, as under `braid start`: the only worker of its data directory.
  const engines = await openEngines({ dataDir: dir, exclusive: true })
  return { engines, probe: new ProbeStore(engines.store, collection), logger }
}

/** The pipeline with one view's `updateEvents` changed. */
function withUpdateEvents (pipeline: PipelineDefinition, view: string, updateEvents: UpdateEvents): PipelineDefinition {
  return { ...pipeline, singleViews: new Map([...pipeline.singleViews].map(([name, def]) => [name, name === view ? { ...def, updateEvents } : def])) }
}

/** examples/retail/braid.yaml without its Single View Patch rule: a tier change rebuilds the views. */
function writeRebuildVariant (work: string): string {
  const source = join(root, 'examples/retail/braid.yaml')
  const config = parse(readFileSync(source, 'utf8')) as { singleViews: Record<string, { validator?: string, patch?: unknown }> }
  for (const sv of Object.values(config.singleViews)) {
    delete sv.patch
    if (sv.validator !== undefined) sv.validator = resolve(dirname(source), sv.validator)
  }
  const file = join(work, 'retail-rebuild.yaml')
  writeFileSync(file, stringify(config))
  return file
}

/** The naive reference on the steady events; its views are compared with braid's (`braidStore`). */
async function runNaive (naive: NaiveRetail, naiveStore: Store, braidStore: Store, collection: string, batches: readonly TopicBatch[]): Promise<NonNullable<BenchResults['naive']>> {
  const m = new Meter()
  await naive.process(batches)
  const run = m.stop()
  const compared = await compareViews(braidStore, naiveStore, collection)
  const c = { ...naive.counters }
  return {
    events: c.events,
    eventsPerS: c.events / (run.wallMs / 1000),
    triggers: c.triggers,
    rebuilds: c.rebuilds,
    queries: c.queries,
    viewWrites: c.viewWrites,
    svUpdates: c.svUpdates,
    cpuUsPerEvent: run.cpuMs * 1000 / c.events,
    sameViews: compared.mismatches === 0,
    compared: compared.compared,
    mismatches: compared.mismatches
  }
}

/** The naive reference on the fan-out (one tier renamed): views rebuilt per second. */
async function naiveFanOut (naive: NaiveRetail, rename: readonly TopicBatch[]): Promise<{ seconds: number, viewsPerS: number, rebuilds: number }> {
  const before = naive.counters.rebuilds
  const m = new Meter()
  await naive.process(rename)
  const run = m.stop()
  const rebuilds = naive.counters.rebuilds - before
  return { seconds: run.wallMs / 1000, viewsPerS: rebuilds / (run.wallMs / 1000), rebuilds }
}

/**
 * Copies the SQLite files `names` (with their -wal and -shm companions) of directory `from` into
 * `to`, and syncs the copies: their write-back would otherwise run under the phases measured next.
 */
function copyFiles (from: string, to: string, names: readonly string[]): void {
  mkdirSync(to, { recursive: true })
  for (const name of names) {
    for (const suffix of ['', '-wal', '-shm']) {
      const file = join(from, `${name}${suffix}`)
      if (!existsSync(file)) continue
      const copy = join(to, `${name}${suffix}`)
      copyFileSync(file, copy)
      const fd = openSync(copy, 'r+')
      try {
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
  }
}

function toStages (r: StagedResult): NonNullable<BenchResults['stages']> {
  return {
    events: r.events,
    rebuilds: r.rebuilds,
    projection: { seconds: r.projection.wallMs / 1000, eventsPerS: r.events / (r.projection.wallMs / 1000), cpuUsPerEvent: r.projection.cpuMs * 1000 / r.events },
    views: { seconds: r.views.wallMs / 1000, rebuildsPerS: r.rebuilds / (r.views.wallMs / 1000), cpuUsPerRebuild: r.views.cpuMs * 1000 / Math.max(1, r.rebuilds) }
  }
}

function toLoad (r: BacklogResult, views: number): LoadFigures {
  return {
    rows: r.events,
    views,
    appendRowsPerS: r.events / (r.append.wallMs / 1000),
    projectedRowsPerS: r.events / (r.projectedMs / 1000),
    rowsPerS: r.events / (r.endToEnd.wallMs / 1000),
    viewsBuiltS: r.endToEnd.wallMs / 1000,
    totalS: (r.append.wallMs + r.endToEnd.wallMs) / 1000,
    peakRssMiB: Math.max(r.append.peakRssMiB, r.endToEnd.peakRssMiB),
    cpuPct: cpuPct([r.append, r.endToEnd])
  }
}

function toSteady (r: BacklogResult): SteadyFigures {
  const e2e = r.events / (r.endToEnd.wallMs / 1000)
  const append = r.events / (r.append.wallMs / 1000)
  return {
    events: r.events,
    appendEventsPerS: append,
    sourceEventsPerS: r.events / (r.projectedMs / 1000),
    endToEndEventsPerS: e2e,
    sustainedEventsPerS: 1 / (1 / append + 1 / e2e),
    rebuilds: r.rebuilds,
    rebuildsPerS: r.rebuilds / (r.endToEnd.wallMs / 1000),
    viewsWritten: r.viewsWritten,
    cpuUsPerEvent: r.endToEnd.cpuMs * 1000 / r.events,
    wallUsPerEvent: r.endToEnd.wallMs * 1000 / r.events,
    cpuPct: r.endToEnd.cpuMs / r.endToEnd.wallMs * 100,
    peakRssMiB: Math.max(r.append.peakRssMiB, r.endToEnd.peakRssMiB)
  }
}

function cpuPct (ms: Measured[]): number {
  return ms.reduce((s, m) => s + m.cpuMs, 0) / ms.reduce((s, m) => s + m.wallMs, 0) * 100
}

function percentiles (sorted: readonly number[]): Percentiles {
  return { p50: round(percentile(sorted, 50), 2), p99: round(percentile(sorted, 99), 2), p999: round(percentile(sorted, 99.9), 2), max: round(sorted[sorted.length - 1] ?? Number.NaN, 2) }
}

/** Compares every view of two stores, ignoring `_id`, `createdAt` and `updatedAt`. */
async function compareViews (a: Store, b: Store, collection: string): Promise<{ compared: number, mismatches: number }> {
  const strip = (d: Doc): string => stableStringify({ ...d, _id: undefined, createdAt: undefined, updatedAt: undefined })
  const left = new Map<string, string>()
  for await (const page of a.scan(collection, {})) for (const d of page) left.set(keyId(d, ['email']), strip(d))
  let compared = 0
  let mismatches = 0
  for await (const page of b.scan(collection, {})) {
    for (const d of page) {
      const id = keyId(d, ['email'])
      compared++
      if (left.get(id) !== strip(d)) mismatches++
      left.delete(id)
    }
  }
  return { compared: compared + left.size, mismatches: mismatches + left.size }
}

/** Bulk upserts of the same view documents into a fresh embedded store, 1000 per write: insert, then replace. */
async function physicalLimit (source: Store, pipeline: PipelineDefinition, collection: string, dir: string): Promise<NonNullable<BenchResults['limit']>> {
  const docs: Array<{ collection: string, id: string, doc: Doc }> = []
  let bytes = 0
  for await (const page of source.scan(collection, {})) {
    for (const d of page) {
      docs.push({ collection, id: keyId(d, ['email']), doc: d })
      bytes += JSON.stringify(d).length
    }
  }
  mkdirSync(dir, { recursive: true })
  const store = createEmbeddedStore({ path: join(dir, 'store.sqlite') })
  await store.ensureCollections(pipelineCollections(pipeline, [tombstoneCollectionSpec]))
  const pass = async (): Promise<number> => {
    const t0 = performance.now()
    for (let i = 0; i < docs.length; i += 1000) await store.write({ put: docs.slice(i, i + 1000) })
    return docs.length / ((performance.now() - t0) / 1000)
  }
  const insertDocsPerS = await pass()
  const replaceDocsPerS = await pass()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  return { docs: docs.length, avgDocBytes: bytes / Math.max(1, docs.length), insertDocsPerS, replaceDocsPerS }
}

await main()
