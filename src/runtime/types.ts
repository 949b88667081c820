/**
 * What the HTTP API and the CLI see of a running pipeline.
 * @module
 */
import type { CommandService, CommandsStatus } from '../commands/types.ts'
import type { SourceManager, SourceStatus } from '../connectors/sources.ts'
import type { EventLog } from '../event-log/event-log.ts'
import type { ControlState, ControlTarget } from './control.ts'
import type { Job, JobKind } from './jobs.ts'
import type { WorkerInfo } from './workers.ts'
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
  /** Consumption held (this projection or another of its topic is paused). */
  paused: boolean
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
  /** Building held: changes queue up until resumed. */
  paused: boolean
}

export interface ServiceStatus {
  ready: boolean
  startedAt: string
  store: string
  eventLog: string
  projections: Record<string, StageCounters & { topic: string, lag: number }>
  singleViews: Record<string, ViewCounters>
  /** Workers sharing the store (scale-out), this one first, with the queue partitions each builds. */
  workers: WorkerInfo[]
  /** The write stream (`commands:`): queue lag, commands by status, each target's circuit breaker. */
  commands?: CommandsStatus
  /** Sources braid captures itself (`sources:`): state, lag, last event, snapshot progress per table. */
  sources?: Record<string, SourceStatus>
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
  /** The write stream, when the configuration has `commands:`. */
  readonly commands?: CommandService
  /** The sources, when the configuration has `sources:`. */
  readonly sources?: SourceManager
  isReady (): boolean
  /** Readiness and why: started, store and event log reachable, what is paused or halted on a poison message. */
  readiness (): { ready: boolean, details: Record<string, unknown> }
  /** Decodes every message with the topic's format, then appends all of them, or none (BRAID_INGEST_INVALID). */
  ingest (topic: string, messages: readonly IngestMessage[]): Promise<{ appended: number }>
  status (): Promise<ServiceStatus>
  /** Every metric in the Prometheus text exposition format 0.0.4 (`GET /-/metrics`). */
  metrics (): Promise<string>
  explain (view: string, identifier: Doc): Promise<ExplainResult>
  /** Re-appends a dead-lettered message to its topic and marks it replayed. */
  replayDeadLetter (id: string): Promise<void>
  /** Marks a dead letter dismissed (kept for the record, not replayed). */
  dismissDeadLetter (id: string): Promise<void>
  /** Re-queues the build of an sv-error's view key now and removes the record (a new failure writes a new one). */
  retrySvError (id: string): Promise<void>
  /** Removes an sv-error record (the view key is not rebuilt). */
  dismissSvError (id: string): Promise<void>
  /** Pause state of every projection and view. */
  control (): ControlState
  /** Pauses or resumes a projection's consumption or a view's building; persisted, seen by every worker. */
  setPaused (target: ControlTarget, name: string, paused: boolean): Promise<ControlState>
  /** Starts a rebuild (through the trigger queue) or a verify of a view in the background. */
  startJob (kind: JobKind, view: string): Job
  jobs (): Job[]
  job (id: string): Job | undefined
}
