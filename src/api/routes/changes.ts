import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { BraidService } from '../../runtime/types.ts'
import { ChangeStream, changesDefaults, parseChangesQuery, type ChangesOptions } from '../changes.ts'
import type { QueryString } from '../query.ts'
import { readScope } from '../auth/scopes.ts'
import { documented, readRouteSchema } from '../route-schemas.ts'
import { singleViewSchema } from '../schema.ts'
import { routeSegment } from './collections.ts'

type Request = FastifyRequest<{ Querystring: QueryString }>

/**
 * `GET /single-views/{name}/changes`: the view's sv-update events as Server-Sent Events, filtered by
 * `key` (the JSON view key) and `_q` (a Mongo filter on `after ?? before`), resumable with
 * `Last-Event-ID` (or `?lastEventId=`). Parameters are checked before the stream starts (400, 404 in
 * the usual JSON bodies); then every client gets its own log reader (see ../changes.ts). A view
 * with `updateEvents: key` streams events without documents (no `_q`); one with `none` has no feed.
 */
export function registerChangesRoutes (app: FastifyInstance, service: BraidService, options: ChangesOptions = {}): void {
  const opts: Required<ChangesOptions> = { ...changesDefaults, ...options }
  const streams = new Set<ChangeStream>()

  // Open streams would keep the server from closing.
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.drop('the server is shutting down')
  })

  for (const def of service.pipeline.singleViews.values()) {
    const name = def.name
    const schema = singleViewSchema(service.pipeline, def)
    const doc = { kind: 'single-views' as const, name, schema, base: `/single-views/${name}` }
    const path = `/single-views/${routeSegment(name)}/changes`
    if (def.updateEvents === 'none') {
      // Not in the API document; a client that asks gets the usual 404 body, and a message saying why.
      const message = `single view ${name} publishes no change events (updateEvents: none), so it has no change feed; set its updateEvents to key or full to follow its changes`
      app.get(path, { config: { scope: readScope(name) }, ...documented({ hide: true }) }, async (_request, reply) => reply.code(404).send({ error: 'not found', message }))
      continue
    }
    const routeSchema = readRouteSchema('changes', doc)
    if (def.updateEvents === 'key') routeSchema.description = `${String(routeSchema.description)} This view publishes its changes without the documents (\`updateEvents: key\`): events carry the operation and the view key, and \`_q\` is refused.`
    app.get(path, { config: { scope: readScope(name) }, ...documented(routeSchema) }, async (request: Request, reply: FastifyReply) => {
      const header = request.headers['last-event-id']
      const query = parseChangesQuery(request.query, Array.isArray(header) ? header[header.length - 1] : header, schema)
      if (query.filter !== undefined && def.updateEvents !== 'full') {
        throw new BraidError('BRAID_QUERY_INVALID', `_q filters the view documents of the change events, and single view ${name} publishes its changes without them (updateEvents: ${def.updateEvents}); filter by the view key (key=) instead, or set its updateEvents to full`, { details: { view: name, updateEvents: def.updateEvents } })
      }

      reply.hijack()
      // A subscription is idle between events: exempt from the idle-socket timeout (api.timeouts.connectionMs).
      request.raw.socket.setTimeout(0)
      const stream = new ChangeStream({
        log: service.log,
        topic: def.svUpdateTopic,
        query,
        response: reply.raw,
        options: opts,
        onEnd: reason => {
          streams.delete(stream)
          if (expiry !== undefined) clearTimeout(expiry)
          request.log.info({ route: '/single-views/:name/changes', view: name, reason }, 'change stream ended')
        }
      })
      streams.add(stream)
      // Credentials that expire end the subscription with them.
      const expiresAt = request.identity?.expiresAt
      const expiry = expiresAt === undefined ? undefined : setTimeout(() => stream.drop('the credentials expired'), Math.max(0, Math.min(expiresAt - Date.now(), 2_147_483_647)))
      expiry?.unref()
      request.log.info({ route: '/single-views/:name/changes', view: name }, 'change stream started')
      await stream.start()
    })
  }
}
