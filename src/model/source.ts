/**
 * Sources: systems braid reads changes from itself (the `sources:` section of braid.yaml), as opposed
 * to topics something else fills. A source appends Debezium change events to the ingestion topics of
 * the projections, so a projection decodes them exactly as it would decode Debezium's.
 *
 * - `postgres`: change data capture from PostgreSQL logical replication (pgoutput): an initial
 *   snapshot, then the stream of a replication slot.
 * - `polling`: a SQL query polled by an incremental column, for databases without CDC.
 * @module
 */

export const SourceKind = {
  postgres: 'postgres',
  polling: 'polling'
} as const
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind]

/** A connection string, given inline or named by an environment variable read when the source starts. */
export type ConnectionRef = { url: string } | { env: string }

export const SnapshotMode = {
  /** Snapshot every table when the slot is created (or lost), then stream. */
  initial: 'initial',
  /** Stream changes from the slot's creation on; existing rows are not read. */
  never: 'never'
} as const
export type SnapshotMode = (typeof SnapshotMode)[keyof typeof SnapshotMode]

export interface PostgresTableDefinition {
  /** `schema.table`, as written in the configuration (`public.customers`; a bare name means `public`). */
  name: string
  schema: string
  table: string
  /** Ingestion topic the table's change events are appended to. */
  topic: string
}

export interface PostgresSourceDefinition {
  kind: 'postgres'
  name: string
  connection: ConnectionRef
  /** Publication streamed (created for the tables when missing). */
  publication: string
  /** Logical replication slot (created when missing). */
  slot: string
  tables: PostgresTableDefinition[]
  snapshot: {
    mode: SnapshotMode
    /** Rows read per chunk (one query, one append, one progress write). */
    chunkSize: number
  }
}

export interface PollingSourceDefinition {
  kind: 'polling'
  name: string
  connection: ConnectionRef
  /** The SELECT polled; braid wraps it as a subquery to page it by the incremental column. */
  query: string
  /** Column that grows on every insert and update (`updated_at`, a sequence-fed id). */
  incrementalColumn: string
  /** Columns identifying a row (the message key). */
  key: string[]
  /** Pause between polls once caught up, ms. */
  intervalMs: number
  /** Rows per query (and per append). */
  batchSize: number
  topic: string
  /** Periodic scan of every key of the query, to find deleted rows; absent: deletes are not detected. */
  deleteScan?: { everyMs: number }
}

export type SourceDefinition = PostgresSourceDefinition | PollingSourceDefinition

/** Defaults of the `sources:` section. */
export const sourceDefaults = {
  chunkSize: 5000,
  snapshotMode: SnapshotMode.initial,
  intervalMs: 5000, // 5 seconds
  batchSize: 1000,
  schema: 'public',
  /** Publication and slot are `braid_<source name>` unless given. */
  namePrefix: 'braid_'
} as const

/** The environment variable or a redacted form of a connection, for messages (never the password). */
export function describeConnection (ref: ConnectionRef): string {
  if ('env' in ref) return `$${ref.env}`
  try {
    const url = new URL(ref.url)
    return `${url.protocol}//${url.hostname}${url.port === '' ? '' : `:${url.port}`}${url.pathname}`
  } catch {
    return 'an unparsable URL'
  }
}
