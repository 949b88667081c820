import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { Doc } from '../../model/document.ts'
import type { ProjectionDefinition } from '../../model/projection.ts'
import type { SingleViewDefinition } from '../../model/single-view.ts'
import type { BraidService } from '../../runtime/types.ts'
import { readScope } from '../auth/scopes.ts'
import {
  closeSignal, csvSerializer, documentPages, exportContentTypes, jsonArraySerializer, ndjsonSerializer, negotiateExport, onePage, parseExportOptions, sendDocuments,
  type Serializer
} from '../export.ts'
import { booleanParameter, parseReadQuery, ROUTE_PARAMETERS, type QueryString, type ReadQuery, type ReadQueryOptions, type ReadRoute } from '../query.ts'
import { applyRawProjection, rawProjectionFields, type RawProjection } from '../raw-projection.ts'
import { documented, readRouteSchema, type ReadOperation } from '../route-schemas.ts'
import { projectionSchema, singleViewSchema, type DocumentSchema } from '../schema.ts'

/** The collection a request reads. */
type Target =
  | { kind: 'single-views', def: SingleViewDefinition }
  | { kind: 'projections', def: ProjectionDefinition }

type Request = FastifyRequest<{ Params: { id?: string }, Querystring: QueryString }>

/**
 * Read routes in the CRUD Service's shapes: `GET {base}/` (JSON array, streamed), `/count` (bare
 * integer), `/export` (ndjson, JSON or CSV by Accept, streamed, no page limit), `/schema` (JSON schema
 * of the documents) and `/{id}` (by `_id`, 404 `{"error":"not found"}`). Every view and projection is
 * mounted at `/single-views/{name}` or `/projections/{name}`, and also at its `endpointBasePath` when
 * it has one. Projections are read-only. Mounts are static per collection, so each has its own
 * documented schema and scope (`read:{name}`); an unknown name falls to the not-found handler.
 */
export function registerCollectionRoutes (app: FastifyInstance, service: BraidService): void {
  for (const def of service.pipeline.singleViews.values()) {
    const target: Target = { kind: 'single-views', def }
    mount(app, service, `/single-views/${routeSegment(def.name)}`, target)
    if (def.endpointBasePath !== undefined) mount(app, service, def.endpointBasePath, target)
  }
  for (const def of service.pipeline.projections.values()) {
    const target: Target = { kind: 'projections', def }
    mount(app, service, `/projections/${routeSegment(def.name)}`, target)
    if (def.endpointBasePath !== undefined) mount(app, service, def.endpointBasePath, target)
  }
}

/** A name as a static path segment (a `:` would start a parameter). */
export function routeSegment (name: string): string {
  return name.replaceAll(':', '::')
}

function mount (app: FastifyInstance, service: BraidService, base: string, t: Target): void {
  const schema = schemaOf(service, t)
  const { def } = t
  const doc = { kind: t.kind, name: def.name, schema, base: base.replaceAll('::', ':') }
  const config = { scope: readScope(def.name) }
  const route = (op: ReadOperation): { config: { scope: string } } & ReturnType<typeof documented> => ({ config, ...documented(readRouteSchema(op, doc)) })
  /** The read query, checked against the collection's schema and the route's parameters. */
  const read = (request: Request, parameters: ReadRoute, options: Pick<ReadQueryOptions, 'paged' | 'unbounded'>): ReadQuery =>
    parseReadQuery(request.query, { ...options, schema, parameters: ROUTE_PARAMETERS[parameters] })
  /** What is sent of a stored document: no bookkeeping fields, then `_rawp`. */
  const output = (rawProjection: RawProjection | undefined): (doc: Doc) => Doc =>
    rawProjection === undefined ? publicView : doc => applyRawProjection(publicView(doc), rawProjection)

  const list = async (request: Request, reply: FastifyReply): Promise<FastifyReply> => {
    const { filter, options, rawProjection } = read(request, 'list', { paged: true })
    const docs = await service.store.find(def.collection, filter, options)
    return sendDocuments(request, reply, onePage(docs.map(output(rawProjection))), jsonArraySerializer, 'application/json')
  }
  // The collection root answers with and without the trailing slash, as the CRUD Service's does.
  app.get(`${base}/`, route('list'), list)
  app.get(base, { config, ...documented({ hide: true }) }, list)

  app.get(`${base}/count`, route('count'), async (request: Request) => {
    const { filter } = read(request, 'count', { paged: false })
    // As the CRUD Service: the size of the whole collection, every other parameter ignored.
    if (booleanParameter(request.query, '_useEstimate') === true) return service.store.count(def.collection, {})
    return service.store.count(def.collection, filter)
  })

  app.get(`${base}/export`, route('export'), async (request: Request, reply: FastifyReply) => {
    const { filter, options, rawProjection } = read(request, 'export', { paged: true, unbounded: true })
    const exportOpts = single(request.query['_exportOpts'])
    const csvOptions = exportOpts === undefined || exportOpts === '' ? {} : parseExportOptions(exportOpts)
    const negotiated = negotiateExport(request.headers.accept)
    if ('unsupported' in negotiated) {
      return reply.code(406).send({ statusCode: 406, error: 'Not Acceptable', message: `unsupported file type ${negotiated.unsupported}` })
    }
    let serializer: Serializer
    if (negotiated.format === 'csv') serializer = csvSerializer(csvColumns(options.projection, rawProjection, schema), csvOptions)
    else serializer = negotiated.format === 'json' ? jsonArraySerializer : ndjsonSerializer
    const pages = documentPages(service.store, def.collection, {
      filter,
      ...(options.sort === undefined ? {} : { sort: options.sort }),
      ...(options.skip === undefined ? {} : { skip: options.skip }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.projection === undefined ? {} : { projection: options.projection })
    }, output(rawProjection), closeSignal(reply))
    return sendDocuments(request, reply, pages, serializer, exportContentTypes[negotiated.format])
  })

  app.get(`${base}/schema`, route('schema'), async () => schema)

  app.get(`${base}/:id`, route('byId'), async (request: Request) => {
    // _q, field filters and the _st state filter (default PUBLIC), plus the _id.
    const { filter, options, rawProjection } = read(request, 'byId', { paged: false })
    const docs = await service.store.find(def.collection, { $and: [filter, { _id: request.params.id }] }, {
      limit: 1,
      ...(options.projection === undefined ? {} : { projection: options.projection })
    })
    const doc = docs[0]
    if (doc === undefined) throw new BraidError('BRAID_NOT_FOUND', 'document not found')
    return output(rawProjection)(doc)
  })
}

function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value
}

export function schemaOf (service: BraidService, target: Target): DocumentSchema {
  return target.kind === 'single-views' ? singleViewSchema(service.pipeline, target.def) : projectionSchema(target.def)
}

/**
 * CSV columns: `_id`, then the `_p` fields in their order, else every field of the schema in its
 * order; with `_rawp`, the fields it includes or computes (or the schema's less those it excludes).
 */
function csvColumns (projection: Record<string, 0 | 1> | undefined, rawProjection: RawProjection | undefined, schema: DocumentSchema): string[] {
  if (rawProjection !== undefined) return rawProjectionFields(rawProjection, ['_id', ...Object.keys(schema.properties).filter(f => f !== '_id')])
  const fields = projection === undefined ? Object.keys(schema.properties) : Object.keys(projection)
  return ['_id', ...fields.filter(f => f !== '_id')]
}

/** Drops braid's internal bookkeeping fields (`__internal__*`) from API output. */
export function publicView (doc: Doc): Doc {
  const out: Doc = {}
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('__internal__')) out[k] = v
  return out
}
