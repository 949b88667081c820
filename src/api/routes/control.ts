/**
 * The control plane: pause/resume per projection and single view, background rebuild and verify
 * jobs, and the actions on dead letters and sv-errors. Every route needs the `admin` scope.
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { ControlTarget } from '../../runtime/control.ts'
import type { JobKind } from '../../runtime/jobs.ts'
import type { BraidService } from '../../runtime/types.ts'

const admin = { scope: 'admin' } as const

const targets: ReadonlyArray<{ segment: string, target: ControlTarget }> = [
  { segment: 'projections', target: 'projection' },
  { segment: 'single-views', target: 'singleView' }
]

export function registerControlRoutes (app: FastifyInstance, service: BraidService): void {
  app.get('/-/control', { config: admin }, async () => service.control())

  for (const { segment, target } of targets) {
    for (const action of ['pause', 'resume'] as const) {
      app.post<{ Params: { name: string } }>(`/-/${segment}/:name/${action}`, { config: admin }, async request => {
        return service.setPaused(target, request.params.name, action === 'pause')
      })
    }
  }

  for (const kind of ['rebuild', 'verify'] as const satisfies readonly JobKind[]) {
    app.post<{ Params: { name: string } }>(`/-/single-views/:name/${kind}`, { config: admin }, async (request, reply) => {
      const job = service.startJob(kind, request.params.name)
      return reply.code(202).header('location', `/-/jobs/${job.id}`).send(job)
    })
  }
  app.get('/-/jobs', { config: admin }, async () => service.jobs())
  app.get<{ Params: { id: string } }>('/-/jobs/:id', { config: admin }, async request => {
    const job = service.job(request.params.id)
    if (job === undefined) throw new BraidError('BRAID_NOT_FOUND', `no job "${request.params.id}"`)
    return job
  })

  app.post<{ Params: { id: string } }>('/-/dead-letters/:id/dismiss', { config: admin }, async request => {
    await service.dismissDeadLetter(request.params.id)
    return { dismissed: request.params.id }
  })
  app.post<{ Params: { id: string } }>('/-/sv-errors/:id/retry', { config: admin }, async (request, reply) => {
    await service.retrySvError(request.params.id)
    return reply.code(202).send({ retried: request.params.id })
  })
  app.post<{ Params: { id: string } }>('/-/sv-errors/:id/dismiss', { config: admin }, async request => {
    await service.dismissSvError(request.params.id)
    return { dismissed: request.params.id }
  })
}
