import type { FastifyInstance } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import type { BraidService } from '../../runtime/types.ts'
import { parseReadQuery, type QueryString } from '../query.ts'

type Kind = 'single-views' | 'projections'

/**
 * Read routes in the CRUD Service's shapes: `GET /{kind}/{name}/` (JSON array), `/count` (bare integer),
 * `/{id}` (by `_id`, 404 `{"error":"not found"}`). Projections are read-only.
 */
export function registerCollectionRoutes (app: FastifyInstance, service: BraidService): void {
  for (const kind of ['single-views', 'projections'] as const) {
    // The collection root answers with and without the trailing slash, as the CRUD Service's does.
    for (const root of [`/${kind}/:name/`, `/${kind}/:name`]) {
      app.get<{ Params: { name: string }, Querystring: QueryString }>(root, async (request) => {
        const collection = resolve(service, kind, request.params.name)
        const { filter, options } = parseReadQuery(request.query, { paged: true })
        const docs = await service.store.find(collection, filter, options)
        return docs.map(publicView)
      })
    }
    app.get<{ Params: { name: string }, Querystring: QueryString }>(`/${kind}/:name/count`, async (request) => {
      const collection = resolve(service, kind, request.params.name)
      const { filter } = parseReadQuery(request.query, { paged: false })
      return service.store.count(collection, filter)
    })
    app.get<{ Params: { name: string, id: string }, Querystring: QueryString }>(`/${kind}/:name/:id`, async (request) => {
      const collection = resolve(service, kind, request.params.name)
      // _q, field filters and the _st state filter (default PUBLIC), plus the _id.
      const { filter } = parseReadQuery(request.query, { paged: false })
      const docs = await service.store.find(collection, { $and: [filter, { _id: request.params.id }] }, { limit: 1 })
      const doc = docs[0]
      if (doc === undefined) throw new BraidError('BRAID_NOT_FOUND', 'document not found')
      return publicView(doc)
    })
  }
}

function resolve (service: BraidService, kind: Kind, name: string): string {
  const def = kind === 'single-views' ? service.pipeline.singleViews.get(name) : service.pipeline.projections.get(name)
  if (def === undefined) throw new BraidError('BRAID_NOT_FOUND', `no ${kind === 'single-views' ? 'single view' : 'projection'} "${name}"`)
  return def.collection
}

/** Drops braid's internal bookkeeping fields (`__internal__*`) from API output. */
export function publicView (doc: Doc): Doc {
  const out: Doc = {}
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('__internal__')) out[k] = v
  return out
}
