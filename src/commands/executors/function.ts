/**
 * The custom executor: a user function `({ command, payload, attempt, signal }) => result`.
 * An error it throws with `retryable: false` rejects the command; with `unavailable: true` the
 * target is taken as unreachable (the breaker counts it, the command waits); any other error is
 * retried. The result must be JSON-serialisable.
 * @module
 */
import { FailureKind } from '../types.ts'
import { attemptError, shortMessage, type Attempt, type AttemptOutcome, type TargetExecutor } from './executor.ts'

export class FunctionExecutor implements TargetExecutor {
  async execute (attempt: Attempt): Promise<AttemptOutcome> {
    const { definition, signal } = attempt
    const executor = definition.executor
    if (executor.kind !== 'function') throw attemptError(FailureKind.rejected, `command ${definition.name} is not a function command`)
    const timeout = AbortSignal.timeout(definition.timeoutMs)
    const combined = AbortSignal.any([signal, timeout])
    let result: unknown
    try {
      const command = { id: attempt.id, name: definition.name, target: definition.target, ...(attempt.idempotencyKey === undefined ? {} : { idempotencyKey: attempt.idempotencyKey }) }
      combined.throwIfAborted()
      // A function that ignores its signal still lets the attempt end at the timeout.
      const aborted = new Promise<never>((_resolve, reject) => combined.addEventListener('abort', () => reject(combined.reason), { once: true }))
      const run = (async () => await executor.fn({ command, payload: structuredClone(attempt.payload), attempt: attempt.attempt, signal: combined }))()
      result = await Promise.race([run, aborted])
    } catch (err) {
      signal.throwIfAborted()
      if (timeout.aborted) throw attemptError(FailureKind.retryable, `${executor.file} did not finish within ${definition.timeoutMs} ms`, err)
      const flags = err !== null && typeof err === 'object' ? err as { retryable?: unknown, unavailable?: unknown } : {}
      const kind = flags.unavailable === true ? FailureKind.unavailable : flags.retryable === false ? FailureKind.rejected : FailureKind.retryable
      throw attemptError(kind, `${executor.file} threw: ${shortMessage(err)}`, err)
    }
    let json: unknown
    try {
      json = result === undefined ? null : JSON.parse(JSON.stringify(result)) as unknown
    } catch (err) {
      throw attemptError(FailureKind.rejected, `${executor.file} returned a result that is not JSON-serialisable: ${shortMessage(err)}`, err)
    }
    return { result: json }
  }

  async close (): Promise<void> {}
}
