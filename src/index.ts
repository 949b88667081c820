/**
 * braid's programmatic API: load a configuration, open the engines, run the pipeline and the HTTP API
 * in your own process.
 *
 * @example
 * ```ts
 * import { buildApp, createLogger, createService, loadPipeline, openEngines } from 'braid'
 *
 * const logger = createLogger()
 * const pipeline = await loadPipeline('examples/retail/braid.yaml')
 * // embedded engines in ./.braid; add kafka: { brokers: [...] } and mongodb: { url } for production
 * const engines = await openEngines({ dataDir: './.braid', exclusive: true })
 * const service = createService({ pipeline, engines, logger })
 * await service.start()
 * const app = await buildApp(service, { logger })
 * await app.listen({ port: 3000, host: '127.0.0.1' })
 * ```
 * @module
 */
export { buildApp, type AppOptions } from './api/index.ts'
export { checkPipeline, loadPipeline } from './config/index.ts'
export { BraidError, errorCodes, isBraidError, type ErrorCode } from './errors.ts'
export type { EventLog } from './event-log/event-log.ts'
export { createEmbeddedEventLog } from './event-log/embedded/index.ts'
export { createKafkaEventLog, type KafkaEventLogOptions } from './event-log/kafka/index.ts'
export { createLogger, silentLogger, type Logger } from './logger.ts'
export type * from './model/index.ts'
export { openEngines, type Engines, type EngineOptions } from './runtime/engines.ts'
export { explainView, previewView, rebuildViews, verifyViews } from './runtime/maintenance.ts'
export { createService, type Service, type ServiceOptions } from './runtime/service.ts'
export type { BraidService, IngestMessage, ServiceStatus } from './runtime/types.ts'
export { createEmbeddedStore } from './storage/embedded/index.ts'
export { createMongoStore, type MongoStoreOptions } from './storage/mongodb/index.ts'
export type { Store } from './storage/store.ts'
export { version } from './version.ts'
