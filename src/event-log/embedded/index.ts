/**
 * The embedded (SQLite) event log: the zero-setup default.
 * @module
 */
export { createEmbeddedEventLog, type EmbeddedEventLog } from './event-log.ts'
export { embeddedEventLogDefaults, type EmbeddedEventLogOptions, type EmbeddedRetentionOptions } from './options.ts'
export { murmur2, partitionForKey } from './partitioner.ts'
