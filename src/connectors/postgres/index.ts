/**
 * PostgreSQL sources: change data capture over logical replication, and query polling for any
 * database speaking the PostgreSQL wire protocol. See docs/connectors.md.
 * @module
 */
export { PostgresCdcSource } from './cdc-source.ts'
export { PollingSource } from './polling-source.ts'
export { convertValue, sessionOptions } from './values.ts'
export { formatLsn, parseLsn } from './lsn.ts'
export { sourceStateKey, resnapshotRequestKey } from './support.ts'
export type { Source, SourceContext, SourceState, SourceStatus, TableStatus, TableSnapshotStatus } from './types.ts'
