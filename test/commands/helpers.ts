/**
 * Shared plumbing of the write-stream tests: the PostgreSQL server from BRAID_PG_URL (a fresh
 * database per test file), a braid config with a `commands:` section, a service on the embedded
 * engines with its HTTP API, and polling.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { buildApp } from '../../src/api/app.ts'
import type { CommandView } from '../../src/commands/types.ts'
import { loadPipeline } from '../../src/config/index.ts'
import type { EventLog } from '../../src/event-log/event-log.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { openEngines, type Engines } from '../../src/runtime/engines.ts'
import { createService, type Service } from '../../src/runtime/service.ts'
import type { Store } from '../../src/storage/store.ts'
import { tempDir } from '../runtime/harness.ts'

/** The server URL of a service the tests need; a clear failure when the variable is missing. */
export function serverUrl (variable: 'BRAID_PG_URL'): string {
  const value = process.env[variable]
  if (value === undefined || value === '') {
    throw new Error(`${variable} is not set: these tests need a PostgreSQL server (superuser, wal_level=logical). ` +
      'Start the development services and run e.g. BRAID_PG_URL=postgres://braid@127.0.0.1:15432/braid npx vitest run test/commands')
  }
  return value
}

export interface TestDatabase {
  name: string
  url: string
  /** A client connected to the test database. */
  client: pg.Client
  drop (): Promise<void>
}

/** A new database on the BRAID_PG_URL server, with a connected client; `drop` removes it (and its slots). */
export async function createDatabase (prefix = 'braid_cmd'): Promise<TestDatabase> {
  const serverUrlText = serverUrl('BRAID_PG_URL')
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrlText })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrlText)
  url.pathname = `/${name}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  return {
    name,
    url: url.toString(),
    client,
    async drop () {
      await client.end().catch(() => {})
      const c = new pg.Client({ connectionString: serverUrlText })
      await c.connect()
      try {
        const slots = await c.query<{ slot_name: string }>('SELECT slot_name FROM pg_replication_slots WHERE database = $1', [name])
        for (const s of slots.rows) await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => {})
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await c.end()
      }
    }
  }
}

/** A pipeline with one projection (`customers` from crm.public.customers) and one view (`customer_sv` by email). */
export function pipelineConfig (commands: Doc): Doc {
  return {
    version: 1,
    system: 'crm',
    projections: {
      customers: {
        topic: 'crm.public.customers',
        key: 'customer_id',
        fields: { customer_id: 'castToInteger', email: 'castToString', phone: 'castToString' }
      }
    },
    singleViews: {
      customer_sv: {
        base: 'customers',
        key: 'email',
        view: { email: 'customers.email', customerId: 'customers.customer_id', phone: 'customers.phone' }
      }
    },
    commands
  }
}

/** Writes `config` as braid.json in a new temporary directory; returns the file. */
export function writeConfig (config: Doc, dir = tempDir('braid-commands-')): string {
  const file = join(dir, 'braid.json')
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

export interface Braid {
  service: Service
  engines: Engines
  app: FastifyInstance
  dataDir: string
  close (): Promise<void>
}

export interface StartOptions {
  dataDir?: string
  /** Wraps the engines' store (to inject failures). */
  store?: (store: Store) => Store
  log?: (log: EventLog) => EventLog
}

/** braid on the embedded engines running the config at `file`, with its API (inject only). */
export async function startBraid (file: string, options: StartOptions = {}): Promise<Braid> {
  const pipeline = await loadPipeline(file)
  const dataDir = options.dataDir ?? tempDir('braid-commands-data-')
  const engines = await openEngines({ dataDir })
  const store = options.store?.(engines.store) ?? engines.store
  const log = options.log?.(engines.log) ?? engines.log
  const service = createService({ pipeline, engines: { store, log }, logger: silentLogger() })
  await service.start()
  const app = await buildApp(service, { logger: silentLogger() })
  let closed = false
  return {
    service,
    engines,
    app,
    dataDir,
    async close () {
      if (closed) return
      closed = true
      await app.close()
      await service.stop()
      await engines.close()
    }
  }
}

export interface Answer {
  status: number
  body: Doc
  headers: Record<string, unknown>
}

export async function postCommand (app: FastifyInstance, name: string, payload: unknown, options: { key?: string, query?: string } = {}): Promise<Answer> {
  const res = await app.inject({
    method: 'POST',
    url: `/commands/${name}${options.query === undefined ? '' : `?${options.query}`}`,
    headers: { 'content-type': 'application/json', ...(options.key === undefined ? {} : { 'idempotency-key': options.key }) },
    payload: JSON.stringify(payload)
  })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

export async function getJson (app: FastifyInstance, url: string): Promise<Answer> {
  const res = await app.inject({ method: 'GET', url })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

/** Polls `fn` until `check` holds (returns the last value) or fails after `timeoutMs` with the last value. */
export async function until<T> (fn: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = await fn()
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`)
    await new Promise(resolve => setTimeout(resolve, 25))
    last = await fn()
  }
  return last
}

/** Polls `GET /commands/{id}` until the command is succeeded or failed. */
export async function settled (app: FastifyInstance, id: string, timeoutMs = 15_000): Promise<CommandView> {
  const answer = await until(async () => await getJson(app, `/commands/${id}`), a => ['succeeded', 'failed'].includes(String(a.body['status'])), timeoutMs, `command ${id} to finish`)
  return answer.body as unknown as CommandView
}
