/**
 * The HTTP API factory. `buildApp` returns the Fastify instance without listening, so tests use
 * `app.inject()` and `braid start` calls `listen`.
 * @module
 */
import { STATUS_CODES } from 'node:http'
import cors from '@fastify/cors'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { BraidError, isBraidError } from '../errors.ts'
import { apiDefaults } from '../config/native/api-schema.ts'
import type { Logger } from '../logger.ts'
import type { BraidService } from '../runtime/types.ts'
import { registerAccessControl } from './auth/access.ts'
import type { ChangesOptions } from './changes.ts'
import { registerOpenApi } from './openapi.ts'
import type { ApiOptions } from './options.ts'
import { registerChangesRoutes } from './routes/changes.ts'
import { registerCollectionRoutes } from './routes/collections.ts'
import { registerCommandRoutes } from './routes/commands.ts'
import { registerConsoleRoutes } from './routes/console.ts'
import { registerControlRoutes } from './routes/control.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerIngestRoutes } from './routes/ingest.ts'
import { registerMetricsRoutes } from './routes/metrics.ts'
import { registerOperationsRoutes } from './routes/operations.ts'
import { registerPipelineRoutes } from './routes/pipeline.ts'
import { registerSourceRoutes } from './routes/sources.ts'

/** `ApiOptions` (auth, CORS, rate limit, body limit, timeouts: the `api:` section, see options.ts), plus: */
export interface AppOptions extends ApiOptions {
  logger: Logger
  /** Live subscriptions (`GET /single-views/{name}/changes`): poll, page, heartbeat and slow-client bounds. */
  changes?: ChangesOptions
}

export async function buildApp (service: BraidService, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? apiDefaults.bodyLimit,
    connectionTimeout: options.timeouts?.connectionMs ?? apiDefaults.connectionMs,
    requestTimeout: options.timeouts?.requestMs ?? apiDefaults.requestMs,
    keepAliveTimeout: options.timeouts?.keepAliveMs ?? apiDefaults.keepAliveMs,
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
      error: STATUS_CODES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request'),
      message: err.message
    })
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }))

  // Browsers' preflight requests are answered before access control (they carry no credentials).
  if (options.cors !== undefined) await app.register(cors, corsOptions(options.cors.origins))
  registerAccessControl(app, {
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit })
  })
  await registerOpenApi(app, {
    pipeline: service.pipeline,
    auth: options.auth !== undefined,
    publicDocumentation: options.auth?.publicDocumentation ?? true,
    rateLimit: options.rateLimit !== undefined
  })

  registerHealthRoutes(app, service)
  registerMetricsRoutes(app, service)
  registerIngestRoutes(app, service)
  registerCollectionRoutes(app, service)
  registerOperationsRoutes(app, service)
  if (service.commands !== undefined) registerCommandRoutes(app, service, service.commands)
  registerControlRoutes(app, service)
  registerSourceRoutes(app, service)
  registerChangesRoutes(app, service, options.changes)
  registerPipelineRoutes(app, service)
  registerConsoleRoutes(app)
  await app.ready()
  return app
}

/** Request lines name the route pattern, never the URL: query strings and ids carry key values. */
class RouteLogController extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? 'unknown',
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
      ...(request.identity === null ? {} : { identity: request.identity.name })
    }
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

/**
 * CORS for the configured origins (`*`: any): the methods braid serves, the credential headers, and
 * the response headers a browser client needs to read (retry-after, location, www-authenticate).
 */
function corsOptions (origins: string[]): Record<string, unknown> {
  return {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'accept', 'last-event-id', 'idempotency-key'],
    exposedHeaders: ['retry-after', 'location', 'www-authenticate', 'content-type', 'idempotent-replayed'],
    maxAge: 600
  }
}
