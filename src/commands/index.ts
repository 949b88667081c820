/**
 * The write stream: commands back to the systems of record (docs/commands.md).
 * @module
 */
export { createCommandService, commandServiceDefaults, canonicalJson, idempotentId } from './service.ts'
export type { CommandServiceOptions } from './service.ts'
export { CommandCollection, commandCollections, commandGroup } from './collections.ts'
export { CircuitBreaker } from './breaker.ts'
export { compileNamedParameters } from './sql-params.ts'
export { AttemptResult, CommandMetrics, executionBuckets, waitForBuckets } from './metrics.ts'
export { changeFeedReader, parseLsn, SlotReader, SourceReader } from './wait-for.ts'
export type { ChangeFeedReader } from './wait-for.ts'
export { BreakerState, FailureKind, WaitStage } from './types.ts'
export type {
  BreakerSnapshot, CommandError, CommandRecord, CommandService, CommandsOverview, CommandsStatus, CommandView, ListOptions, SubmitOptions, SubmitResult, WaitForState
} from './types.ts'
