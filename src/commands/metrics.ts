/**
 * Metrics of the write stream, appended to `GET /-/metrics` (Prometheus text exposition format 0.0.4)
 * after the pipeline's own (docs/observability.md, "Commands").
 *
 * Counters and histograms are per process and bumped where things happen: a command accepted or sent
 * again (service), an attempt and its duration, a command finished (runner), `waitFor` reached or
 * given up (view waiter). Label sets come from the configuration (command, target and view names) and
 * closed lists; they are escaped once. Queue depth, running commands, dead letters and queue lag are
 * read from the store and the log at scrape time (the same for every braid sharing them); circuit
 * states are this process's breakers.
 * @module
 */
import { CommandStatus, type CommandsDefinition } from '../model/command.ts'
import { Histogram, label } from '../runtime/metrics.ts'
import { BreakerState, FailureKind, type CommandsStatus } from './types.ts'

/** Duration of one attempt against a target, seconds (up to the default 30 s timeout and beyond). */
export const executionBuckets: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/** A succeeded command → its change in the view (`waitFor`), seconds (watched for 10 minutes by default). */
export const waitForBuckets: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600]

/** How an attempt ended: it succeeded, or the kind of its failure. */
export const AttemptResult = { succeeded: 'succeeded', ...FailureKind } as const
export type AttemptResult = (typeof AttemptResult)[keyof typeof AttemptResult]

const attemptResults = Object.values(AttemptResult)
const breakerStates = Object.values(BreakerState)

interface CommandCounters {
  /** Escaped `command="…"`. */
  label: string
  accepted: number
  retried: number
  succeeded: number
  failed: number
  attempts: Record<AttemptResult, number>
}

interface WaitForCounters {
  label: string
  reached: number
  timedOut: number
  seconds: Histogram
}

export class CommandMetrics {
  readonly #commands = new Map<string, CommandCounters>()
  readonly #execution = new Map<string, { label: string, seconds: Histogram }>()
  readonly #waitFor = new Map<string, WaitForCounters>()
  /** Target names with their escaped `target="…"`. */
  readonly #targets: ReadonlyArray<readonly [string, string]>

  /** Series for every configured command and target, and for every view when `waitFor` is possible. */
  constructor (commands: CommandsDefinition, views: Iterable<string>) {
    for (const name of commands.definitions.keys()) this.#command(name)
    this.#targets = [...commands.targets.keys()].map(t => [t, this.#executionOf(t).label] as const)
    // A command can ask for waitFor only when its target has a changeFeed.
    if ([...commands.targets.values()].some(t => t.changeFeed !== undefined)) for (const view of views) this.#view(view)
  }

  /** A new command was accepted (not a replay of an idempotency key). */
  accepted (name: string): void {
    this.#command(name).accepted++
  }

  /** A failed command was sent again (`POST /-/commands/{id}/retry`). */
  retried (name: string): void {
    this.#command(name).retried++
  }

  /** One attempt ended after `seconds` in the executor. */
  attempt (name: string, target: string, result: AttemptResult, seconds: number): void {
    this.#command(name).attempts[result]++
    this.#executionOf(target).seconds.observe(seconds)
  }

  /** A command reached a final status. */
  finished (name: string, status: typeof CommandStatus.succeeded | typeof CommandStatus.failed): void {
    this.#command(name)[status]++
  }

  /** `waitFor`: the change reached `view`, `seconds` after the command succeeded. */
  waitForReached (view: string, seconds: number): void {
    const c = this.#view(view)
    c.reached++
    c.seconds.observe(seconds)
  }

  /** `waitFor`: braid stopped watching before the change reached `view`. */
  waitForTimedOut (view: string): void {
    this.#view(view).timedOut++
  }

  /** The write stream's metrics; `status` gives the gauges read at scrape time. */
  exposition (status: CommandsStatus): string {
    const out = new Lines()
    const commands = [...this.#commands.values()]

    out.family('braid_commands_accepted_total', 'counter', 'Commands accepted (202) by POST /commands/{name}, per command; a replayed Idempotency-Key is not counted again.')
    for (const c of commands) out.sample('braid_commands_accepted_total', c.label, c.accepted)
    out.family('braid_commands_retried_total', 'counter', 'Failed commands sent again with POST /-/commands/{id}/retry, per command.')
    for (const c of commands) out.sample('braid_commands_retried_total', c.label, c.retried)
    out.family('braid_commands_finished_total', 'counter', 'Commands that reached a final status, per command: succeeded, or failed (a dead letter).')
    for (const c of commands) {
      out.sample('braid_commands_finished_total', `${c.label},status="succeeded"`, c.succeeded)
      out.sample('braid_commands_finished_total', `${c.label},status="failed"`, c.failed)
    }
    out.family('braid_command_attempts_total', 'counter', 'Attempts per command and result: succeeded, retryable (retried with backoff), unavailable (the target could not be reached), rejected (failed at once).')
    for (const c of commands) for (const r of attemptResults) out.sample('braid_command_attempts_total', `${c.label},result="${r}"`, c.attempts[r])
    out.family('braid_command_execution_seconds', 'histogram', 'Duration of one attempt in the executor (SQL transaction, HTTP request, function), per target.')
    for (const e of this.#execution.values()) out.histogram('braid_command_execution_seconds', e.label, e.seconds)

    out.family('braid_commands_pending', 'gauge', 'Commands accepted and not finished nor running: queued, backing off, or waiting for an open circuit. Read from the store at scrape time.')
    out.sample('braid_commands_pending', '', status.counts.pending)
    out.family('braid_commands_running', 'gauge', 'Commands being attempted now. Read from the store at scrape time.')
    out.sample('braid_commands_running', '', status.counts.running)
    out.family('braid_commands_dead_letters', 'gauge', 'Failed commands kept as dead letters (GET /-/commands/dead-letters). Read from the store at scrape time.')
    out.sample('braid_commands_dead_letters', '', status.counts.failed)
    out.family('braid_commands_queue_lag', 'gauge', 'Records of the command queue topic not yet consumed by the command executor.')
    out.sample('braid_commands_queue_lag', '', status.lag)
    out.family('braid_command_circuit_state', 'gauge', 'One sample per target and circuit state (closed, open, half-open): 1 for the state of this braid\'s breaker, else 0.')
    for (const [target, l] of this.#targets) {
      const state = status.targets[target]?.circuit.state ?? BreakerState.closed
      for (const s of breakerStates) out.sample('braid_command_circuit_state', `${l},state="${s}"`, s === state ? 1 : 0)
    }

    out.family('braid_command_wait_for_total', 'counter', 'waitFor outcomes per view: reached (the change is in the view), timed_out (braid stopped watching).')
    for (const w of this.#waitFor.values()) {
      out.sample('braid_command_wait_for_total', `${w.label},result="reached"`, w.reached)
      out.sample('braid_command_wait_for_total', `${w.label},result="timed_out"`, w.timedOut)
    }
    out.family('braid_command_wait_for_seconds', 'histogram', 'waitFor: from the command\'s success to its change being in the view, per view.')
    for (const w of this.#waitFor.values()) out.histogram('braid_command_wait_for_seconds', w.label, w.seconds)
    return out.text()
  }

  #command (name: string): CommandCounters {
    let c = this.#commands.get(name)
    if (c === undefined) {
      const attempts = Object.fromEntries(attemptResults.map(r => [r, 0])) as Record<AttemptResult, number>
      c = { label: label('command', name), accepted: 0, retried: 0, succeeded: 0, failed: 0, attempts }
      this.#commands.set(name, c)
    }
    return c
  }

  #executionOf (target: string): { label: string, seconds: Histogram } {
    let e = this.#execution.get(target)
    if (e === undefined) {
      e = { label: label('target', target), seconds: new Histogram(executionBuckets) }
      this.#execution.set(target, e)
    }
    return e
  }

  #view (view: string): WaitForCounters {
    let w = this.#waitFor.get(view)
    if (w === undefined) {
      w = { label: label('view', view), reached: 0, timedOut: 0, seconds: new Histogram(waitForBuckets) }
      this.#waitFor.set(view, w)
    }
    return w
  }
}

/**
 * The text format's lines: a family's HELP and TYPE, written with its first sample (a family without
 * samples is left out), then its samples. Values here are finite counts and sums.
 */
class Lines {
  readonly #lines: string[] = []
  #header: string[] = []

  family (name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.#header = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`]
  }

  sample (name: string, labels: string, value: number): void {
    if (this.#header.length > 0) this.#lines.push(...this.#header.splice(0))
    this.#lines.push(labels === '' ? `${name} ${value}` : `${name}{${labels}} ${value}`)
  }

  histogram (name: string, labels: string, h: Histogram): void {
    const cumulative = h.cumulative()
    h.bounds.forEach((bound, i) => this.sample(`${name}_bucket`, `${labels},le="${bound}"`, cumulative[i] ?? 0))
    this.sample(`${name}_bucket`, `${labels},le="+Inf"`, h.count)
    this.sample(`${name}_sum`, labels, h.sum)
    this.sample(`${name}_count`, labels, h.count)
  }

  text (): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`
  }
}
