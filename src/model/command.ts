/**
 * Compiled command definitions (the write stream): commands sent back to the systems of record,
 * their targets (a PostgreSQL database, an HTTP API, custom code) and executors. Pure types.
 * @module
 */

/** Lifecycle of one command. */
export const CommandStatus = {
  pending: 'pending',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed'
} as const
export type CommandStatus = (typeof CommandStatus)[keyof typeof CommandStatus]

/** A secret as configured: the value, or the environment variable holding it (read at start). */
export type SecretValue = string | { env: string }

export interface RetryPolicy {
  /** Failed attempts that reached the target before a command is dead-lettered. */
  maxAttempts: number
  /** First backoff between attempts, ms; doubles up to `maxBackoffMs`. */
  initialBackoffMs: number
  maxBackoffMs: number
}

export interface BreakerPolicy {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number
  /** How long the circuit stays open before one probe is let through (half-open), ms. */
  cooldownMs: number
}

/**
 * Where `waitFor` reads how far the CDC of a target has come: a braid `postgres` source (the position
 * it has appended), or the logical replication slot of an outside CDC connector (its confirmed position).
 */
export type ChangeFeedDefinition =
  | { kind: 'source', source: string, url: SecretValue }
  | { kind: 'slot', slot: string, url: SecretValue }

interface TargetBase {
  name: string
  breaker: BreakerPolicy
  changeFeed?: ChangeFeedDefinition
}

export interface PostgresTargetDefinition extends TargetBase {
  kind: 'postgres'
  url: SecretValue
  /** Table recording applied command ids, written in the command's transaction (exactly once in effect). */
  appliedTable: string
  /** Connections of the target's pool. */
  poolSize: number
}

export interface HttpTargetDefinition extends TargetBase {
  kind: 'http'
  /** Base URL; command paths are resolved against it. */
  url: string
  headers: Record<string, SecretValue>
}

export interface CustomTargetDefinition extends TargetBase {
  kind: 'custom'
}

export type TargetDefinition = PostgresTargetDefinition | HttpTargetDefinition | CustomTargetDefinition

/** One SQL statement with named parameters (`:phone`, `:customer.id`) turned into `$1, $2…`. */
export interface SqlStatement {
  /** The statement as written. */
  source: string
  /** The statement with positional parameters. */
  text: string
  /** Payload path of each positional parameter, in order. */
  params: string[]
}

export interface SqlExecutor {
  kind: 'sql'
  statements: SqlStatement[]
}

export interface UpsertExecutor {
  kind: 'upsert'
  /** Table, optionally schema-qualified (`public.customers`). */
  table: string
  /** Conflict columns (a primary key or unique constraint). */
  key: string[]
  /** Column → payload path. */
  columns: Record<string, string>
}

export interface HttpExecutor {
  kind: 'http'
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Path template resolved against the target url; `{field}` is replaced by the URL-encoded payload value. */
  path: string
  /** Send the payload as the JSON body (true), or no body. */
  body: boolean
  headers: Record<string, SecretValue>
}

/** What a custom command function receives. */
export interface CommandFunctionContext {
  command: { id: string, name: string, target: string, idempotencyKey?: string }
  payload: unknown
  /** 1 for the first attempt. */
  attempt: number
  /** Aborted when braid stops or the command times out. */
  signal: AbortSignal
}

/**
 * A custom executor: resolves with a JSON-serialisable result. An error with `retryable: false` fails
 * the command at once; `unavailable: true` means the target could not be reached (it opens the
 * breaker and does not count as an attempt); anything else is retried.
 */
export type CommandFunction = (context: CommandFunctionContext) => unknown

export interface FunctionExecutor {
  kind: 'function'
  fn: CommandFunction
  /** Absolute path of the file, for messages. */
  file: string
}

export type ExecutorDefinition = SqlExecutor | UpsertExecutor | HttpExecutor | FunctionExecutor

/** Field errors of a payload, as ajv reports them (`/phone: must be string`). */
export interface PayloadError {
  /** JSON pointer into the payload (`/customer/id`, or '' for the payload itself). */
  path: string
  message: string
}

export interface CommandDefinition {
  name: string
  target: string
  /** JSON Schema of the payload, as configured. */
  payloadSchema: Record<string, unknown>
  /** Field errors of a payload; empty when valid. */
  validate: (payload: unknown) => PayloadError[]
  /** Payload paths of the target key: commands with the same key run one at a time, in order. Empty: no order. */
  key: string[]
  executor: ExecutorDefinition
  retry: RetryPolicy
  /** Time one attempt may take, ms (statement timeout, request timeout, function signal). */
  timeoutMs: number
}

export interface CommandsDefinition {
  /** Event-log topic of the command queue. */
  topic: string
  /** Partitions of the queue topic (per-key order holds in any case). */
  partitions: number
  /** Commands executed at once per queue batch (always one at a time per target key). */
  concurrency: number
  targets: Map<string, TargetDefinition>
  definitions: Map<string, CommandDefinition>
}
