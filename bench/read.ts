/**
 * `npm run bench:read`: latency of the read API at a fixed request rate. Loads N customer views of
 * the retail pipeline on the embedded engines (the initial load of the main benchmark), serves the
 * HTTP API on loopback, and drives it open-loop from a worker thread: requests are scheduled on a
 * timer at the target rate and each latency runs from the request's scheduled time to the end of its
 * response, so a slow answer delays the measurement, never the schedule (no coordinated omission).
 * See bench/README.md, "Read latency".
 * @module
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PerformanceObserver } from 'node:perf_hooks'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { buildApp } from '../src/api/app.ts'
import { loadPipeline } from '../src/config/index.ts'
import { silentLogger } from '../src/logger.ts'
import { openEngines } from '../src/runtime/engines.ts'
import { createService } from '../src/runtime/service.ts'
import { RetailData, tiers } from './generators.ts'
import { percentile, runBacklog } from './harness.ts'
import { ProbeStore } from './probe-store.ts'
import { round } from './report.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const viewName = 'customer_sv'
const usage = 'usage: npm run bench:read -- [--views N] [--rates R1,R2,…] [--duration SECONDS] [--seed N] [--out DIR]'

interface ReadArgs {
  views: number
  rates: number[]
  durationS: number
  seed: number
  out?: string
}

/** One request kind: `paths` are picked at random (seeded) for each request. */
interface Scenario {
  name: string
  what: string
  paths: string[]
}

/** What the client worker is asked to do. */
interface ClientJob {
  port: number
  rate: number
  durationS: number
  warmupS: number
  paths: string[]
  seed: number
}

/** What the client worker answers: latencies (ms) of the requests scheduled after the warm-up. */
interface ClientResult {
  scheduled: number
  completed: number
  errors: number
  statusErrors: number
  /** From scheduled time to the end of the response. */
  latencies: number[]
  /** From the actual send to the end of the response (for comparison: hides queueing). */
  service: number[]
  /** Span over which the measured requests completed, ms. */
  spanMs: number
  /** How late the timer fired requests behind their schedule: p99, ms. */
  sendLagP99Ms: number
  /** The server fell more than `maxBacklogS` behind: scheduling stopped early (the rate is above capacity). */
  saturated: boolean
}

interface RunFigures {
  scenario: string
  targetRate: number
  achievedRate: number
  requests: number
  errors: number
  p50Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  serviceP50Ms: number
  serviceP99Ms: number
  sendLagP99Ms: number
  saturated: boolean
  /** Garbage-collection pauses of the server thread during the run: longest and total, ms. */
  gcMaxMs: number
  gcTotalMs: number
}

/** A run stops scheduling once this many seconds of requests are in flight: the rate is above capacity. */
const maxBacklogS = 2

function parseArgs (argv: readonly string[]): ReadArgs {
  const args: ReadArgs = { views: 100_000, rates: [500, 2000], durationS: 10, seed: 42 }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`${flag} needs a value`)
    i++
    const positive = (v: string): number => {
      const n = Number(v)
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got "${v}"`)
      return n
    }
    switch (flag) {
      case '--views': args.views = Math.floor(positive(value)); break
      case '--rates': args.rates = value.split(',').map(positive); break
      case '--duration': args.durationS = positive(value); break
      case '--seed': args.seed = Math.floor(positive(value)); break
      case '--out': args.out = value; break
      default: throw new Error(`unknown option ${flag}`)
    }
  }
  return args
}

function log (line: string): void {
  process.stderr.write(`[bench:read ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

async function main (): Promise<void> {
  let args: ReadArgs
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`bench:read: ${(err as Error).message}\n${usage}\n`)
    process.exitCode = 2
    return
  }
  const started = performance.now()
  const loadAtStart = loadavg()[0] ?? 0
  const work = join(tmpdir(), `braid-bench-read-${process.pid}`)
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const logger = silentLogger()
  const pipeline = await loadPipeline(join(root, 'examples/retail/braid.yaml'))
  const engines = await openEngines({ dataDir: work })
  try {
    log(`${args.views} views: initial load`)
    const load = await runBacklog({ engines, probe: new ProbeStore(engines.store, viewName), logger }, pipeline, new RetailData(args.seed).snapshot(args.views))
    const views = await engines.store.count(viewName, {})
    log(`  ${load.events} rows, ${views} views in ${((load.append.wallMs + load.endToEnd.wallMs) / 1000).toFixed(1)} s`)

    const ids: string[] = []
    const emails: string[] = []
    for await (const page of engines.store.scan(viewName, { __STATE__: 'PUBLIC' }, 5000)) {
      for (const doc of page) {
        ids.push(String(doc['_id']))
        emails.push(String(doc['email']))
      }
    }
    const sample = (values: string[], n = 20_000): string[] => values.filter((_, i) => i % Math.max(1, Math.floor(values.length / n)) === 0)
    const q = (filter: unknown): string => encodeURIComponent(JSON.stringify(filter))
    const scenarios: Scenario[] = [
      { name: 'point read', what: `GET /single-views/${viewName}/{_id}`, paths: sample(ids).map(id => `/single-views/${viewName}/${id}`) },
      { name: 'email _q', what: `GET /single-views/${viewName}/?_q={"email":"…"} (indexed view key)`, paths: sample(emails).map(email => `/single-views/${viewName}/?_q=${q({ email })}`) },
      { name: 'tier _q, _l=25', what: `GET /single-views/${viewName}/?_q={"tier.code":"…"}&_l=25 (no index on tier.code: a scan stopping at 25 matches)`, paths: tiers.map(t => `/single-views/${viewName}/?_q=${q({ 'tier.code': t.tier_code })}&_l=25`) }
    ]

    // The load leaves a large heap of garbage; collect it now (when run with --expose-gc, as the npm
    // script does) so the first measured run does not pay for the load's major GC.
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc !== undefined) gc()
    else log('  run with node --expose-gc to collect the load\'s garbage before measuring')
    const gcPauses: number[] = []
    const observer = new PerformanceObserver(list => { for (const e of list.getEntries()) gcPauses.push(e.duration) })
    observer.observe({ entryTypes: ['gc'] })

    const service = createService({ pipeline, engines, logger })
    await service.start()
    const app = await buildApp(service, { logger })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const port = (app.server.address() as AddressInfo).port
    const runs: RunFigures[] = []
    try {
      log('warm-up: 3 s of point reads and email lookups at 500 req/s, not measured')
      await drive({ port, rate: 500, durationS: 3, warmupS: 0, paths: [...scenarios[0]?.paths ?? [], ...scenarios[1]?.paths ?? []], seed: args.seed + 1 })
      for (const scenario of scenarios) {
        for (const rate of args.rates) {
          log(`${scenario.name} at ${rate} req/s for ${args.durationS} s`)
          gcPauses.length = 0
          const r = await drive({ port, rate, durationS: args.durationS, warmupS: 1, paths: scenario.paths, seed: args.seed })
          await new Promise(resolveTick => setImmediate(resolveTick))
          const sorted = [...r.latencies].sort((a, b) => a - b)
          const serviceSorted = [...r.service].sort((a, b) => a - b)
          const figures: RunFigures = {
            scenario: scenario.name,
            targetRate: rate,
            achievedRate: round(r.completed / (r.spanMs / 1000), 1),
            requests: r.completed,
            errors: r.errors + r.statusErrors,
            p50Ms: round(percentile(sorted, 50)),
            p99Ms: round(percentile(sorted, 99)),
            p999Ms: round(percentile(sorted, 99.9)),
            maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
            serviceP50Ms: round(percentile(serviceSorted, 50)),
            serviceP99Ms: round(percentile(serviceSorted, 99)),
            sendLagP99Ms: round(r.sendLagP99Ms),
            saturated: r.saturated,
            gcMaxMs: round(Math.max(0, ...gcPauses)),
            gcTotalMs: round(gcPauses.reduce((a, b) => a + b, 0))
          }
          runs.push(figures)
          log(`  achieved ${figures.achievedRate} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, p99.9 ${figures.p999Ms} ms, errors ${figures.errors}, GC max ${figures.gcMaxMs} ms${r.saturated ? ', SATURATED' : ''}`)
        }
      }
    } finally {
      observer.disconnect()
      await app.close()
      await service.stop()
    }

    const date = new Date().toISOString().slice(0, 10)
    const results = {
      meta: {
        date,
        command: process.argv.length > 2 ? `npm run bench:read -- ${process.argv.slice(2).join(' ')}` : 'npm run bench:read',
        engine: 'embedded',
        views,
        seed: args.seed,
        durationS: args.durationS,
        warmupS: 1,
        exposeGc: gc !== undefined,
        node: process.versions.node,
        cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        platform: `${process.platform} ${process.arch}`,
        loadAverage1mAtStart: round(loadAtStart, 2),
        loadAverage1mAtEnd: round(loadavg()[0] ?? 0, 2),
        totalS: round((performance.now() - started) / 1000, 1)
      },
      scenarios: scenarios.map(s => ({ name: s.name, request: s.what, distinctPaths: s.paths.length })),
      runs
    }
    const md = markdown(results)
    process.stdout.write(`\n${md}\n`)
    const outDir = resolve(args.out ?? join(root, 'bench/results'))
    mkdirSync(outDir, { recursive: true })
    const base = join(outDir, `${date}-read`)
    writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n')
    writeFileSync(`${base}.md`, md + '\n')
    log(`wrote ${base}.{json,md} in ${results.meta.totalS} s`)
  } finally {
    await engines.close()
    rmSync(work, { recursive: true, force: true })
  }
}

function markdown (r: { meta: Record<string, unknown>, scenarios: Array<{ name: string, request: string, distinctPaths: number }>, runs: RunFigures[] }): string {
  const m = r.meta
  const n = (v: number): string => Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : '–'
  const lines = [
    `# braid read latency — embedded, ${String(m['date'])}`,
    '',
    `\`${String(m['command'])}\` — Node ${String(m['node'])}, ${String(m['cpus'])}, ${String(m['memoryGiB'])} GiB, ${String(m['platform'])}; ` +
      `${n(Number(m['views']))} customer views (seed ${String(m['seed'])}); ${String(m['durationS'])} s per run after a ${String(m['warmupS'])} s warm-up; ${String(m['totalS'])} s in all. ` +
      `Load average (1 min) ${String(m['loadAverage1mAtStart'])} at the start and ${String(m['loadAverage1mAtEnd'])} at the end: anything above the benchmark's own share means other processes shared the cores.`,
    '',
    'Open loop: each request is scheduled at a fixed rate by a client in a worker thread of the same process (HTTP/1.1 keep-alive over loopback); ' +
      'latency runs from the **scheduled** time to the end of the response. "service" runs from the actual send (it hides queueing). ' +
      `A run whose backlog exceeds ${maxBacklogS} s of requests stops scheduling and is marked *saturated*: the target rate is above what the API serves, and its latencies are those of an overloaded server.`,
    '',
    'GC: the server thread\'s garbage-collection pauses during the run, longest and total.',
    '',
    '| request | target req/s | achieved req/s | requests | errors | p50 ms | p99 ms | p99.9 ms | max ms | service p50 ms | service p99 ms | GC max / total ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.runs.map(x => `| ${x.scenario} | ${n(x.targetRate)} | ${n(x.achievedRate)}${x.saturated ? ' (saturated)' : ''} | ${n(x.requests)} | ${n(x.errors)} | ${n(x.p50Ms)} | ${n(x.p99Ms)} | ${n(x.p999Ms)} | ${n(x.maxMs)} | ${n(x.serviceP50Ms)} | ${n(x.serviceP99Ms)} | ${n(x.gcMaxMs)} / ${n(x.gcTotalMs)} |`),
    '',
    'Requests:',
    '',
    ...r.scenarios.map(s => `- **${s.name}**: \`${s.request}\`, ${n(s.distinctPaths)} distinct URLs picked at random.`)
  ]
  return lines.join('\n')
}

/** Runs the open-loop client in a worker thread and waits for its result. */
async function drive (job: ClientJob): Promise<ClientResult> {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: job })
  return await new Promise<ClientResult>((resolvePromise, reject) => {
    worker.once('message', (result: ClientResult) => resolvePromise(result))
    worker.once('error', reject)
    worker.once('exit', code => { if (code !== 0) reject(new Error(`read client exited with code ${code}`)) })
  })
}

/** The worker: fires requests on schedule, records latencies from the schedule. */
async function client (job: ClientJob): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  let state = job.seed >>> 0 || 1
  const random = (): number => {
    state = (state ^ (state << 13)) >>> 0
    state = (state ^ (state >>> 17)) >>> 0
    state = (state ^ (state << 5)) >>> 0
    return state / 2 ** 32
  }
  const interval = 1000 / job.rate
  const total = Math.round(job.rate * (job.warmupS + job.durationS))
  const warmup = Math.round(job.rate * job.warmupS)
  const latencies: number[] = []
  const service: number[] = []
  const sendLags: number[] = []
  let errors = 0
  let statusErrors = 0
  let completed = 0
  let firstDone = Number.POSITIVE_INFINITY
  let lastDone = 0
  let next = 0
  let inFlight = 0
  let saturated = false
  const t0 = performance.now() + 20
  await new Promise<void>(resolveAll => {
    const fire = (i: number, scheduled: number): void => {
      const path = job.paths[Math.floor(random() * job.paths.length)] as string
      const sent = performance.now()
      if (i >= warmup) sendLags.push(sent - scheduled)
      inFlight++
      const done = (ok: boolean, status: number): void => {
        const end = performance.now()
        inFlight--
        if (i >= warmup) {
          if (!ok) errors++
          else if (status !== 200) statusErrors++
          latencies.push(end - scheduled)
          service.push(end - sent)
          completed++
          firstDone = Math.min(firstDone, scheduled)
          lastDone = Math.max(lastDone, end)
        }
        if (next >= total && inFlight === 0) resolveAll()
      }
      const req = request({ host: '127.0.0.1', port: job.port, path, agent, method: 'GET' }, res => {
        res.on('data', () => {})
        res.on('end', () => done(true, res.statusCode ?? 0))
        res.on('error', () => done(false, 0))
      })
      req.on('error', () => done(false, 0))
      req.end()
    }
    const tick = (): void => {
      const now = performance.now()
      if (inFlight > job.rate * maxBacklogS && next < total) {
        saturated = true
        next = total
        if (inFlight === 0) resolveAll()
        return
      }
      while (next < total && t0 + next * interval <= now) {
        fire(next, t0 + next * interval)
        next++
      }
      if (next < total) setTimeout(tick, Math.max(0, Math.min(1, t0 + next * interval - performance.now())))
    }
    setTimeout(tick, 20)
  })
  agent.destroy()
  sendLags.sort((a, b) => a - b)
  const result: ClientResult = {
    scheduled: total - warmup,
    completed,
    errors,
    statusErrors,
    latencies,
    service,
    spanMs: lastDone - firstDone,
    sendLagP99Ms: percentile(sendLags, 99),
    saturated
  }
  parentPort?.postMessage(result)
}

if (isMainThread) {
  await main()
} else {
  await client(workerData as ClientJob)
}
