/**
 * Types of the write stream: a command as stored (`__braid_commands`), as served by
 * `GET /commands/{id}`, and the command service the API and the runtime use.
 * @module
 */
import type { CommandStatus } from '../model/command.ts'

/** Why an attempt failed, which decides what happens next. */
export const FailureKind = {
  /** The target could not be reached: opens the breaker, the command waits; not counted against maxAttempts. */
  unavailable: 'unavailable',
  /** The attempt reached the target and failed in a way worth retrying (5xx, timeout, serialization failure). */
  retryable: 'retryable',
  /** The target refused the command (4xx, constraint violation, invalid SQL): failed at once. */
  rejected: 'rejected'
} as const
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind]

export interface CommandError {
  code: string
  message: string
  kind: FailureKind
  /** ISO time of the failure. */
  at: string
}

/** Progress of `waitFor`: committed in the target → CDC confirmed → projections applied → view rebuilt. */
export const WaitStage = {
  committed: 'committed',
  captured: 'captured',
  projected: 'projected',
  reached: 'reached'
} as const
export type WaitStage = (typeof WaitStage)[keyof typeof WaitStage]

export interface WaitForState {
  view: string
  stage: WaitStage
  reachedView: boolean
  reachedAt?: string
  /** Set when braid gave up watching (the view was not reached within the wait limit). */
  timedOut?: boolean
  /** End offsets of the ingestion topics once CDC confirmed the commit (`topic` → offsets by partition). */
  offsets?: Record<string, number[]>
}

/** A command as stored. Payload and result are kept: they are served to callers with the command's scope. */
export interface CommandRecord {
  _id: string
  name: string
  target: string
  /** Partition key of the queue record: the target key, or the id when the command has no key. */
  orderKey: string
  idempotencyKey?: string
  /** sha256 of the canonical payload and options: the same idempotency key must come with the same request. */
  fingerprint: string
  payload: unknown
  status: CommandStatus
  /** Execution round: 1, then one more per retry of a failed command (a queue record of an older run is ignored). */
  run: number
  /** Attempts of this run. */
  attempts: number
  /** Failed attempts of this run that count against maxAttempts. */
  failures: number
  createdAt: string
  updatedAt: string
  startedAt?: string | null
  finishedAt?: string | null
  /** Epoch-ms ISO time of the next attempt while backing off. */
  nextAttemptAt?: string | null
  /** Why a pending command is not running: backing off, or its target's circuit is open. */
  waiting?: 'backoff' | 'circuit-open' | null
  error?: CommandError | null
  result?: unknown
  /** WAL position after the command's commit (postgres targets, or targets with a changeFeed). */
  commitLsn?: string | null
  /** The command id was already recorded in the target: an earlier attempt had applied it (not applied again). */
  alreadyApplied?: boolean
  waitFor?: WaitForState
  /** True while `waitFor` is being watched. */
  awaitingView?: boolean
  /** Times a failed command was sent again (`POST /-/commands/{id}/retry`). */
  retries?: number
}

/** What `GET /commands/{id}` answers. */
export interface CommandView {
  id: string
  name: string
  target: string
  status: CommandStatus
  attempts: number
  payload: unknown
  createdAt: string
  updatedAt: string
  startedAt: string | null
  finishedAt: string | null
  idempotencyKey?: string
  waiting?: 'backoff' | 'circuit-open'
  nextAttemptAt?: string
  error?: CommandError
  result?: unknown
  alreadyApplied?: boolean
  /** State of the target's circuit breaker now. */
  circuit: BreakerState
  waitFor?: { view: string, reachedView: boolean, stage: WaitStage, reachedAt?: string, timedOut?: boolean }
  retries?: number
  statusUrl: string
}

export const BreakerState = {
  closed: 'closed',
  open: 'open',
  halfOpen: 'half-open'
} as const
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState]

export interface BreakerSnapshot {
  state: BreakerState
  consecutiveFailures: number
  /** ISO time the circuit opened (open and half-open). */
  openedAt?: string
  /** ISO time the next probe is let through (open). */
  retryAt?: string
}

export interface SubmitOptions {
  /** Same key (per command name) → same command, executed once. */
  idempotencyKey?: string
  /** A single view: the status reports `reachedView` once the command's change is in it. */
  waitFor?: string
}

export interface SubmitResult {
  command: CommandView
  /** True when an earlier request with the same idempotency key created the command. */
  replayed: boolean
}

export interface ListOptions {
  status?: CommandStatus
  name?: string
  limit?: number
  skip?: number
}

export interface CommandsStatus {
  topic: string
  /** Queue records not consumed yet. */
  lag: number
  counts: Record<CommandStatus, number>
  targets: Record<string, { kind: string, circuit: BreakerSnapshot }>
}

/** `GET /-/commands`: the status with the configured definitions. */
export interface CommandsOverview extends CommandsStatus {
  definitions: Array<{ name: string, target: string, executor: string, key: string[], payload: unknown, url: string }>
}

/** The write stream of a running braid. */
export interface CommandService {
  readonly topic: string
  /** Names of the configured commands. */
  names (): string[]
  /** Validates, records and queues a command (202). */
  submit (name: string, payload: unknown, options?: SubmitOptions): Promise<SubmitResult>
  get (id: string): Promise<CommandView>
  list (options?: ListOptions): Promise<CommandView[]>
  /** Sends a failed (dead-lettered) command again, as a new run. */
  retry (id: string): Promise<CommandView>
  status (): Promise<CommandsStatus>
  /** The write stream's metrics in the Prometheus text format 0.0.4 (appended to `/-/metrics`). */
  exposition (): Promise<string>
  start (): Promise<void>
  stop (): Promise<void>
}
