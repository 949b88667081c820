import type { FastifyInstance } from 'fastify'
import type { BraidService } from '../../runtime/types.ts'
import { version } from '../../version.ts'
import { negotiate } from '../negotiate.ts'
import { documented, errors } from '../route-schemas.ts'
import { projectionSchema, singleViewSchema, type DocumentSchema } from '../schema.ts'

/** `GET /-/schemas` formats: JSON array (the default, also for any type) or one `{ name, schema }` per line. */
const schemasFormats: ReadonlyMap<string, 'json' | 'ndjson'> = new Map([
  ['application/json', 'json'],
  ['application/x-ndjson', 'ndjson'],
  ['application/*', 'json'],
  ['*/*', 'json']
])

const health = (description: string): Record<string, unknown> => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } } })

/** Why `/-/check-up` is KO. */
export const NOT_READY_MESSAGE = 'the pipeline is not consuming its topics'

export function registerHealthRoutes (app: FastifyInstance, service: BraidService): void {
  /** An index of what this braid serves, for people and scripts finding their way. */
  app.get('/', documented({
    tags: ['health'],
    summary: 'What this braid serves: views, projections and their ingest topics, operation routes',
    response: { 200: { description: 'The index.', content: { 'application/json': { schema: { type: 'object', additionalProperties: true, required: ['name', 'version', 'singleViews', 'projections'], properties: { name: { type: 'string' }, version: { type: 'string' }, singleViews: { type: 'array', items: { type: 'object', additionalProperties: true } }, projections: { type: 'array', items: { type: 'object', additionalProperties: true } } } } } } } }
  }), async () => ({
    name: 'braid',
    version,
    singleViews: [...service.pipeline.singleViews.keys()].map(name => ({ name, url: `/single-views/${name}/` })),
    projections: [...service.pipeline.projections.values()].map(p => ({ name: p.name, topic: p.topic, url: `/projections/${p.name}/`, ingest: `/ingest/${p.topic}` })),
    status: '/-/status',
    metrics: '/-/metrics',
    health: '/-/healthz',
    ready: '/-/ready',
    checkUp: '/-/check-up',
    schemas: '/-/schemas'
  }))

  app.get('/-/healthz', documented({ tags: ['health'], summary: 'Liveness: always 200 while the process runs', response: { 200: health('Alive.') } }), async () => ({ status: 'OK', name: 'braid', version }))
  app.get('/-/ready', documented({ tags: ['health'], summary: 'Readiness: 200 once the pipeline consumes its topics, else 503', response: { 200: health('Ready.'), 503: health('Not ready (status KO).') } }), async (_request, reply) => {
    const { ready, details } = service.readiness()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'OK' : 'KO', name: 'braid', version, details })
  })
  // As the CRUD Service's: /-/ready, plus a message when KO.
  app.get('/-/check-up', documented({ tags: ['health'], summary: 'As /-/ready, with a message when KO (the CRUD Service\'s check-up)', response: { 200: health('Ready.'), 503: health('Not ready, with a message.') } }), async (_request, reply) => {
    if (service.isReady()) return reply.code(200).send({ status: 'OK', name: 'braid', version })
    return reply.code(503).send({ status: 'KO', name: 'braid', version, message: NOT_READY_MESSAGE })
  })
  app.get('/-/status', documented({
    tags: ['operations'],
    summary: 'Per-stage counters, lag, freshness and paused state',
    response: { 200: { description: 'The status (docs/observability.md).', content: { 'application/json': { schema: { type: 'object', additionalProperties: true, required: ['ready', 'projections', 'singleViews'], properties: { ready: { type: 'boolean' }, projections: { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } }, singleViews: { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } } } } } } }, ...errors(500, 503) }
  }), async () => service.status())

  /** The schema of every view, then every projection, named by its store collection. */
  app.get('/-/schemas', documented({
    tags: ['operations'],
    summary: 'The JSON schema of every view, then every projection, named by its store collection',
    headers: { type: 'object', properties: { accept: { type: 'string', description: 'application/json (default) or application/x-ndjson.' } } },
    response: {
      200: { description: 'The schemas.', content: { 'application/json': { schema: { type: 'array', items: { type: 'object', required: ['name', 'schema'], properties: { name: { type: 'string' }, schema: { $ref: '#/components/schemas/DocumentSchema' } } } } }, 'application/x-ndjson': { schema: { type: 'string' } } } },
      ...errors(406)
    }
  }), async (request, reply) => {
    const negotiated = negotiate(request.headers.accept, schemasFormats, 'json')
    if ('unsupported' in negotiated) {
      return reply.code(406).send({ statusCode: 406, error: 'Not Acceptable', message: `unsupported file type ${negotiated.unsupported}` })
    }
    const schemas: Array<{ name: string, schema: DocumentSchema }> = [
      ...[...service.pipeline.singleViews.values()].map(sv => ({ name: sv.collection, schema: singleViewSchema(service.pipeline, sv) })),
      ...[...service.pipeline.projections.values()].map(p => ({ name: p.collection, schema: projectionSchema(p) }))
    ]
    if (negotiated.format === 'json') return reply.send(schemas)
    // A buffer, so the type goes out without a charset, as the exports' does.
    return reply.type('application/x-ndjson').send(Buffer.from(schemas.map(s => `${JSON.stringify(s)}\n`).join('')))
  })
}
