import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import type { ProjectionDefinition } from '../../model/projection.ts'
import type { SingleViewDefinition } from '../../model/single-view.ts'
import type { BraidService } from '../../runtime/types.ts'
import {
  closeSignal, csvSerializer, documentPages, exportContentTypes, jsonArraySerializer, ndjsonSerializer, negotiateExport, onePage, sendDocuments,
  type Serializer
} from '../export.ts'
import { parseReadQuery, READ_PARAMETERS, type QueryString, type ReadQuery, type ReadQueryOptions } from '../query.ts'
import { projectionSchema, singleViewSchema, type DocumentSchema } from '../schema.ts'

type Kind = 'single-views' | 'projections'

/** The collection a request reads. */
type Target =
  | { kind: 'single-views', def: SingleViewDefinition }
  | { kind: 'projections', def: ProjectionDefinition }

type Request = FastifyRequest<{ Params: { name?: string, id?: string }, Querystring: QueryString }>
type Resolver = (request: Request) => Target

/**
 * Read routes in the CRUD Service's shapes: `GET {base}/` (JSON array, streamed), `/count` (bare
 * integer), `/export` (ndjson, JSON or CSV by Accept, streamed, no page limit), `/schema` (JSON schema
 * of the documents) and `/{id}` (by `_id`, 404 `{"error":"not found"}`). Every view and projection is
 * mounted at `/single-views/{name}` or `/projections/{name}`, and also at its `endpointBasePath` when
 * it has one. Projections are read-only.
 */
export function registerCollectionRoutes (app: FastifyInstance, service: BraidService): void {
  for (const kind of ['single-views', 'projections'] as const) {
    mount(app, service, `/${kind}/:name`, request => resolve(service, kind, request.params.name ?? ''))
  }
  for (const def of service.pipeline.singleViews.values()) {
    if (def.endpointBasePath !== undefined) mount(app, service, def.endpointBasePath, () => ({ kind: 'single-views', def }))
  }
  for (const def of service.pipeline.projections.values()) {
    if (def.endpointBasePath !== undefined) mount(app, service, def.endpointBasePath, () => ({ kind: 'projections', def }))
  }
}

function mount (app: FastifyInstance, service: BraidService, base: string, target: Resolver): void {
  /** The read query, checked against the collection's schema and the accepted parameters. */
  const read = (request: Request, t: Target, options: Pick<ReadQueryOptions, 'paged' | 'unbounded'>): ReadQuery =>
    parseReadQuery(request.query, { ...options, schema: schemaOf(service, t), parameters: READ_PARAMETERS })

  const list = async (request: Request, reply: FastifyReply): Promise<FastifyReply> => {
    const t = target(request)
    const { def } = t
    const { filter, options } = read(request, t, { paged: true })
    const docs = await service.store.find(def.collection, filter, options)
    return sendDocuments(request, reply, onePage(docs.map(publicView)), jsonArraySerializer, 'application/json')
  }
  // The collection root answers with and without the trailing slash, as the CRUD Service's does.
  app.get(`${base}/`, list)
  app.get(base, list)

  app.get(`${base}/count`, async (request: Request) => {
    const t = target(request)
    const { filter } = read(request, t, { paged: false })
    return service.store.count(t.def.collection, filter)
  })

  app.get(`${base}/export`, async (request: Request, reply: FastifyReply) => {
    const t = target(request)
    const { filter, options } = read(request, t, { paged: true, unbounded: true })
    const accept = request.headers.accept
    const negotiated = negotiateExport(accept)
    if ('unsupported' in negotiated) {
      return reply.code(406).send({ statusCode: 406, error: 'Not Acceptable', message: `unsupported file type ${negotiated.unsupported}` })
    }
    let serializer: Serializer
    if (negotiated.format === 'csv') serializer = csvSerializer(csvColumns(options.projection, schemaOf(service, t)))
    else serializer = negotiated.format === 'json' ? jsonArraySerializer : ndjsonSerializer
    const pages = documentPages(service.store, t.def.collection, {
      filter,
      ...(options.sort === undefined ? {} : { sort: options.sort }),
      ...(options.skip === undefined ? {} : { skip: options.skip }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.projection === undefined ? {} : { projection: options.projection })
    }, publicView, closeSignal(reply))
    return sendDocuments(request, reply, pages, serializer, exportContentTypes[negotiated.format])
  })

  app.get(`${base}/schema`, async (request: Request) => schemaOf(service, target(request)))

  app.get(`${base}/:id`, async (request: Request) => {
    const t = target(request)
    const { def } = t
    // _q, field filters and the _st state filter (default PUBLIC), plus the _id.
    const { filter } = read(request, t, { paged: false })
    const docs = await service.store.find(def.collection, { $and: [filter, { _id: request.params.id }] }, { limit: 1 })
    const doc = docs[0]
    if (doc === undefined) throw new BraidError('BRAID_NOT_FOUND', 'document not found')
    return publicView(doc)
  })
}

function resolve (service: BraidService, kind: Kind, name: string): Target {
  if (kind === 'single-views') {
    const def = service.pipeline.singleViews.get(name)
    if (def !== undefined) return { kind, def }
  } else {
    const def = service.pipeline.projections.get(name)
    if (def !== undefined) return { kind, def }
  }
  throw new BraidError('BRAID_NOT_FOUND', `no ${kind === 'single-views' ? 'single view' : 'projection'} "${name}"`)
}

export function schemaOf (service: BraidService, target: Target): DocumentSchema {
  return target.kind === 'single-views' ? singleViewSchema(service.pipeline, target.def) : projectionSchema(target.def)
}

/** CSV columns: `_id`, then the `_p` fields in their order, else every field of the schema in its order. */
function csvColumns (projection: Record<string, 0 | 1> | undefined, schema: DocumentSchema): string[] {
  const fields = projection === undefined ? Object.keys(schema.properties) : Object.keys(projection)
  return ['_id', ...fields.filter(f => f !== '_id')]
}

/** Drops braid's internal bookkeeping fields (`__internal__*`) from API output. */
export function publicView (doc: Doc): Doc {
  const out: Doc = {}
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('__internal__')) out[k] = v
  return out
}
