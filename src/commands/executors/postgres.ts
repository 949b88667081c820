/**
 * The PostgreSQL executor: `sql` statements (named parameters) or an `upsert`, run in one
 * transaction together with the insert of the command id into the target's applied table
 * (`braid_commands_applied`). A command whose id is already there was applied by an earlier attempt
 * (braid stopped or crashed before recording it): it is not applied again and its stored result is
 * returned, so a command takes effect exactly once however often it is delivered.
 * @module
 */
import pg from 'pg'
import type { Logger } from '../../logger.ts'
import type { CommandDefinition, PostgresTargetDefinition, SqlStatement } from '../../model/command.ts'
import { getPath } from '../../model/key.ts'
import { FailureKind } from '../types.ts'
import { attemptError, networkCode, secretValue, shortMessage, type Attempt, type AttemptOutcome, type TargetExecutor } from './executor.ts'

/** Rows of a statement's result kept in the command's status (RETURNING …). */
const maxResultRows = 100

/** `"schema"."table"` from `schema.table`. */
export function quoteQualified (name: string): string {
  return name.split('.').map(quoteIdentifier).join('.')
}

export function quoteIdentifier (name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** The statement of an upsert executor. */
export function upsertStatement (table: string, key: readonly string[], columns: Record<string, string>): SqlStatement {
  const names = Object.keys(columns)
  const updates = names.filter(c => !key.includes(c)).map(c => `${quoteIdentifier(c)} = EXCLUDED.${quoteIdentifier(c)}`)
  const text = `INSERT INTO ${quoteQualified(table)} (${names.map(quoteIdentifier).join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) ` +
    `ON CONFLICT (${key.map(quoteIdentifier).join(', ')}) DO ${updates.length === 0 ? 'NOTHING' : `UPDATE SET ${updates.join(', ')}`}`
  return { source: text, text, params: names.map(c => columns[c] as string) }
}

/** SQLSTATEs of a failure worth another attempt on a reachable database. */
const retryableStates = new Set(['40001', '40P01', '55P03', '57014'])
/** SQLSTATEs meaning the database cannot be used now (shut down, starting, too many connections, …). */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '3D000'])
const connectionMessages = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i

/** A failed attempt, classified by SQLSTATE. */
export function classifyPostgresError (err: unknown, target: string): Error {
  const state = typeof (err as { code?: unknown })?.code === 'string' && /^[0-9A-Z]{5}$/.test((err as { code: string }).code) ? (err as { code: string }).code : undefined
  const message = shortMessage(err)
  if (networkCode(err) !== undefined || (state === undefined && connectionMessages.test(message))) {
    return attemptError(FailureKind.unavailable, `target ${target} cannot be reached: ${message}`, err)
  }
  if (state === undefined) return attemptError(FailureKind.retryable, `target ${target}: ${message}`, err)
  const details = { sqlState: state }
  if (state.startsWith('08') || state.startsWith('53') || state.startsWith('28') || unavailableStates.has(state)) {
    return attemptError(FailureKind.unavailable, `target ${target} cannot be used (SQLSTATE ${state}): ${message}`, err, details)
  }
  if (retryableStates.has(state)) return attemptError(FailureKind.retryable, `target ${target} (SQLSTATE ${state}): ${message}`, err, details)
  return attemptError(FailureKind.rejected, `target ${target} rejected the command (SQLSTATE ${state}): ${message}`, err, details)
}

function parameter (payload: unknown, path: string): unknown {
  const value = getPath(payload, path)
  return value === undefined ? null : value
}

function summary (r: pg.QueryResult): Record<string, unknown> {
  const out: Record<string, unknown> = { command: r.command, rowCount: r.rowCount }
  if (r.fields.length > 0) out['rows'] = r.rows.slice(0, maxResultRows)
  return out
}

export class PostgresExecutor implements TargetExecutor {
  readonly #target: PostgresTargetDefinition
  readonly #pool: pg.Pool
  readonly #applied: string
  readonly #upserts = new Map<string, SqlStatement>()
  #ready: Promise<void> | undefined

  constructor (target: PostgresTargetDefinition, logger: Logger) {
    this.#target = target
    this.#applied = quoteQualified(target.appliedTable)
    this.#pool = new pg.Pool({
      connectionString: secretValue(target.url, `commands.targets.${target.name}.postgres.url`),
      max: target.poolSize,
      connectionTimeoutMillis: 10_000, // 10 seconds
      idleTimeoutMillis: 30_000, // 30 seconds
      application_name: 'braid-commands'
    })
    // An idle connection dropped by the server must not crash the process; the next attempt reconnects.
    this.#pool.on('error', err => logger.warn({ target: target.name, err: shortMessage(err) }, 'idle connection to a command target failed'))
  }

  async execute (attempt: Attempt): Promise<AttemptOutcome> {
    attempt.signal.throwIfAborted()
    const name = this.#target.name
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (err) {
      throw classifyPostgresError(err, name)
    }
    let broken: Error | undefined
    try {
      await this.#ensureAppliedTable(client)
      await client.query('BEGIN')
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(attempt.definition.timeoutMs))}`)
      const mark = await client.query(`INSERT INTO ${this.#applied} (id, command) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [attempt.id, attempt.definition.name])
      if (mark.rowCount === 0) {
        const prior = await client.query<{ result: unknown }>(`SELECT result FROM ${this.#applied} WHERE id = $1`, [attempt.id])
        await client.query('ROLLBACK')
        return withLsn({ result: prior.rows[0]?.result ?? null, alreadyApplied: true }, await currentLsn(client))
      }
      const statements = []
      for (const statement of this.#statements(attempt.definition)) {
        statements.push(summary(await client.query(statement.text, statement.params.map(p => parameter(attempt.payload, p)))))
      }
      const result = { statements }
      await client.query(`UPDATE ${this.#applied} SET result = $2 WHERE id = $1`, [attempt.id, JSON.stringify(result)])
      await client.query('COMMIT')
      return withLsn({ result }, await currentLsn(client))
    } catch (err) {
      const failure = classifyPostgresError(err, name)
      try {
        await client.query('ROLLBACK')
      } catch {
        broken = failure
      }
      throw failure
    } finally {
      client.release(broken)
    }
  }

  #statements (definition: CommandDefinition): SqlStatement[] {
    const executor = definition.executor
    if (executor.kind === 'sql') return executor.statements
    if (executor.kind !== 'upsert') throw attemptError(FailureKind.rejected, `command ${definition.name} is not an sql or upsert command`)
    let statement = this.#upserts.get(definition.name)
    if (statement === undefined) {
      statement = upsertStatement(executor.table, executor.key, executor.columns)
      this.#upserts.set(definition.name, statement)
    }
    return [statement]
  }

  /** Creates the applied table once (idempotent; a concurrent creation by another braid is fine). */
  async #ensureAppliedTable (client: pg.PoolClient): Promise<void> {
    this.#ready ??= (async () => {
      try {
        await client.query(`CREATE TABLE IF NOT EXISTS ${this.#applied} (id text PRIMARY KEY, command text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), result jsonb)`)
      } catch (err) {
        const state = (err as { code?: unknown }).code
        if (state !== '23505' && state !== '42P07') throw err
      }
    })()
    try {
      await this.#ready
    } catch (err) {
      this.#ready = undefined
      throw err
    }
  }

  async close (): Promise<void> {
    await this.#pool.end()
  }
}

function withLsn (outcome: AttemptOutcome, lsn: string | undefined): AttemptOutcome {
  if (lsn !== undefined) outcome.commitLsn = lsn
  return outcome
}

/**
 * The WAL insert position now: after a commit on this connection, at or past the end of its commit
 * record. Not `pg_current_wal_lsn()`, the write position: with `synchronous_commit = off` a commit
 * returns before its record is written, and the write position can still be before it.
 * Undefined on a standby or without the right.
 */
async function currentLsn (client: pg.PoolClient): Promise<string | undefined> {
  try {
    const r = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')
    return r.rows[0]?.lsn
  } catch {
    return undefined
  }
}
