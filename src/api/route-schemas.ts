/**
 * JSON schemas of the routes, for the OpenAPI document (`/documentation/json`, `openapi.json`):
 * parameters, query strings and every response, errors included. The read routes check their query
 * strings themselves (with the CRUD Service's messages, see query.ts) and send exactly what they
 * computed, so their schemas document rather than validate: `documented` gives a route no-op
 * validation and plain JSON serialization. The fuzz test (scripts/fuzz-api.sh) checks that the
 * answers conform to these schemas.
 * @module
 */
import type { FastifySchema, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import { DEFAULT_LIMIT, MAX_LIMIT } from './query.ts'
import type { DocumentSchema, JsonSchema } from './schema.ts'

type Schema = Record<string, unknown>

/** Route options that make `schema` documentation only (see the module comment). */
export function documented (schema: FastifySchema): { schema: FastifySchema, validatorCompiler: FastifySchemaCompiler<unknown>, serializerCompiler: FastifySerializerCompiler<unknown> } {
  return { schema, validatorCompiler: () => () => true, serializerCompiler: () => data => JSON.stringify(data) }
}

// ---------------------------------------------------------------- components

export const errorBody: Schema = {
  type: 'object',
  description: 'braid\'s error body; `code` is one of docs/errors.md (or a Fastify code such as FST_ERR_CTP_INVALID_MEDIA_TYPE), `details` gives structured context.',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true }
  }
}

export const notFoundBody: Schema = {
  type: 'object',
  description: 'The CRUD Service\'s not-found body.',
  required: ['error'],
  properties: { error: { type: 'string', enum: ['not found'] } }
}

export const healthBody: Schema = {
  type: 'object',
  required: ['status', 'name', 'version'],
  properties: { status: { type: 'string', enum: ['OK', 'KO'] }, name: { type: 'string' }, version: { type: 'string' }, message: { type: 'string' } }
}

/** The schema `GET …/schema` answers with (a JSON schema of documents). */
export const documentSchemaBody: Schema = {
  type: 'object',
  required: ['type', 'properties', 'required'],
  properties: {
    type: { type: 'string', enum: ['object'] },
    properties: { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } },
    required: { type: 'array', items: { type: 'string' } }
  }
}

export const components = { Error: errorBody, NotFound: notFoundBody, Health: healthBody, DocumentSchema: documentSchemaBody }

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` })

/** Component name of a view's or projection's document schema. */
export function documentComponent (kind: 'single-views' | 'projections', name: string): string {
  return `${kind === 'single-views' ? 'single-view' : 'projection'}.${name}`
}

/**
 * The schema of served documents: the collection's properties, no `required` (`_p` and `_rawp` can
 * leave any field out), other properties allowed (`_rawp` computes new ones).
 */
export function servedDocument (schema: DocumentSchema, description: string): Schema {
  return { type: 'object', description, properties: schema.properties, additionalProperties: true }
}

// ---------------------------------------------------------------- responses

const json = (schema: Schema, description: string): Schema => ({ description, content: { 'application/json': { schema } } })

const errorDescriptions: Record<number, string> = {
  400: 'Invalid request: a query parameter or body out of rule (`BRAID_QUERY_INVALID`, `BRAID_INGEST_INVALID`, …).',
  406: 'No acceptable format for the `Accept` header.',
  413: 'The request body is larger than `api.bodyLimit`.',
  415: 'The request body is not JSON.',
  500: 'Unexpected failure.',
  503: 'The store or the event log is unavailable (`BRAID_STORE_UNAVAILABLE`, `BRAID_LOG_UNAVAILABLE`), or braid is not ready.'
}

/** One error response in braid's error shape. */
export function errorResponse (description: string): Schema {
  return json(ref('Error'), description)
}

/** Error responses by status, in braid's error shape (404: `{"error":"not found"}`). */
export function errors (...statuses: number[]): Record<string, Schema> {
  const out: Record<string, Schema> = {}
  for (const status of statuses) {
    out[String(status)] = status === 404
      ? json(ref('NotFound'), 'No such view, projection, document or route.')
      : json(ref('Error'), errorDescriptions[status] ?? 'Error.')
  }
  return out
}

/** The 401/403/429 answers of the access control, added to every protected operation by the OpenAPI transform. */
export const accessResponses = {
  401: json(ref('Error'), 'Missing, invalid or expired credentials (`BRAID_UNAUTHENTICATED`); the `WWW-Authenticate` header says why.'),
  403: json(ref('Error'), 'The credentials lack the scope of this route (`BRAID_FORBIDDEN`); `details.required` names it.'),
  429: {
    ...json(ref('Error'), 'Rate limit reached (`BRAID_RATE_LIMITED`).'),
    headers: { 'retry-after': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } }
  }
}

// ---------------------------------------------------------------- collection read routes

const stateParam: Schema = {
  type: 'string',
  pattern: '^\\s*(PUBLIC|DRAFT|TRASH|DELETED)\\s*(,\\s*(PUBLIC|DRAFT|TRASH|DELETED)\\s*)*$',
  description: 'Comma list of states to read (default PUBLIC): PUBLIC, DRAFT, TRASH, DELETED.'
}

const readParams: Record<string, Schema> = {
  _q: { type: 'string', description: 'A MongoDB filter as JSON, e.g. `{"tier.code":"gold"}`. Fields must be in the schema; operators: $and, $or at the top; $gt $lt $gte $lte $eq $ne $in $nin $all $exists $regex $options $elemMatch $size $not on fields.' },
  _st: stateParam,
  _p: { type: 'string', description: 'Comma list of fields to return (`_id` always).' },
  _rawp: { type: 'string', description: 'A raw MongoDB projection as JSON: inclusion, exclusion or expressions with $eq $gt $gte $in $lt $lte $ne $nin $and $not $nor $or $exists $type $cond $regexMatch $mod $all $elemMatch $size $filter $reduce $concatArrays $first $map $dateToString and `$<field>`; not with `_p`.' },
  _s: { type: 'array', items: { type: 'string' }, description: 'Sort: `field` or `-field` (descending), comma list or repeated.' },
  _l: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, description: `Page size (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}).` },
  _sk: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Documents to skip.' },
  _useEstimate: { type: 'boolean', description: '`true`: count every document of the collection, ignoring every other parameter and the state.' },
  _exportOpts: { type: 'string', description: 'CSV options as JSON (text/csv only): `delimiter`, `header` (true/false), `record_delimiter` (unix, windows, mac).' }
}

const exportLimit: Schema = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Documents at most (no default, no maximum).' }

/**
 * `field=value` query parameters of a collection: every scalar field (and array of scalars) of the
 * schema, nested ones by dotted path, typed as the query casts them.
 */
export function fieldParams (schema: DocumentSchema): Record<string, Schema> {
  const out: Record<string, Schema> = {}
  const visit = (path: string, s: JsonSchema, depth: number): void => {
    const items = s.type === 'array' ? s.items : undefined
    const leaf = items ?? s
    if (leaf.type === 'object') {
      if (depth < 4) for (const [k, sub] of Object.entries(leaf.properties ?? {})) visit(`${path}.${k}`, sub, depth + 1)
      return
    }
    if (leaf.type === 'array') return
    const param: Schema = { type: leaf.type ?? 'string', description: `Equality filter on \`${path}\`${items === undefined ? '' : ' (any element)'}.` }
    if (leaf.format !== undefined) param['format'] = leaf.format
    if (leaf.enum !== undefined) param['enum'] = leaf.enum
    out[path] = param
  }
  for (const [name, s] of Object.entries(schema.properties)) visit(name, s, 0)
  return out
}

export type ReadOperation = 'list' | 'byId' | 'count' | 'export' | 'schema' | 'changes' | 'lineage'

export interface CollectionDoc {
  kind: 'single-views' | 'projections'
  name: string
  schema: DocumentSchema
  /** The mount (`/single-views/x` or an endpointBasePath), for operation ids. */
  base: string
}

const operationSummaries: Record<ReadOperation, string> = {
  list: 'List documents (a JSON array, at most _l)',
  byId: 'One document by _id',
  count: 'Count documents',
  export: 'Export every matching document (ndjson, JSON or CSV by Accept)',
  schema: 'JSON schema of the documents',
  changes: 'Live changes (Server-Sent Events)',
  lineage: 'The projection records a view was built from'
}

/** The route schema of one read operation of a collection. */
export function readRouteSchema (op: ReadOperation, c: CollectionDoc): FastifySchema & Schema {
  const kindName = c.kind === 'single-views' ? 'single view' : 'projection'
  const item = ref(documentComponent(c.kind, c.name))
  const fields = fieldParams(c.schema)
  const query = (names: readonly string[], extra: Record<string, Schema> = {}): Schema => ({
    type: 'object',
    properties: { ...fields, ...Object.fromEntries(names.map(n => [n, readParams[n] as Schema])), ...extra }
  })
  const base: Schema = {
    tags: [`${kindName} ${c.name}`],
    summary: `${operationSummaries[op]}: ${kindName} ${c.name}`,
    operationId: operationId(op, c)
  }
  switch (op) {
    case 'list':
      return { ...base, querystring: query(['_q', '_st', '_p', '_rawp', '_s', '_l', '_sk']), response: { 200: json({ type: 'array', items: item }, 'The documents.'), ...errors(400, 500, 503) } }
    case 'byId':
      return {
        ...base,
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'The document `_id`.' } } },
        querystring: query(['_q', '_st', '_p', '_rawp']),
        response: { 200: json(item, 'The document.'), ...errors(400, 404, 500, 503) }
      }
    case 'count':
      return { ...base, querystring: query(['_q', '_st', '_useEstimate']), response: { 200: json({ type: 'integer', minimum: 0 }, 'The number of matching documents.'), ...errors(400, 500, 503) } }
    case 'export':
      return {
        ...base,
        description: 'Streamed with constant memory, no page limit. Format by `Accept` (q-weights honoured): application/x-ndjson (default, also */*), application/json, text/csv; anything else 406.',
        headers: { type: 'object', properties: { accept: { type: 'string', description: 'application/x-ndjson, application/json or text/csv.' } } },
        querystring: query(['_q', '_st', '_p', '_rawp', '_s', '_sk', '_exportOpts'], { _l: exportLimit }),
        response: {
          200: {
            description: 'The documents, one JSON object a line (ndjson), as a JSON array, or as CSV.',
            content: {
              'application/x-ndjson': { schema: { type: 'string' } },
              'application/json': { schema: { type: 'array', items: item } },
              'text/csv': { schema: { type: 'string' } }
            }
          },
          ...errors(400, 406, 500, 503)
        }
      }
    case 'schema':
      return { ...base, response: { 200: json(ref('DocumentSchema'), 'The JSON schema of the documents: `{ type, properties, required }`.') } }
    case 'changes':
      return {
        ...base,
        description: 'sv-update events as Server-Sent Events (`event: sv-update`, `id: <partition>:<offset>`), filtered by `key` and `_q`, resumed after `Last-Event-ID`; `: heartbeat` every 15 s; a client too slow gets `event: dropped`.',
        headers: { type: 'object', properties: { 'last-event-id': { type: 'string', description: 'Resume right after this event id.' } } },
        querystring: {
          type: 'object',
          properties: {
            key: { type: 'string', description: 'Only the view with this key, as JSON, e.g. `{"email":"ada@example.com"}`.' },
            _q: readParams['_q'],
            lastEventId: { type: 'string', description: 'As the Last-Event-ID header.' }
          }
        },
        response: { 200: { description: 'The event stream (never ends by itself).', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(400, 404, 500, 503) }
      }
    case 'lineage':
      return {
        ...base,
        description: 'The identifier as `?identifier={"field":"value"}` or one parameter per identifier field.',
        querystring: { type: 'object', properties: { identifier: { type: 'string', description: 'The view identifier as JSON.' } }, additionalProperties: { type: 'string' } },
        response: {
          200: json({
            type: 'object',
            required: ['identifier', 'view', 'stored', 'lineage'],
            properties: {
              identifier: { type: 'object', additionalProperties: true },
              view: { type: 'object', nullable: true, additionalProperties: true },
              stored: { type: 'object', nullable: true, additionalProperties: true },
              reason: { type: 'string' },
              lineage: { type: 'array', items: { type: 'object', additionalProperties: true } }
            }
          }, 'The view as rebuilt now, the stored one, and the records it comes from.'),
          ...errors(400, 404, 500, 503)
        }
      }
  }
}

function operationId (op: ReadOperation, c: CollectionDoc): string {
  const defaultBase = `/${c.kind}/${c.name}`
  const suffix = c.base === defaultBase ? '' : `@${c.base}`
  return `${c.kind === 'single-views' ? 'singleView' : 'projection'}.${c.name}.${op}${suffix}`
}
