/**
 * What the HTTP API and the CLI see of a running pipeline.
 * @module
 */
import type { EventLog } from '../event-log/event-log.ts'
import type { Doc } from '../model/document.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import type { LineageEntry } from '../single-view/types.ts'
import type { Store } from '../storage/store.ts'

/** One message of `POST /ingest/{topic}` and `braid replay`: key and value as JSON or text. */
export interface IngestMessage {
  key?: unknown
  value?: unknown
  /** Epoch ms or ISO-8601; the append time when absent. */
  timestamp?: number | string
  headers?: Record<string, string>
}

export interface StageCounters {
  /** Source messages consumed. */
  consumed: number
  /** Projection records written (insert, update or delete). */
  applied: number
  /** Events older than the stored record (ordering guard). */
  stale: number
  /** Events equal to the stored record (no-op). */
  duplicates: number
  /** Messages sent to the dead-letter collection. */
  deadLettered: number
}

export interface ViewCounters {
  /** Views written (upserted or deleted). */
  written: number
  /** Rebuilds that found the view unchanged. */
  unchanged: number
  /** Views deleted (base record gone or validator false). */
  deleted: number
  /** Failed builds (recorded in sv-errors, retried). */
  failed: number
  /** Views changed by Single View Patch. */
  patched: number
  /** Pending rebuilds in the trigger queue. */
  queued: number
  /** Source event time → view written, last observed, ms. */
  lastFreshnessMs: number | null
  /** Median source event time → view written since start, ms, estimated from the freshness histogram. */
  freshnessP50Ms: number | null
  /** 99th percentile of the same, ms (the highest bucket bound, 60 000, when beyond it). */
  freshnessP99Ms: number | null
}

export interface ServiceStatus {
  ready: boolean
  startedAt: string
  store: string
  eventLog: string
  projections: Record<string, StageCounters & { topic: string, lag: number }>
  singleViews: Record<string, ViewCounters>
}

export type { LineageEntry } from '../single-view/types.ts'

export interface ExplainResult {
  identifier: Doc
  view: Doc | null
  stored: Doc | null
  reason?: string
  lineage: LineageEntry[]
}

export interface BraidService {
  readonly pipeline: PipelineDefinition
  readonly store: Store
  readonly log: EventLog
  isReady (): boolean
  /** Decodes every message with the topic's format, then appends all of them, or none (BRAID_INGEST_INVALID). */
  ingest (topic: string, messages: readonly IngestMessage[]): Promise<{ appended: number }>
  status (): Promise<ServiceStatus>
  /** Every metric in the Prometheus text exposition format 0.0.4 (`GET /-/metrics`). */
  metrics (): Promise<string>
  explain (view: string, identifier: Doc): Promise<ExplainResult>
  /** Re-appends a dead-lettered message to its topic and marks it replayed. */
  replayDeadLetter (id: string): Promise<void>
}
