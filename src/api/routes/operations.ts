import type { FastifyInstance } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import { SystemCollection } from '../../runtime/collections.ts'
import type { BraidService } from '../../runtime/types.ts'
import { parseFilter, parseReadQuery } from '../query.ts'

/** Lineage, dead letters and sv-errors. */
export function registerOperationsRoutes (app: FastifyInstance, service: BraidService): void {
  app.get<{ Params: { name: string }, Querystring: Record<string, string> }>('/single-views/:name/lineage', async (request) => {
    const name = request.params.name
    if (!service.pipeline.singleViews.has(name)) throw new BraidError('BRAID_NOT_FOUND', `no single view "${name}"`)
    const identifier = identifierFrom(request.query)
    const result = await service.explain(name, identifier)
    if (result.view !== null || result.stored !== null || request.query['identifier'] !== undefined) return result
    // `?id=1` means 1 or "1", as on the read routes: try the JSON scalar reading when the text finds nothing.
    const typed = typedIdentifier(identifier)
    if (typed === undefined) return result
    const retry = await service.explain(name, typed)
    return retry.view !== null || retry.stored !== null ? retry : result
  })

  app.get<{ Querystring: Record<string, string> }>('/-/dead-letters', async (request) => {
    const { filter, options } = parseReadQuery(request.query, { paged: true, stateful: false })
    return service.store.find(SystemCollection.deadLetters, filter, { sort: { at: -1 }, ...options })
  })
  app.post<{ Params: { id: string } }>('/-/dead-letters/:id/replay', async (request, reply) => {
    await service.replayDeadLetter(request.params.id)
    return reply.code(202).send({ replayed: request.params.id })
  })
  app.get<{ Querystring: Record<string, string> }>('/-/sv-errors', async (request) => {
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
