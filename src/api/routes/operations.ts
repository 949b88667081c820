import type { FastifyInstance } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import { SystemCollection } from '../../runtime/collections.ts'
import type { BraidService } from '../../runtime/types.ts'
import { readScope } from '../auth/scopes.ts'
import { DEFAULT_LIMIT, MAX_LIMIT, parseFilter, parseReadQuery } from '../query.ts'
import { documented, errors, readRouteSchema } from '../route-schemas.ts'
import { singleViewSchema } from '../schema.ts'
import { routeSegment } from './collections.ts'

/** Lineage, dead letters and sv-errors. */
export function registerOperationsRoutes (app: FastifyInstance, service: BraidService): void {
  for (const def of service.pipeline.singleViews.values()) {
    const name = def.name
    const doc = { kind: 'single-views' as const, name, schema: singleViewSchema(service.pipeline, def), base: `/single-views/${name}` }
    app.get<{ Querystring: Record<string, string> }>(`/single-views/${routeSegment(name)}/lineage`, { config: { scope: readScope(name) }, ...documented(readRouteSchema('lineage', doc)) }, async (request) => {
      const identifier = identifierFrom(request.query)
      const result = await service.explain(name, identifier)
      if (result.view !== null || result.stored !== null || request.query['identifier'] !== undefined) return result
      // `?id=1` means 1 or "1", as on the read routes: try the JSON scalar reading when the text finds nothing.
      const typed = typedIdentifier(identifier)
      if (typed === undefined) return result
      const retry = await service.explain(name, typed)
      return retry.view !== null || retry.stored !== null ? retry : result
    })
  }

  const page = (what: string): Record<string, unknown> => ({
    type: 'object',
    properties: {
      _q: { type: 'string', description: `A MongoDB filter on the ${what} records, as JSON.` },
      _l: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, description: `Page size (default ${DEFAULT_LIMIT}).` },
      _sk: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Records to skip.' },
      _s: { type: 'array', items: { type: 'string' }, description: 'Sort: `field` or `-field`.' },
      _p: { type: 'string', description: 'Comma list of fields to return.' }
    },
    additionalProperties: { type: 'string' }
  })
  const records = (description: string): Record<string, unknown> => ({ description, content: { 'application/json': { schema: { type: 'array', items: { type: 'object', additionalProperties: true } } } } })

  app.get<{ Querystring: Record<string, string> }>('/-/dead-letters', documented({
    tags: ['operations'],
    summary: 'Dead letters: messages set aside, newest first',
    description: 'Filters: `_q`, `field=value` (e.g. `status=pending`, `topic=…`), paging `_l`/`_sk`.',
    querystring: page('dead-letter'),
    response: { 200: records('The dead letters.'), ...errors(400, 500, 503) }
  }), async (request) => {
    const { filter, options } = parseReadQuery(request.query, { paged: true, stateful: false })
    return service.store.find(SystemCollection.deadLetters, filter, { sort: { at: -1 }, ...options })
  })
  app.post<{ Params: { id: string } }>('/-/dead-letters/:id/replay', documented({
    tags: ['operations'],
    summary: 'Append a dead-lettered message to its topic again',
    params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
    response: {
      202: { description: 'Appended.', content: { 'application/json': { schema: { type: 'object', required: ['replayed'], properties: { replayed: { type: 'string' } } } } } },
      ...errors(404, 500, 503)
    }
  }), async (request, reply) => {
    await service.replayDeadLetter(request.params.id)
    return reply.code(202).send({ replayed: request.params.id })
  })
  app.get<{ Querystring: Record<string, string> }>('/-/sv-errors', documented({
    tags: ['operations'],
    summary: 'Views that failed to build, most recent first',
    querystring: { ...page('sv-error'), properties: { ...(page('sv-error')['properties'] as Record<string, unknown>), _st: { type: 'string', description: 'Comma list of states (default PUBLIC).' } } },
    response: { 200: records('The sv-error records.'), ...errors(400, 500, 503) }
  }), async (request) => {
    const { filter, options } = parseReadQuery(request.query, { paged: true })
    return service.store.find(SystemCollection.svErrors, filter, { sort: { updatedAt: -1 }, ...options })
  })
}

/** `?identifier={"email":"…"}` or one query parameter per identifier field. */
function identifierFrom (query: Record<string, string>): Doc {
  if (query['identifier'] !== undefined) return parseFilter(query['identifier'])
  const identifier: Doc = {}
  for (const [k, v] of Object.entries(query)) if (!k.startsWith('_')) identifier[k] = v
  if (Object.keys(identifier).length === 0) throw new BraidError('BRAID_QUERY_INVALID', 'give the identifier as ?identifier={"field":"value"} or one query parameter per identifier field')
  return identifier
}

/** The identifier with numeric and boolean texts read as JSON scalars; undefined when nothing changes. */
function typedIdentifier (identifier: Doc): Doc | undefined {
  let changed = false
  const out: Doc = {}
  for (const [k, v] of Object.entries(identifier)) {
    out[k] = v
    if (typeof v !== 'string') continue
    if (v === 'true' || v === 'false') out[k] = v === 'true'
    else if (v.trim() !== '' && Number.isFinite(Number(v))) out[k] = Number(v)
    changed ||= out[k] !== v
  }
  return changed ? out : undefined
}
