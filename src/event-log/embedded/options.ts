/**
 * Options of the embedded (SQLite) event log, their defaults and their validation.
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'
import { resolveCheckpointMode, type CheckpointMode } from '../../sqlite/checkpointer.ts'

export interface EmbeddedRetentionOptions {
  /** Records older than this (by record timestamp) are pruned, in ms. Unset: no age limit. */
  maxAgeMs?: number
  /** At most this many most recent records are kept per partition. Unset: no count limit. */
  maxRecordsPerPartition?: number
  /** How often pruning runs, in ms. */
  checkIntervalMs?: number
}

export interface EmbeddedEventLogOptions {
  /** Database file (created when missing), or ':memory:' for a private in-memory log. */
  path: string
  /** Partitions of a topic created without an explicit count (ensureTopics or first append). */
  defaultPartitions?: number
  /** Retention of records; without it, records are kept forever. */
  retention?: EmbeddedRetentionOptions
  /** How often an idle consumer looks for records appended by other processes, in ms. */
  pollIntervalMs?: number
  /** How long a write waits for another process's lock before failing, in ms. */
  busyTimeoutMs?: number
  /** Where WAL checkpoints run; see EmbeddedStoreOptions.checkpoints (default `background` for a file). */
  checkpoints?: CheckpointMode
  /** Where a failed background checkpoint is reported (it then falls back to inline checkpoints). */
  logger?: Logger
}

export const embeddedEventLogDefaults = {
  defaultPartitions: 1,
  pollIntervalMs: 50, // 50 ms
  busyTimeoutMs: 5_000, // 5 seconds
  /** Records per handler call when ConsumeOptions.maxBatch is unset. */
  maxBatch: 500,
  /** Backoff before retrying a batch whose handler threw: doubles from 100 ms up to 5 s. */
  retryInitialMs: 100,
  retryMaxMs: 5_000,
  retentionCheckIntervalMs: 60_000, // 1 minute
  /** Records deleted per pruning transaction (the event loop is yielded between chunks). */
  pruneChunk: 5_000,
  /** See embeddedStoreDefaults.walAutocheckpointPages: 40 MiB of WAL between checkpoints. */
  walAutocheckpointPages: 10_000
} as const

export interface ResolvedEmbeddedEventLogOptions {
  path: string
  defaultPartitions: number
  retention: { maxAgeMs?: number, maxRecordsPerPartition?: number, checkIntervalMs: number } | undefined
  pollIntervalMs: number
  busyTimeoutMs: number
  checkpoints: CheckpointMode
  logger?: Logger
}

function positiveInteger (value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min
}

export function resolveEmbeddedEventLogOptions (options: EmbeddedEventLogOptions): ResolvedEmbeddedEventLogOptions {
  const problems: string[] = []
  if (typeof options?.path !== 'string' || options.path === '') problems.push('path: must be a non-empty string (a file or \':memory:\')')
  const defaultPartitions = options?.defaultPartitions ?? embeddedEventLogDefaults.defaultPartitions
  if (!positiveInteger(defaultPartitions, 1)) problems.push('defaultPartitions: must be an integer >= 1')
  const pollIntervalMs = options?.pollIntervalMs ?? embeddedEventLogDefaults.pollIntervalMs
  if (!positiveInteger(pollIntervalMs, 1)) problems.push('pollIntervalMs: must be an integer >= 1')
  const busyTimeoutMs = options?.busyTimeoutMs ?? embeddedEventLogDefaults.busyTimeoutMs
  if (!positiveInteger(busyTimeoutMs, 0)) problems.push('busyTimeoutMs: must be an integer >= 0')
  const checkpoints = resolveCheckpointMode(options?.checkpoints, problems)
  let retention: ResolvedEmbeddedEventLogOptions['retention']
  const r = options?.retention
  if (r !== undefined) {
    if (r.maxAgeMs !== undefined && !positiveInteger(r.maxAgeMs, 1)) problems.push('retention.maxAgeMs: must be an integer >= 1')
    if (r.maxRecordsPerPartition !== undefined && !positiveInteger(r.maxRecordsPerPartition, 1)) problems.push('retention.maxRecordsPerPartition: must be an integer >= 1')
    const checkIntervalMs = r.checkIntervalMs ?? embeddedEventLogDefaults.retentionCheckIntervalMs
    if (!positiveInteger(checkIntervalMs, 1)) problems.push('retention.checkIntervalMs: must be an integer >= 1')
    if (r.maxAgeMs !== undefined || r.maxRecordsPerPartition !== undefined) {
      retention = { checkIntervalMs }
      if (r.maxAgeMs !== undefined) retention.maxAgeMs = r.maxAgeMs
      if (r.maxRecordsPerPartition !== undefined) retention.maxRecordsPerPartition = r.maxRecordsPerPartition
    }
  }
  if (problems.length > 0) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid embedded event log options: ${problems.join('; ')}`, { details: { problems } })
  }
  return { path: options.path, defaultPartitions, retention, pollIntervalMs, busyTimeoutMs, checkpoints, ...(options.logger === undefined ? {} : { logger: options.logger }) }
}
