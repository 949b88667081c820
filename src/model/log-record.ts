/**
 * Records as they travel on an event log (embedded or Kafka).
 * @module
 */

/** What a producer hands to the log. Keys and values are text (JSON for every braid format). */
export interface AppendRecord {
  key: string | null
  value: string | null
  /** Epoch ms; the log's append time when absent. */
  timestamp?: number
  headers?: Record<string, string>
}

/** A record read back from the log, with its position. */
export interface LogRecord {
  topic: string
  partition: number
  offset: number
  key: string | null
  value: string | null
  timestamp: number
  headers: Record<string, string>
}

/** Where a record was appended. */
export interface LogPosition {
  topic: string
  partition: number
  offset: number
}
