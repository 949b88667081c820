/**
 * Connections to a source database (`pg`), and the translation of PostgreSQL failures into braid's
 * source error codes, each with what to do about it.
 *
 * Every session runs with `sessionOptions` (UTC, ISO dates, exact floats, hex bytea) so values print
 * alike on every path; replication sessions add `replication=database`.
 * @module
 */
import pg from 'pg'
import { BraidError, isBraidError } from '../../errors.ts'
import type { ConnectionRef } from '../../model/source.ts'
import { describeConnection } from '../../model/source.ts'
import { sessionOptions } from './values.ts'

/** The connection URL of a source; an unset environment variable is BRAID_SOURCE_INVALID. */
export function resolveUrl (source: string, ref: ConnectionRef): string {
  if ('url' in ref) return ref.url
  const value = process.env[ref.env]
  if (value === undefined || value.trim() === '') {
    throw new BraidError('BRAID_SOURCE_INVALID', `source "${source}": environment variable ${ref.env} (its url) is not set; export ${ref.env}=postgres://user:password@host:5432/db before braid start`, {
      details: { source, env: ref.env }
    })
  }
  return value.trim()
}

/** Opens a session; `replication` opens a logical replication session (walsender). */
export async function connect (source: string, url: string, options: { replication?: boolean, applicationName?: string } = {}): Promise<pg.Client> {
  const config: pg.ClientConfig & { replication?: string } = {
    connectionString: url,
    options: sessionOptions,
    application_name: options.applicationName ?? `braid:${source}`,
    connectionTimeoutMillis: 10_000
  }
  if (options.replication === true) config.replication = 'database'
  const client = new pg.Client(config)
  // A broken connection is reported by the next query; an 'error' event without a listener would crash the process.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    await client.end().catch(() => {})
    throw sourceError(source, url, err, options.replication === true ? 'opening a replication connection' : 'connecting')
  }
  return client
}

/** Runs a query returning every column as its text output (no `pg` type parsing). */
export async function queryText (client: pg.Client, text: string, values: unknown[] = []): Promise<pg.QueryResult<Record<string, string | null>>> {
  return await client.query({ text, values, types: textTypes })
}

const textTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig

interface PgLikeError {
  code?: string
  message?: string
}

/** A PostgreSQL or network failure as a BraidError of the source codes, with the fix. */
export function sourceError (source: string, url: string, err: unknown, doing: string): BraidError {
  if (isBraidError(err)) return err
  const e = (typeof err === 'object' && err !== null ? err : {}) as PgLikeError
  const text = e.message ?? String(err)
  const where = `source "${source}" (${safeUrl(url)}): ${doing}`
  const details = { source, sqlState: e.code ?? null }
  const make = (code: 'BRAID_SOURCE_UNAVAILABLE' | 'BRAID_SOURCE_WAL_LEVEL' | 'BRAID_SOURCE_PERMISSION' | 'BRAID_SOURCE_INVALID', hint: string, retryable?: boolean): BraidError =>
    new BraidError(code, `${where}: ${text}${hint === '' ? '' : `; ${hint}`}`, { details, cause: err, ...(retryable === undefined ? {} : { retryable }) })
  const state = e.code ?? ''
  if (/wal_level/i.test(text)) return make('BRAID_SOURCE_WAL_LEVEL', 'set wal_level = logical (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL')
  if (state === '42501') return make('BRAID_SOURCE_PERMISSION', 'grant the privilege named above to the source\'s user (see docs/connectors.md#permissions)')
  if (state === '28000' && /replication/i.test(text)) return make('BRAID_SOURCE_PERMISSION', 'give the user the REPLICATION attribute (ALTER ROLE … WITH REPLICATION), and let it connect to this database in pg_hba.conf (logical replication connections match the database\'s lines, not the "replication" keyword)')
  if (state.startsWith('28')) return make('BRAID_SOURCE_PERMISSION', 'check the user and password of the url')
  if (state === '3D000') return make('BRAID_SOURCE_INVALID', 'create the database or fix the url')
  if (state === '55006') return make('BRAID_SOURCE_INVALID', 'another process streams this slot; stop it, or give this source its own slot (retrying)', true)
  if (state === '53400') return make('BRAID_SOURCE_INVALID', 'raise max_replication_slots / max_wal_senders, or drop unused slots (retrying)', true)
  if (state === '42704') return make('BRAID_SOURCE_INVALID', '')
  return make('BRAID_SOURCE_UNAVAILABLE', '')
}

/** The URL without user and password, for messages. */
export function safeUrl (url: string): string {
  return describeConnection({ url })
}

/** A source's database for the status: host, port and database (never credentials), and the variable it came from. */
export function describeSource (ref: ConnectionRef, resolved: string): string {
  if (resolved === '') return describeConnection(ref)
  return 'env' in ref ? `${safeUrl(resolved)} ($${ref.env})` : safeUrl(resolved)
}
