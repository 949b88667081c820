/**
 * The sources braid captures itself (`sources:` in braid.yaml). Every route needs the `admin` scope.
 *
 * | route | |
 * |---|---|
 * | `GET /-/sources` | status of every source, by name (also in `GET /-/status` under `sources`) |
 * | `GET /-/sources/{name}` | status of one source |
 * | `POST /-/sources/{name}/tables/{table}/resnapshot` | `202 { source, table, requestedAt }`: the table is read again on a fresh snapshot while the stream goes on; progress in the status |
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { SourceManager } from '../../connectors/sources.ts'
import { BraidError } from '../../errors.ts'

const admin = { scope: 'admin' } as const

export function registerSourceRoutes (app: FastifyInstance, service: { readonly sources?: SourceManager | undefined }): void {
  const manager = (name?: string): SourceManager => {
    const sources = service.sources
    if (sources === undefined || (name !== undefined && !sources.names.includes(name))) {
      throw new BraidError('BRAID_NOT_FOUND', name === undefined ? 'this pipeline has no sources' : `no source "${name}"`)
    }
    return sources
  }

  app.get('/-/sources', { config: admin }, async () => service.sources?.status() ?? {})

  app.get<{ Params: { name: string } }>('/-/sources/:name', { config: admin }, async request => {
    return manager(request.params.name).status()[request.params.name]
  })

  app.post<{ Params: { name: string, table: string } }>('/-/sources/:name/tables/:table/resnapshot', { config: admin }, async (request, reply) => {
    const { name, table } = request.params
    const accepted = await manager(name).resnapshot(name, table)
    return reply.code(202).send(accepted)
  })
}
