/**
 * The production engines in end-to-end tests: the retail pipeline on Kafka + MongoDB (FerretDB),
 * with names unique per run (topics, consumer groups, database) so runs never see each other's data,
 * `braid start` worker processes, and a private FerretDB a test may stop and restart.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { MongoClient } from 'mongodb'
import { loadPipeline } from '../../src/config/index.ts'
import type { Doc } from '../../src/model/document.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import { deleteTopics, kafkaBrokers } from '../event-log/kafka-broker.ts'
import { repoRoot, retailConfig, waitFor } from '../runtime/harness.ts'

/** The shared MongoDB-wire server; a test that needs it fails (never skips) when it is not set. */
export function mongoUrl (): string {
  const url = process.env['BRAID_MONGODB_URL']
  if (url === undefined || url === '') {
    throw new Error('BRAID_MONGODB_URL is not set: start the test services (scripts/services.sh up ferretdb, then eval "$(scripts/services.sh env ferretdb)") or export BRAID_MONGODB_URL=mongodb://host:port/')
  }
  return url
}

/** `mongodb://host:port/<database>` for a database of its own. */
export function databaseUrl (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export interface ProductionNames {
  /** Prefix of every topic and consumer group of this run. */
  prefix: string
  database: string
  brokers: string[]
  mongodbUrl: string
}

export function productionNames (label: string): ProductionNames {
  const run = `${label}_${randomBytes(4).toString('hex')}`
  return { prefix: `e2e.${run}.`, database: `braid_e2e_${run}`, brokers: kafkaBrokers(), mongodbUrl: databaseUrl(mongoUrl(), `braid_e2e_${run}`) }
}

const retailTopicNames = ['crm.public.customers', 'crm.public.tiers', 'shop.public.orders', 'shop.public.order_lines', 'marketing.public.preferences']

/** Every topic a run of the retail pipeline uses (for cleanup). */
export function runTopics (names: ProductionNames): string[] {
  return [...retailTopicNames.map(t => names.prefix + t), `${names.prefix}dead-letters`, `${names.prefix}customer_sv.sv-update`]
}

/** The retail pipeline with this run's topics and engines. */
export async function productionPipeline (names: ProductionNames): Promise<PipelineDefinition> {
  const pipeline = await loadPipeline(retailConfig)
  for (const p of pipeline.projections.values()) p.topic = names.prefix + p.topic
  for (const v of pipeline.singleViews.values()) v.svUpdateTopic = `${names.prefix}${v.name}.sv-update`
  pipeline.engines = {
    deadLetterTopic: `${names.prefix}dead-letters`,
    kafka: { brokers: names.brokers, groupPrefix: names.prefix, autoCreateTopics: true, partitions: 6, replicationFactor: 1 },
    mongodb: { url: names.mongodbUrl }
  }
  return pipeline
}

/** The retail braid.yaml rewritten for this run (topics, functions by absolute path, engines), in `dir`. */
export function productionConfigFile (dir: string, names: ProductionNames): string {
  let text = readFileSync(retailConfig, 'utf8')
  for (const t of retailTopicNames) text = text.replaceAll(`topic: ${t}`, `topic: ${names.prefix}${t}`)
  text = text.replaceAll('./functions/', `${join(repoRoot, 'examples/retail/functions')}/`)
  text += [
    '',
    'engines:',
    `  deadLetterTopic: ${names.prefix}dead-letters`,
    '  kafka:',
    `    brokers: [${names.brokers.join(', ')}]`,
    `    groupPrefix: ${names.prefix}`,
    '    autoCreateTopics: true',
    '    partitions: 6',
    '    replicationFactor: 1',
    '  mongodb:',
    `    url: ${names.mongodbUrl}`,
    ''
  ].join('\n')
  const file = join(dir, 'braid.yaml')
  writeFileSync(file, text)
  return file
}

/** Drops the run's database and deletes its topics (the retail pipeline's unless given). */
export async function cleanUp (names: ProductionNames, topics: readonly string[] = runTopics(names)): Promise<void> {
  const client = new MongoClient(names.mongodbUrl, { serverSelectionTimeoutMS: 5_000 })
  try {
    await client.db(names.database).dropDatabase()
  } finally {
    await client.close()
  }
  await deleteTopics(names.brokers, topics).catch(() => {})
}

/** Documents of a view with braid's bookkeeping fields removed, sorted by `sortKey`. */
export function comparable (docs: Doc[], sortKey: string): Doc[] {
  return docs
    .map(d => Object.fromEntries(Object.entries(d).filter(([k]) => !['_id', 'createdAt', 'updatedAt', 'creatorId', 'updaterId'].includes(k))))
    .sort((a, b) => String(a[sortKey]).localeCompare(String(b[sortKey])))
}

// ---------------------------------------------------------------- worker processes

export interface Worker {
  process: ChildProcess
  /** `http://127.0.0.1:<port>` once started. */
  url: string
  output (): string
  kill (signal?: NodeJS.Signals): Promise<void>
}

const cli = join(repoRoot, 'dist/cli/main.js')

/** `braid start <config> --port 0` as a child process; resolves once it prints its API address. */
export async function startWorker (config: string, dataDir: string, extraEnv: Record<string, string> = {}): Promise<Worker> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first (npm test does)`)
  const child = spawn(process.execPath, [cli, 'start', config, '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {
    env: { ...process.env, ...extraEnv, BRAID_KAFKA_BROKERS: '', BRAID_MONGODB_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const url = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`braid start exited with ${child.exitCode}:\n${out}`)
    return /API\s+(http:\/\/[^\s/]+)\//.exec(out)?.[1]
  }, 'the worker\'s API address', 90_000)
  return {
    process: child,
    url,
    output: () => out,
    async kill (signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

export async function getJson (url: string): Promise<Doc> {
  const res = await fetch(url)
  return await res.json() as Doc
}

/** Runs a braid command to completion: exit code and output. */
export async function runBraid (args: string[]): Promise<{ code: number, output: string }> {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, BRAID_KAFKA_BROKERS: '', BRAID_MONGODB_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const code = await new Promise<number>(resolve => child.once('exit', c => resolve(c ?? 1)))
  return { code, output }
}

// ---------------------------------------------------------------- a private FerretDB

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** A FerretDB of this test alone (SQLite backend), to stop and restart; the binary scripts/services.sh installs. */
export class PrivateFerret {
  readonly port: number
  readonly dir: string
  #child: ChildProcess | undefined

  private constructor (port: number, dir: string) {
    this.port = port
    this.dir = dir
  }

  static async launch (dir: string): Promise<PrivateFerret> {
    const f = new PrivateFerret(await freePort(), dir)
    mkdirSync(join(dir, 'data'), { recursive: true })
    await f.start()
    return f
  }

  get url (): string {
    return `mongodb://127.0.0.1:${this.port}/braid_private`
  }

  static binary (): string {
    const cache = process.env['BRAID_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'braid')
    const version = process.env['BRAID_FERRETDB_VERSION'] ?? 'v1.24.0'
    const bin = join(cache, 'bin', `ferretdb-${version}`)
    if (!existsSync(bin)) throw new Error(`FerretDB ${version} not found at ${bin}: run scripts/services.sh up ferretdb once (it installs it), or set BRAID_CACHE_DIR`)
    return bin
  }

  /** The server's own log (both runs of a restart), for failure messages. */
  get logFile (): string {
    return join(this.dir, 'ferretdb.log')
  }

  /** Whether a new client reaches the server now (tells a stuck client from a stuck server). */
  async probe (): Promise<string> {
    const client = new MongoClient(this.url, { serverSelectionTimeoutMS: 2_000 })
    const started = performance.now()
    try {
      await client.db('admin').command({ ping: 1 })
      return `a new client pings in ${Math.round(performance.now() - started)} ms`
    } catch (err) {
      return `a new client fails: ${(err as Error).message}`
    } finally {
      await client.close()
    }
  }

  /** The last lines of the server's log. */
  logTail (lines = 30): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)'
  }

  async start (): Promise<void> {
    const log = openSync(this.logFile, 'a')
    this.#child = spawn(PrivateFerret.binary(), [
      '--handler=sqlite', `--sqlite-url=file:${join(this.dir, 'data')}/`, `--listen-addr=127.0.0.1:${this.port}`,
      '--debug-addr=-', '--telemetry=disable', `--state-dir=${this.dir}`, '--log-level=info'
    ], { stdio: ['ignore', log, log] })
    closeSync(log)
    await waitFor(async () => {
      const client = new MongoClient(this.url, { serverSelectionTimeoutMS: 500 })
      try {
        await client.db('admin').command({ ping: 1 })
        return true
      } catch {
        return false
      } finally {
        await client.close()
      }
    }, 'the private FerretDB', 30_000)
  }

  async stop (): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    await exited
    this.#child = undefined
  }
}
