/**
 * The shapes of the braid API answers the console reads. The pipeline description, the control
 * state and the commands' shapes are the server's own types, imported type-only (nothing of the
 * server is bundled); the others are kept here by hand.
 * @module
 */
import type { CommandError, CommandsOverview, CommandView, FailureKind, WaitStage, BreakerSnapshot as CircuitSnapshot, BreakerState as CircuitState } from '../../src/commands/types.ts'
import type { CommandStatus } from '../../src/model/command.ts'
import type { ControlState, PauseState, PoisonInfo } from '../../src/model/control.ts'
import type { PipelineDescription, ProjectionDescription, RelationDescription, SingleViewDescription } from '../../src/model/pipeline-description.ts'

export type Doc = Record<string, unknown>

export type { PipelineDescription, ProjectionDescription, RelationDescription, SingleViewDescription }

export interface ProjectionStatus {
  topic: string
  lag: number
  consumed: number
  applied: number
  stale: number
  duplicates: number
  deadLettered: number
  paused?: boolean
}

export interface ViewStatus {
  written: number
  unchanged: number
  deleted: number
  failed: number
  patched: number
  queued: number
  lastFreshnessMs: number | null
  freshnessP50Ms: number | null
  freshnessP99Ms: number | null
  paused?: boolean
}

export interface ServiceStatus {
  ready: boolean
  startedAt: string
  store: string
  eventLog: string
  projections: Record<string, ProjectionStatus>
  singleViews: Record<string, ViewStatus>
  /** The braid processes sharing the work, when the service reports them. */
  workers?: Array<{ id: string, host?: string, pid?: number, startedAt?: string, partitions?: number }>
}

export type { ControlState, PauseState, PoisonInfo }

/**
 * One difference found by verify: `key`, `kind` (`missing`, `unexpected`, `different`) and the
 * differing top-level `paths`; `identifier`, `reason`, `stored` and `expected` are read too when given.
 */
export interface Difference {
  key?: Doc
  kind?: string
  paths?: string[]
  identifier?: Doc
  reason?: string
  stored?: Doc | null
  expected?: Doc | null
}

export interface Job {
  id: string
  kind: 'rebuild' | 'verify'
  view: string
  state: 'running' | 'succeeded' | 'failed'
  done: number
  total: number | null
  startedAt: string
  finishedAt?: string
  /** Why a running job makes no progress (e.g. the view is paused). */
  waiting?: string
  error?: string | { code: string, message: string }
  /** Rebuild: counts (`enqueued`, `failed`…); verify: `checked`, `differences`, `differencesTotal`. */
  result?: Record<string, unknown> & { checked?: number, differences?: Difference[], differencesTotal?: number }
}

export interface DeadLetter {
  _id: string
  projection: string
  topic: string
  partition: number
  offset: number
  key: string | null
  value: string | null
  headers?: Record<string, string>
  timestamp: string
  code: string
  reason: string
  details?: unknown
  status: string
  at: string
}

export interface SvError {
  _id: string
  type: string
  identifier: Doc
  errorType: string
  errorMessage: string
  resolutionMethod: string
  attempts: number
  createdAt: string
  updatedAt: string
  status?: string
}

export interface LineageEntry {
  projection: string
  dependency: string
  _id?: unknown
  key?: Doc
  __STATE__?: unknown
  __internal__kafkaInfo?: unknown
  __internal__counter?: unknown
  updatedAt?: unknown
}

export interface ExplainResult {
  identifier: Doc
  view: Doc | null
  stored: Doc | null
  reason?: string
  lineage: LineageEntry[]
}

export interface UnmappedField {
  projection: string
  field: string
  type: 'UNKNOWN_FIELD' | 'UNCASTABLE_FIELD'
  count: number
  firstSeenAt: string
  lastSeenAt: string
}

export interface DocumentSchema {
  type: string
  properties: Record<string, { type?: string | string[], nullable?: boolean, properties?: unknown, items?: unknown }>
  required?: string[]
}

/** One sv-update event of `GET /single-views/{name}/changes`. */
export interface SvUpdate {
  operation: { type: 'INSERT' | 'UPDATE' | 'DELETE', timestamp: string }
  key: Doc
  /** The view before and after; absent when the view publishes key-only events (`updateEvents: key`). */
  before?: Doc | null
  after?: Doc | null
}

// The write stream's answers are the server's own types.
export type { CommandError, CommandView, FailureKind, WaitStage, CircuitState, CommandStatus, CircuitSnapshot, CommandsOverview }
