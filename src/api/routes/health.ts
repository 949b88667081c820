import type { FastifyInstance } from 'fastify'
import type { BraidService } from '../../runtime/types.ts'
import { version } from '../../version.ts'

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
    ready: '/-/ready'
  }))

  app.get('/-/healthz', async () => ({ status: 'OK', name: 'braid', version }))
  app.get('/-/ready', async (_request, reply) => {
    const ready = service.isReady()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'OK' : 'KO', name: 'braid', version })
  })
  app.get('/-/status', async () => service.status())
}
