import type { FastifyInstance } from 'fastify'
import { BraidError } from '../../errors.ts'
import type { BraidService, IngestMessage } from '../../runtime/types.ts'

/** `POST /ingest/{topic}`: a JSON array of `{ key, value, timestamp?, headers? }`; 202 once durably appended. */
export function registerIngestRoutes (app: FastifyInstance, service: BraidService): void {
  app.post<{ Params: { topic: string }, Body: unknown }>('/ingest/:topic', async (request, reply) => {
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
