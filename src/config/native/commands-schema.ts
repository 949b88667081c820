/**
 * The `commands:` section of braid.yaml: the write stream. Commands are sent back to the systems of
 * record (a PostgreSQL database, an HTTP API, custom code) through a durable queue; their effect
 * comes back to the views through CDC. See docs/commands.md.
 * @module
 */
import { secret } from './engines-schema.ts'
import type { Infer, Schema } from './schema-builder.ts'
import { array, boolean, byType, integer, object, oneOf, optional, record, required, string } from './schema-builder.ts'

export const commandDefaults = {
  topic: 'braid.commands',
  partitions: 1,
  concurrency: 4,
  maxAttempts: 5,
  initialBackoffMs: 500, // 0.5 seconds
  maxBackoffMs: 30_000, // 30 seconds
  failureThreshold: 5,
  cooldownMs: 10_000, // 10 seconds
  timeoutMs: 30_000, // 30 seconds
  appliedTable: 'braid_commands_applied',
  poolSize: 4,
  httpMethod: 'POST'
} as const

const namePattern = '^[A-Za-z_][A-Za-z0-9_-]*$'
const nameRule = { pattern: namePattern, description: 'Names start with a letter or _ and contain letters, digits, _ and -.' }
/** SQL identifiers, optionally schema-qualified: `customers`, `public.customers`. */
const identifierPattern = '^[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?$'
const payloadPathPattern = '^[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*$'

const payloadPath = (description: string): Schema<string> => string({ title: 'a payload field like customer.id', description, pattern: payloadPathPattern })

const retry = object({
  maxAttempts: optional(integer({ description: 'Failed attempts that reached the target (errors, 5xx, timeouts) before the command is dead-lettered (`failed`). Attempts that could not reach it do not count: the command waits for the target.', default: commandDefaults.maxAttempts })),
  initialBackoffMs: optional(integer({ description: 'Wait before the second attempt, ms; doubles per attempt.', default: commandDefaults.initialBackoffMs })),
  maxBackoffMs: optional(integer({ description: 'Longest wait between attempts, ms.', default: commandDefaults.maxBackoffMs }))
}, { description: 'Retries with exponential backoff.' })

const breaker = object({
  failureThreshold: optional(integer({ description: 'Consecutive failures of a target that open its circuit: commands to it then wait instead of being attempted.', default: commandDefaults.failureThreshold })),
  cooldownMs: optional(integer({ description: 'How long an open circuit stays open before one probe command is let through (half-open), ms.', default: commandDefaults.cooldownMs }))
}, { description: 'The circuit breaker of a target.' })

const changeFeed = object({
  source: optional(string({ description: 'The `postgres` source (a key of `sources`) that captures this database: `waitFor` compares the position it has appended to the event log with the command\'s commit. The most precise choice.', minLength: 1 })),
  slot: optional(string({ description: 'For CDC outside braid (Debezium): the logical replication slot it reads this database with; `waitFor` compares the slot\'s confirmed position with the command\'s commit.', minLength: 1 })),
  url: optional(secret)
}, { description: 'Where `waitFor` learns how far CDC has read the target\'s database: `source` or `slot`. `url` (the database) defaults to a postgres target\'s own url, or the source\'s.' })

const headers = record(secret, { description: 'HTTP headers by name; values inline or `{ env: NAME }`.', default: {} })

const target = object({
  postgres: optional(object({
    url: required(secret),
    appliedTable: optional(string({ description: 'Table where braid records the id of every command it applied, in the command\'s own transaction (created when missing). A re-delivered command whose id is there is not applied again.', default: commandDefaults.appliedTable, pattern: identifierPattern })),
    poolSize: optional(integer({ description: 'Connections to the database.', default: commandDefaults.poolSize }))
  }, { description: 'A PostgreSQL database, written with `sql` or `upsert` commands in a transaction.' })),
  http: optional(object({
    url: required(string({ description: 'Base URL of the API (`https://crm.example.com/api/`); command paths are resolved against it.', minLength: 1 })),
    headers: optional(headers)
  }, { description: 'An HTTP API, called by `http` commands with the command id as `Idempotency-Key`.' })),
  breaker: optional(breaker),
  changeFeed: optional(changeFeed)
}, { description: 'A system of record commands are sent to: `postgres`, `http`, or neither (custom functions only).' })

const payloadSchema: Schema<Record<string, unknown>> = {
  json: { type: 'object', description: 'JSON Schema (draft-07) of the payload; `POST /commands/{name}` answers 400 with field errors when a payload does not match.' }
}

const sql = byType({
  string: string({ description: 'One SQL statement with named parameters `:field` (payload fields, dotted paths allowed).', minLength: 1 }),
  array: array(string({ description: 'An SQL statement with named parameters.', minLength: 1 }), { description: 'Statements run in order, in one transaction.', minItems: 1 })
}, { description: 'Parameterised SQL run in one transaction against a postgres target: `UPDATE customers SET phone = :phone WHERE customer_id = :customerId`.' })

const upsert = object({
  table: required(string({ description: 'The table, optionally schema-qualified.', pattern: identifierPattern })),
  key: required(byType({
    string: string({ description: 'The conflict column.', minLength: 1 }),
    array: array(string({ description: 'A conflict column.', minLength: 1 }), { description: 'Conflict columns (a primary key or unique constraint).', minItems: 1 })
  }, { description: 'The columns of the primary key or unique constraint the row is matched on.' })),
  columns: required(record(payloadPath('The payload field written to this column.'), { description: 'Column → payload field; the key columns must be among them.', minProperties: 1 }))
}, { description: '`INSERT … ON CONFLICT (key) DO UPDATE` of one row, in a transaction.' })

const http = object({
  method: optional(oneOf(['POST', 'PUT', 'PATCH', 'DELETE'], { description: 'HTTP method.', default: commandDefaults.httpMethod })),
  path: required(string({ description: 'Path resolved against the target url; `{field}` is replaced by the URL-encoded payload field (`customers/{customerId}/phone`).', minLength: 1 })),
  body: optional(boolean({ description: 'Send the payload as the JSON body.', default: true })),
  headers: optional(headers)
}, { description: 'A call to an http target: 2xx succeeds; 408, 429 and 5xx are retried; any other status fails the command.' })

const definition = object({
  target: required(string({ description: 'The target (a key of `commands.targets`).', minLength: 1 })),
  payload: required(payloadSchema),
  key: optional(byType({
    string: payloadPath('The payload field of the target key.'),
    array: array(payloadPath('A payload field of the target key.'), { description: 'Payload fields of the target key.', minItems: 1 })
  }, { description: 'The target key: commands with equal key values (and target) run one at a time, in the order accepted. Absent: no order between commands.' })),
  sql: optional(sql),
  upsert: optional(upsert),
  http: optional(http),
  function: optional(string({ title: 'a path to a .js, .cjs or .mjs file', description: 'A custom executor file, relative to this file: `async ({ command, payload, attempt, signal }) => result`.', minLength: 1 })),
  retry: optional(retry),
  timeoutMs: optional(integer({ description: 'Time one attempt may take, ms (statement timeout, request timeout, function signal).', default: commandDefaults.timeoutMs }))
}, { description: 'A command: a validated payload and how it is executed (exactly one of `sql`, `upsert`, `http`, `function`).' })

export const commandsSchema = object({
  topic: optional(string({ description: 'Event-log topic of the command queue (keyed by target key).', default: commandDefaults.topic, minLength: 1 })),
  partitions: optional(integer({ description: 'Partitions of the queue topic when braid creates it.', default: commandDefaults.partitions })),
  concurrency: optional(integer({ description: 'Commands of one queue batch executed at once (one at a time per target key).', default: commandDefaults.concurrency })),
  retry: optional(retry),
  breaker: optional(breaker),
  targets: required(record(target, { description: 'Systems of record by name.', propertyNames: nameRule, minProperties: 1 })),
  definitions: required(record(definition, { description: 'Commands by name (`POST /commands/{name}`).', propertyNames: nameRule, minProperties: 1 }))
}, { description: 'The write stream: commands to the systems of record (docs/commands.md).' })

export type NativeCommands = Infer<typeof commandsSchema>
export type NativeCommandTarget = Infer<typeof target>
export type NativeCommand = Infer<typeof definition>
