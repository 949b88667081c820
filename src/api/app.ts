/**
 * The HTTP API factory. `buildApp` returns the Fastify instance without listening, so tests use
 * `app.inject()` and `braid start` calls `listen`.
 * @module
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { BraidError, isBraidError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { BraidService } from '../runtime/types.ts'
import type { ChangesOptions } from './changes.ts'
import { registerChangesRoutes } from './routes/changes.ts'
import { registerCollectionRoutes } from './routes/collections.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerIngestRoutes } from './routes/ingest.ts'
import { registerMetricsRoutes } from './routes/metrics.ts'
import { registerOperationsRoutes } from './routes/operations.ts'

export interface AppOptions {
  logger: Logger
  /** Largest accepted request body, bytes. */
  bodyLimit?: number
  /** Live subscriptions (`GET /single-views/{name}/changes`): poll, page, heartbeat and slow-client bounds. */
  changes?: ChangesOptions
}

export async function buildApp (service: BraidService, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 16 * 1024 * 1024, // 16 MiB
    logController: new RouteLogController(),
    genReqId: () => Math.random().toString(36).slice(2, 12)
  })

  app.setErrorHandler((err: FastifyError | BraidError, request, reply) => {
    if (isBraidError(err)) {
      if (err.statusCode >= 500) request.log.error({ err }, err.message)
      else request.log.info({ code: err.code }, err.message)
      if (err.code === 'BRAID_NOT_FOUND') return reply.code(404).send({ error: 'not found' })
      return reply.code(err.statusCode).send(err.toJSON())
    }
    const status = err.statusCode ?? 500
    if (status >= 500) request.log.error({ err }, 'request failed')
    return reply.code(status).send({
      statusCode: status,
      ...(err.code === undefined ? {} : { code: err.code }),
      error: status >= 500 ? 'Internal Server Error' : 'Bad Request',
      message: err.message
    })
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }))

  registerHealthRoutes(app, service)
  registerMetricsRoutes(app, service)
  registerIngestRoutes(app, service)
  registerCollectionRoutes(app, service)
  registerOperationsRoutes(app, service)
  registerChangesRoutes(app, service, options.changes)
  await app.ready()
  return app
}

/** Request lines name the route pattern, never the URL: query strings and ids carry key values. */
class RouteLogController extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, route: request.routeOptions.url ?? 'unknown', statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime * 100) / 100 }
    if (error != null) request.log.error({ ...line, err: error }, 'request failed')
    else request.log.info(line, 'request completed')
  }

  override routeNotFound (request: FastifyRequest): void {
    request.log.info({ method: request.method, statusCode: 404 }, 'route not found')
  }

  override writeHeadError (error: Error, request: FastifyRequest): void {
    request.log.warn({ method: request.method, route: request.routeOptions.url ?? 'unknown', err: error }, 'could not write the response head')
  }
}
