/**
 * The OpenAPI document of a pipeline without running it (`braid openapi`, the `openapi.json` check):
 * the app is built on a service that has the pipeline but no data — its store, log and actions
 * refuse every call — and only its `/documentation/json` is read.
 * @module
 */
import { BraidError } from '../errors.ts'
import { silentLogger } from '../logger.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import type { BraidService } from '../runtime/types.ts'
import { buildApp } from './app.ts'
import type { ApiOptions } from './options.ts'

export async function openApiDocument (pipeline: PipelineDefinition, options: ApiOptions = {}): Promise<Record<string, unknown>> {
  const app = await buildApp(documentationService(pipeline), { ...options, logger: silentLogger() })
  try {
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}

/** A service that only describes the pipeline: anything else throws BRAID_NOT_READY. */
function documentationService (pipeline: PipelineDefinition): BraidService {
  const refuse = (): never => {
    throw new BraidError('BRAID_NOT_READY', 'this app only describes the API (braid openapi); it has no data')
  }
  const refusing = <T extends object>(): T => new Proxy({}, { get: (_target, property) => property === 'then' ? undefined : refuse }) as T
  const service = refusing<BraidService>()
  return new Proxy(service, { get: (target, property, receiver) => property === 'pipeline' ? pipeline : property === 'store' || property === 'log' ? refusing() : property === 'commands' ? undefined : Reflect.get(target, property, receiver) })
}
