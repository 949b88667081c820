import type { FastifyInstance } from 'fastify'
import type { BraidService } from '../../runtime/types.ts'
import { documented, errors } from '../route-schemas.ts'

/** The Prometheus text exposition format, version 0.0.4. */
export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8'

/** `GET /-/metrics`: every metric of docs/observability.md, gauges read from the store and the log now. */
export function registerMetricsRoutes (app: FastifyInstance, service: BraidService): void {
  app.get('/-/metrics', documented({
    tags: ['operations'],
    summary: 'Prometheus metrics (docs/observability.md)',
    response: { 200: { description: 'The text exposition format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(500, 503) }
  }), async (_request, reply) => {
    const body = await service.metrics()
    return reply.header('cache-control', 'no-store').type(metricsContentType).send(body)
  })
}
