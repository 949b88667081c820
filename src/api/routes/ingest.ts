import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { BraidService, IngestMessage } from '../../runtime/types.ts'
import { ingestScope } from '../auth/scopes.ts'
import { documented, errorResponse, errors } from '../route-schemas.ts'

/** `POST /ingest/{topic}`: a JSON array of `{ key, value, timestamp?, headers? }`; 202 once durably appended. */
export function registerIngestRoutes (app: FastifyInstance, service: BraidService): void {
  app.post<{ Params: { topic: string }, Body: unknown }>('/ingest/:topic', {
    config: { scope: (request: FastifyRequest) => ingestScope((request.params as { topic: string }).topic) },
    ...documented({
      tags: ['ingest'],
      summary: 'Append change messages to a topic (202 once durably appended; all or none)',
      params: { type: 'object', required: ['topic'], properties: { topic: { type: 'string', description: 'An ingestion topic of a projection (GET / lists them).' } } },
      body: {
        type: 'array',
        items: {
          type: 'object',
          required: ['value'],
          properties: {
            key: { description: 'The message key (JSON or text).' },
            value: { description: 'The message value in the topic\'s format (null: a tombstone).' },
            timestamp: { description: 'Epoch ms or ISO-8601; the append time when absent.', oneOf: [{ type: 'integer' }, { type: 'string' }] },
            headers: { type: 'object', additionalProperties: { type: 'string' } }
          }
        }
      },
      response: {
        202: { description: 'Appended.', content: { 'application/json': { schema: { type: 'object', required: ['appended'], properties: { appended: { type: 'integer' } } } } } },
        ...errors(400, 413, 415, 500, 503),
        404: errorResponse('No projection consumes this topic (`BRAID_UNKNOWN_TOPIC`).')
      }
    })
  }, async (request, reply) => {
    const body = request.body
    if (!Array.isArray(body)) {
      throw new BraidError('BRAID_INGEST_INVALID', 'body must be a JSON array of { key, value, timestamp?, headers? } messages')
    }
    const problems: Array<{ index: number, reason: string }> = []
    body.forEach((m: unknown, index) => {
      if (m === null || typeof m !== 'object' || Array.isArray(m)) problems.push({ index, reason: 'message must be an object { key, value, timestamp?, headers? }' })
      else if (!('value' in m)) problems.push({ index, reason: 'message has no "value" (use null for a delete)' })
    })
    if (problems.length > 0) {
      throw new BraidError('BRAID_INGEST_INVALID', `${problems.length} of ${body.length} messages are malformed; nothing was appended`, { details: { messages: problems } })
    }
    const result = await service.ingest(request.params.topic, body as IngestMessage[])
    return reply.code(202).send(result)
  })
}
