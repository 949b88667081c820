import type { FastifyInstance } from 'fastify'
import type { BraidService } from '../../runtime/types.ts'
import { version } from '../../version.ts'

export function registerHealthRoutes (app: FastifyInstance, service: BraidService): void {
  app.get('/-/healthz', async () => ({ status: 'OK', name: 'braid', version }))
  app.get('/-/ready', async (_request, reply) => {
    const ready = service.isReady()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'OK' : 'KO', name: 'braid', version })
  })
  app.get('/-/status', async () => service.status())
}
