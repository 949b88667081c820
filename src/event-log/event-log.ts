/**
 * The EventLog interface: durable, ordered topics with consumer groups.
 * Every implementation (embedded, Kafka) runs test/contract/event-log.contract.ts.
 * @module
 */
import type { AppendRecord, LogPosition, LogRecord } from '../model/log-record.ts'

export interface TopicSpec {
  name: string
  /** Partitions for a new topic (default 1 embedded). A key always maps to the same partition. */
  partitions?: number
}

export interface ConsumeOptions {
  /** Consumer group: committed offsets are kept per group, topic and partition. */
  group: string
  topics: string[]
  /** Where a group with no committed offset starts: earliest (default) or latest. */
  start?: 'earliest' | 'latest'
  /** Upper bound of records handed to one handler call. */
  maxBatch?: number
  /** Called when a handler throws; the same batch is retried after a backoff (records are never skipped). */
  onError?: (err: unknown, batch: ConsumedBatch) => void
}

/** Records of one topic partition, in offset order. */
export interface ConsumedBatch {
  topic: string
  partition: number
  records: LogRecord[]
}

/** The handler's promise resolving commits the batch (at-least-once: effects must be idempotent). */
export type BatchHandler = (batch: ConsumedBatch) => Promise<void>

export interface Subscription {
  /**
   * Stops fetching; resolves once the batch in flight (if any) has been handled and committed.
   * Called from inside the handler, it resolves at once (that batch still commits when the handler resolves).
   */
  stop (): Promise<void>
  pause (topics: readonly string[]): void
  resume (topics: readonly string[]): void
  paused (): string[]
}

export interface PartitionOffsets {
  partition: number
  /** First offset still retained. */
  start: number
  /** Offset the next appended record will get. */
  end: number
}

/** Whether a log reaches its brokers (logs that can lose their connection implement `health`). */
export interface EventLogHealth {
  /** The last requests reached the brokers. */
  connected: boolean
  /** Epoch ms since when `connected` has held its current value. */
  since: number
  /** While disconnected: the last connection error. */
  error?: string
}

export interface EventLog {
  readonly kind: 'embedded' | 'kafka'
  /** Creates missing topics (idempotent); Kafka without `autoCreateTopics` fails with BRAID_TOPIC_MISSING instead. */
  ensureTopics (specs: TopicSpec[]): Promise<void>
  /** Appends records (partition chosen by key); resolves once they are durable, with their positions. */
  append (topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]>
  /** Reads up to `limit` records of one partition from `offset` (inclusive). */
  read (topic: string, partition: number, offset: number, limit: number): Promise<LogRecord[]>
  offsets (topic: string): Promise<PartitionOffsets[]>
  /** Committed offsets (next offset to consume) of a group for a topic; partitions with none are absent. */
  committed (group: string, topic: string): Promise<Array<{ partition: number, offset: number }>>
  consume (options: ConsumeOptions, handler: BatchHandler): Subscription
  /** Connection state, for readiness (Kafka); absent when the log cannot lose its connection (embedded). */
  health? (): EventLogHealth
  close (): Promise<void>
}
