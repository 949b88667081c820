import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { BraidService } from '../../runtime/types.ts'
import { ChangeStream, changesDefaults, parseChangesQuery, type ChangesOptions } from '../changes.ts'
import type { QueryString } from '../query.ts'
import { singleViewSchema } from '../schema.ts'

type Request = FastifyRequest<{ Params: { name: string }, Querystring: QueryString }>

/**
 * `GET /single-views/{name}/changes`: the view's sv-update events as Server-Sent Events, filtered by
 * `key` (the JSON view key) and `_q` (a Mongo filter on `after ?? before`), resumable with
 * `Last-Event-ID` (or `?lastEventId=`). Parameters are checked before the stream starts (400, 404 in
 * the usual JSON bodies); then every client gets its own log reader (see ../changes.ts).
 */
export function registerChangesRoutes (app: FastifyInstance, service: BraidService, options: ChangesOptions = {}): void {
  const opts: Required<ChangesOptions> = { ...changesDefaults, ...options }
  const streams = new Set<ChangeStream>()

  // Open streams would keep the server from closing.
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.drop('the server is shutting down')
  })

  app.get('/single-views/:name/changes', async (request: Request, reply: FastifyReply) => {
    const name = request.params.name
    const def = service.pipeline.singleViews.get(name)
    if (def === undefined) throw new BraidError('BRAID_NOT_FOUND', `no single view "${name}"`)
    const header = request.headers['last-event-id']
    const query = parseChangesQuery(request.query, Array.isArray(header) ? header[header.length - 1] : header, singleViewSchema(service.pipeline, def))

    reply.hijack()
    const stream = new ChangeStream({
      log: service.log,
      topic: def.svUpdateTopic,
      query,
      response: reply.raw,
      options: opts,
      onEnd: reason => {
        streams.delete(stream)
        request.log.info({ route: '/single-views/:name/changes', view: name, reason }, 'change stream ended')
      }
    })
    streams.add(stream)
    request.log.info({ route: '/single-views/:name/changes', view: name }, 'change stream started')
    await stream.start()
  })
}
