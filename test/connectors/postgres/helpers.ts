/**
 * Plumbing of the PostgreSQL source tests: a fresh database per test file on the server of
 * BRAID_PG_URL (dropped afterwards with its replication slots), a braid pipeline with sources on the
 * embedded engines, and small readers.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { loadPipeline } from '../../../src/config/index.ts'
import type { SourceManager } from '../../../src/connectors/sources.ts'
import type { Doc } from '../../../src/model/document.ts'
import { openPipeline, tempDir, waitFor, type Running } from '../../runtime/harness.ts'
import { requireServiceEnv } from '../../services/env.ts'

/** The server's URL from BRAID_PG_URL (superuser, wal_level=logical); a clear failure when it is not set. */
export function serverUrl (): string {
  return requireServiceEnv('BRAID_PG_URL')
}

/** `url` with another database name. */
export function withDatabase (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export interface TestDatabase {
  name: string
  url: string
  /** A client on the test database (superuser). */
  sql: pg.Client
  query: (text: string, values?: unknown[]) => Promise<pg.QueryResult>
  /** Terminates the database's sessions, drops its slots and the database. */
  drop: () => Promise<void>
}

/** Creates `braid_t_<random>` on the server of BRAID_PG_URL. */
export async function createTestDatabase (): Promise<TestDatabase> {
  const server = serverUrl()
  const name = `braid_t_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: server })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = withDatabase(server, name)
  const sql = new pg.Client({ connectionString: url })
  await sql.connect()
  return {
    name,
    url,
    sql,
    query: async (text, values) => await sql.query(text, values),
    async drop () {
      await sql.end().catch(() => {})
      const a = new pg.Client({ connectionString: server })
      await a.connect()
      try {
        for (let i = 0; i < 50; i++) {
          await a.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])
          const slots = await a.query<{ slot_name: string, active: boolean }>('SELECT slot_name, active FROM pg_replication_slots WHERE database = $1', [name])
          for (const s of slots.rows) if (!s.active) await a.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => {})
          const left = await a.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [name])
          if (left.rowCount === 0) break
          await new Promise(resolve => setTimeout(resolve, 100))
        }
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await a.end()
      }
    }
  }
}

/** Writes a braid.yaml into a new temporary directory and returns its path. */
export function writeConfig (yaml: string): string {
  const dir = tempDir('braid-pg-')
  const file = join(dir, 'braid.yaml')
  writeFileSync(file, yaml)
  return file
}

export interface SourcePipeline extends Running {
  sources: SourceManager
  dataDir: string
}

/** The pipeline of `config` on the embedded engines of `dataDir`, consuming, with its sources started (by the service). */
export async function startSourcePipeline (config: string, dataDir = tempDir('braid-pg-data-')): Promise<SourcePipeline> {
  const pipeline = await loadPipeline(config)
  const running = await openPipeline(pipeline, dataDir, { start: false })
  try {
    await running.service.start()
  } catch (err) {
    await running.close()
    throw err
  }
  const sources = running.service.sources
  if (sources === undefined) throw new Error(`${config} has no sources`)
  return { ...running, dataDir, sources }
}

/** Waits until every table of every source streams (initial snapshots done). */
export async function waitStreaming (sources: SourceManager, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => Object.values(sources.status()).every(s => s.state === 'streaming' || s.state === 'polling'), 'sources streaming', timeoutMs)
}

/** PUBLIC records of a projection, without braid's metadata, sorted by `sortKey`. */
export async function projectionRows (running: Running, projection: string, sortKey: string): Promise<Doc[]> {
  const def = running.pipeline.projections.get(projection)
  if (def === undefined) throw new Error(`no projection ${projection}`)
  const docs = await running.engines.store.find(def.collection, { __STATE__: 'PUBLIC' })
  return docs.map(stripMeta).sort((a, b) => compare(a[sortKey], b[sortKey]))
}

const metaFields = new Set(['_id', '__STATE__', 'createdAt', 'updatedAt', 'timestamp', '__internal__counter', '__internal__counterType', '__internal__kafkaInfo'])

export function stripMeta (doc: Doc): Doc {
  const out: Doc = {}
  for (const [k, v] of Object.entries(doc)) if (!metaFields.has(k)) out[k] = v
  return out
}

function compare (a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b))
}

/** Resolves once the pipeline applied everything appended and built every view. */
export async function settle (running: Running, timeoutMs = 20_000): Promise<void> {
  await running.service.idle(timeoutMs)
}
