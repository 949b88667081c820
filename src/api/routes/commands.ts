/**
 * The write stream over HTTP (docs/commands.md):
 *
 * | route | scope |
 * |---|---|
 * | `POST /commands/{name}` (payload as JSON body, `Idempotency-Key` header, `?waitFor=<view>`) | `command:{name}` |
 * | `GET /commands/{id}` | `command:{name}` of that command, or `admin` |
 * | `GET /commands?status=&name=&_l=&_sk=` | `admin` |
 * | `GET /-/commands` (definitions, targets and their circuits) | `admin` |
 * | `GET /-/commands/dead-letters` | `admin` |
 * | `POST /-/commands/{id}/retry` | `admin` |
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { CommandService, CommandsOverview, CommandView } from '../../commands/types.ts'
import { BraidError } from '../../errors.ts'
import { CommandStatus } from '../../model/command.ts'
import type { BraidService } from '../../runtime/types.ts'
import { Access, grants } from '../auth/scopes.ts'
import { documented, errorResponse, errors } from '../route-schemas.ts'

const admin = { scope: Access.admin } as const

/** The scope that lets a caller send command `name` and read its status. */
export const commandScope = (name: string): string => `command:${name}`

const listParameters = new Set(['status', 'name', '_l', '_sk'])

type Schema = Record<string, unknown>

const nullableTime: Schema = { type: 'string', format: 'date-time', nullable: true }

/** A command as `GET /commands/{id}` answers it (documentation only: see route-schemas.ts). */
const commandBody: Schema = {
  type: 'object',
  required: ['id', 'name', 'target', 'status', 'attempts', 'createdAt', 'updatedAt', 'startedAt', 'finishedAt', 'circuit', 'statusUrl'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    target: { type: 'string' },
    status: { type: 'string', enum: Object.values(CommandStatus) },
    attempts: { type: 'integer', description: 'Attempts of the current run.' },
    payload: { description: 'The payload as sent.' },
    idempotencyKey: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    startedAt: nullableTime,
    finishedAt: nullableTime,
    waiting: { type: 'string', enum: ['backoff', 'circuit-open'], description: 'Why a pending command is not running.' },
    nextAttemptAt: { type: 'string', format: 'date-time' },
    error: {
      type: 'object',
      description: 'The last failure.',
      properties: { code: { type: 'string' }, message: { type: 'string' }, kind: { type: 'string', enum: ['unavailable', 'retryable', 'rejected'] }, at: { type: 'string', format: 'date-time' } }
    },
    result: { description: 'sql/upsert: `{ statements: [{ command, rowCount, rows? }] }`; http: `{ status, body }`; function: its result.' },
    alreadyApplied: { type: 'boolean', description: 'The target had already recorded this command id: not applied again.' },
    circuit: { type: 'string', enum: ['closed', 'open', 'half-open'], description: 'The target\'s circuit breaker now.' },
    waitFor: {
      type: 'object',
      properties: {
        view: { type: 'string' },
        reachedView: { type: 'boolean' },
        stage: { type: 'string', enum: ['committed', 'captured', 'projected', 'reached'] },
        reachedAt: { type: 'string', format: 'date-time' },
        timedOut: { type: 'boolean' }
      }
    },
    retries: { type: 'integer', description: 'Times the failed command was sent again.' },
    statusUrl: { type: 'string' }
  }
}

const json = (schema: Schema, description: string): Schema => ({ description, content: { 'application/json': { schema } } })
const idParams: Schema = { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'The command id (from the 202 answer or its Location).' } } }
const pageProperties: Schema = {
  name: { type: 'string', description: 'A command name.' },
  _l: { type: 'integer', minimum: 1, maximum: 200, description: 'Page size (default 25).' },
  _sk: { type: 'integer', minimum: 0, description: 'Commands to skip.' }
}
const pageQuery: Schema = { type: 'object', properties: { status: { type: 'string', enum: Object.values(CommandStatus) }, ...pageProperties } }

export function registerCommandRoutes (app: FastifyInstance, service: BraidService, commands: CommandService): void {
  for (const name of commands.names()) {
    const definition = service.pipeline.commands?.definitions.get(name)
    app.post<{ Body: unknown, Querystring: Record<string, string | string[]> }>(`/commands/${name}`, {
      config: { scope: commandScope(name) },
      ...documented({
        tags: ['commands'],
        summary: `Send the command ${name} (202 once queued)`,
        description: 'Validates the payload against the command\'s schema and queues it. The same `Idempotency-Key` names the same command, executed once. `waitFor` makes the status report `reachedView` once the change is in that single view (docs/commands.md).',
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255, description: 'Same key (for this command) → same command.' } } },
        querystring: { type: 'object', properties: { waitFor: { type: 'string', description: 'A single view.' } } },
        body: payloadDoc(definition?.payloadSchema),
        response: {
          202: { ...json(commandBody, 'Queued (or, with a known Idempotency-Key, the existing command).'), headers: { location: { schema: { type: 'string' } }, 'idempotent-replayed': { schema: { type: 'string', enum: ['true'] } } } },
          400: errorResponse('The payload does not match the schema (`BRAID_COMMAND_INVALID`, `details.errors`), or waitFor/Idempotency-Key is invalid.'),
          409: errorResponse('The Idempotency-Key was used with another payload (`BRAID_IDEMPOTENCY_CONFLICT`).'),
          ...errors(415, 500, 503)
        }
      })
    }, async (request, reply) => {
      const extra = Object.keys(request.query).filter(k => k !== 'waitFor')
      if (extra.length > 0) throw invalid(`unknown query parameter ${extra.map(k => JSON.stringify(k)).join(', ')}; the only one is waitFor`, 'querystring')
      const waitFor = single(request.query['waitFor'], 'waitFor')
      const idempotencyKey = single(request.headers['idempotency-key'], 'Idempotency-Key')
      const result = await commands.submit(name, request.body ?? null, {
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(waitFor === undefined ? {} : { waitFor })
      })
      if (result.replayed) void reply.header('idempotent-replayed', 'true')
      return reply.code(202).header('location', result.command.statusUrl).send(result.command)
    })
  }

  app.get<{ Params: { id: string } }>('/commands/:id', {
    config: { scope: Access.authenticated },
    ...documented({
      tags: ['commands'],
      summary: 'Status of a command: pending, running, succeeded or failed, with attempts, error, result and waitFor',
      description: 'Needs the scope `command:<name>` of the command (or `command:*`, or `admin`).',
      params: idParams,
      response: { 200: json(commandBody, 'The command.'), ...errors(404, 500, 503) }
    })
  }, async request => {
    const command = await commands.get(request.params.id)
    allowed(request, command)
    return command
  })

  app.get<{ Querystring: Record<string, string | string[]> }>('/commands', {
    config: admin,
    ...documented({
      tags: ['commands'],
      summary: 'Commands, newest first; `status=failed` lists the dead letters',
      querystring: pageQuery,
      response: { 200: json({ type: 'array', items: commandBody }, 'The commands.'), ...errors(400, 500, 503) }
    })
  }, async request => await commands.list(listOptions(request.query)))

  app.get('/-/commands', {
    config: admin,
    ...documented({
      tags: ['commands'],
      summary: 'Command definitions (payload schema, key, executor), queue lag, counts by status, each target\'s circuit breaker',
      response: { 200: json({ type: 'object', additionalProperties: true }, 'The write stream.'), ...errors(500, 503) }
    })
  }, async (): Promise<CommandsOverview> => {
    const definitions = service.pipeline.commands?.definitions ?? new Map()
    const status = await commands.status()
    return {
      ...status,
      definitions: [...definitions.values()].map(d => ({ name: d.name, target: d.target, executor: d.executor.kind, key: d.key, payload: d.payloadSchema, url: `/commands/${d.name}` }))
    }
  })

  app.get<{ Querystring: Record<string, string | string[]> }>('/-/commands/dead-letters', {
    config: admin,
    ...documented({
      tags: ['commands'],
      summary: 'Failed commands (dead letters), newest first',
      querystring: { type: 'object', properties: pageProperties },
      response: { 200: json({ type: 'array', items: commandBody }, 'The failed commands.'), ...errors(400, 500, 503) }
    })
  }, async request => await commands.list({ ...listOptions({ ...request.query, status: CommandStatus.failed }) }))

  app.post<{ Params: { id: string } }>('/-/commands/:id/retry', {
    config: admin,
    ...documented({
      tags: ['commands'],
      summary: 'Send a failed command again: a new run, attempts from zero',
      params: idParams,
      response: {
        202: json(commandBody, 'Queued again.'),
        409: errorResponse('The command is not failed (`BRAID_COMMAND_STATE_CONFLICT`).'),
        ...errors(404, 500, 503)
      }
    })
  }, async (request, reply) => {
    const command = await commands.retry(request.params.id)
    return reply.code(202).header('location', command.statusUrl).send(command)
  })
}

/** The payload schema for the OpenAPI document, without the keywords that would register it as a shared schema. */
function payloadDoc (schema: Record<string, unknown> | undefined): Schema {
  if (schema === undefined) return {}
  const { $id: _id, $schema: _schema, ...rest } = schema
  return rest
}

/** With authentication on, a command's status is for callers that may send it, and admins. */
function allowed (request: FastifyRequest, command: CommandView): void {
  const identity = request.identity
  if (identity === null || identity === undefined) return
  const scopes = identity.scopes
  if (grants(scopes, commandScope(command.name)) || scopes.has('command:*') || grants(scopes, Access.admin)) return
  throw new BraidError('BRAID_FORBIDDEN', `reading this command needs the scope ${commandScope(command.name)}`, { details: { required: commandScope(command.name) } })
}

function single (value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw invalid(`give ${name} once`, name)
  return value
}

function invalid (message: string, path: string): BraidError {
  return new BraidError('BRAID_COMMAND_INVALID', message, { details: { errors: [{ path, message }] } })
}

function listOptions (query: Record<string, string | string[]>): { status?: CommandStatus, name?: string, limit: number, skip: number } {
  for (const k of Object.keys(query)) {
    if (!listParameters.has(k)) throw new BraidError('BRAID_QUERY_INVALID', `unknown query parameter "${k}"; expected status, name, _l, _sk`)
  }
  const text = (k: string): string | undefined => {
    const v = query[k]
    if (Array.isArray(v)) throw new BraidError('BRAID_QUERY_INVALID', `give ${k} once`)
    return v
  }
  const status = text('status')
  const statuses = Object.values(CommandStatus) as string[]
  if (status !== undefined && !statuses.includes(status)) throw new BraidError('BRAID_QUERY_INVALID', `status must be one of ${statuses.join(', ')}`)
  const limit = integer(text('_l'), '_l', 25, 1, 200)
  const skip = integer(text('_sk'), '_sk', 0, 0, Number.MAX_SAFE_INTEGER)
  const name = text('name')
  return { ...(status === undefined ? {} : { status: status as CommandStatus }), ...(name === undefined ? {} : { name }), limit, skip }
}

function integer (value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new BraidError('BRAID_QUERY_INVALID', `${name} must be an integer from ${min} to ${max}`)
  return n
}
