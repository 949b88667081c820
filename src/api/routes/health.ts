import type { FastifyInstance } from 'fastify'
import type { BraidService } from '../../runtime/types.ts'
import { version } from '../../version.ts'
import { negotiate } from '../negotiate.ts'
import { projectionSchema, singleViewSchema, type DocumentSchema } from '../schema.ts'

/** `GET /-/schemas` formats: JSON array (the default, also for any type) or one `{ name, schema }` per line. */
const schemasFormats: ReadonlyMap<string, 'json' | 'ndjson'> = new Map([
  ['application/json', 'json'],
  ['application/x-ndjson', 'ndjson'],
  ['application/*', 'json'],
  ['*/*', 'json']
])

/** Why `/-/check-up` is KO. */
export const NOT_READY_MESSAGE = 'the pipeline is not consuming its topics'

export function registerHealthRoutes (app: FastifyInstance, service: BraidService): void {
  /** An index of what this braid serves, for people and scripts finding their way. */
  app.get('/', async () => ({
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

  app.get('/-/healthz', async () => ({ status: 'OK', name: 'braid', version }))
  app.get('/-/ready', async (_request, reply) => {
    const ready = service.isReady()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'OK' : 'KO', name: 'braid', version })
  })
  // As the CRUD Service's: /-/ready, plus a message when KO.
  app.get('/-/check-up', async (_request, reply) => {
    if (service.isReady()) return reply.code(200).send({ status: 'OK', name: 'braid', version })
    return reply.code(503).send({ status: 'KO', name: 'braid', version, message: NOT_READY_MESSAGE })
  })
  app.get('/-/status', async () => service.status())

  /** The schema of every view, then every projection, named by its store collection. */
  app.get('/-/schemas', async (request, reply) => {
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
