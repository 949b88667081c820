/**
 * What every executor (SQL, upsert, HTTP, custom function) implements, and how its failures are
 * classified: `unavailable` (the target could not be reached), `retryable` (it was reached, try
 * again) or `rejected` (it refused the command).
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { CommandDefinition, SecretValue } from '../../model/command.ts'
import { FailureKind } from '../types.ts'

/** One attempt of one command. */
export interface Attempt {
  id: string
  definition: CommandDefinition
  payload: unknown
  /** 1 for the first attempt of the run. */
  attempt: number
  idempotencyKey?: string
  /** Aborted on stop or after the command's timeoutMs. */
  signal: AbortSignal
}

export interface AttemptOutcome {
  /** JSON-serialisable result, kept in the command's status. */
  result: unknown
  /** WAL position after the commit, when known (postgres targets, changeFeed targets). */
  commitLsn?: string
  /** The command id was already recorded by the target: not applied again. */
  alreadyApplied?: boolean
}

/** Executes the commands of one target. */
export interface TargetExecutor {
  execute (attempt: Attempt): Promise<AttemptOutcome>
  close (): Promise<void>
}

const codeOf = {
  [FailureKind.unavailable]: 'BRAID_TARGET_UNAVAILABLE',
  [FailureKind.retryable]: 'BRAID_COMMAND_ATTEMPT_FAILED',
  [FailureKind.rejected]: 'BRAID_COMMAND_REJECTED'
} as const

/** A failed attempt: a BraidError whose `details.kind` says what happens next. */
export function attemptError (kind: FailureKind, message: string, cause?: unknown, details: Record<string, unknown> = {}): BraidError {
  return new BraidError(codeOf[kind], message, { details: { ...details, kind }, ...(cause === undefined ? {} : { cause }) })
}

/** The kind of a failed attempt (errors not made by attemptError are retryable). */
export function failureKind (err: unknown): FailureKind {
  if (err instanceof BraidError) {
    const kind = err.details['kind']
    if (kind === FailureKind.unavailable || kind === FailureKind.retryable || kind === FailureKind.rejected) return kind
    return err.retryable ? FailureKind.retryable : FailureKind.rejected
  }
  return FailureKind.retryable
}

/**
 * The value of a configured secret.
 * @throws BraidError BRAID_CONFIG_INVALID when the environment variable is not set.
 */
export function secretValue (value: SecretValue, where: string): string {
  if (typeof value === 'string') return value
  const found = process.env[value.env]
  if (found === undefined || found === '') {
    throw new BraidError('BRAID_CONFIG_INVALID', `${where}: the environment variable ${value.env} is not set`, { details: { variable: value.env, where } })
  }
  return found
}

/** Node network error codes that mean the target could not be reached. */
const unreachable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'])

/** The network error code of `err` or of one of its causes (fetch wraps them). */
export function networkCode (err: unknown): string | undefined {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && unreachable.has(code)) return code
    const nested = (current as { errors?: unknown }).errors
    if (Array.isArray(nested)) {
      for (const e of nested) {
        const inner = networkCode(e)
        if (inner !== undefined) return inner
      }
    }
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** First line of an error message, bounded (messages are stored and served). */
export function shortMessage (err: unknown, max = 500): string {
  const text = err instanceof Error ? err.message : String(err)
  const line = text.split('\n')[0] ?? text
  return line.length > max ? `${line.slice(0, max)}…` : line
}
