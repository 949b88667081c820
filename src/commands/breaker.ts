/**
 * A circuit breaker per target. Closed: every attempt goes through; `failureThreshold` consecutive
 * failures open it. Open: attempts wait (they are not failed) until `cooldownMs` has passed, then one
 * probe goes through (half-open) while the others keep waiting; the probe's success closes the
 * circuit, its failure opens it again for another cooldown.
 * @module
 */
import type { BreakerPolicy } from '../model/command.ts'
import { BreakerState, type BreakerSnapshot } from './types.ts'

/** Rejects with the signal's reason once it aborts. */
export async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, Math.max(0, ms))
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export class CircuitBreaker {
  readonly policy: BreakerPolicy
  readonly #now: () => number
  #state: BreakerState = BreakerState.closed
  #failures = 0
  #openedAt = 0
  #probing = false
  /** Wakes the attempts waiting for a state change. */
  #waiters: Array<() => void> = []

  constructor (policy: BreakerPolicy, now: () => number = Date.now) {
    this.policy = policy
    this.#now = now
  }

  /**
   * Resolves when an attempt may go: at once when closed; after the cooldown (as the probe) or after
   * another's probe closed the circuit, when not. `onWait` is called once if the attempt has to wait.
   * Resolves with true when this attempt is the half-open probe.
   */
  async acquire (signal: AbortSignal, onWait?: () => Promise<void> | void): Promise<boolean> {
    let waited = false
    for (;;) {
      signal.throwIfAborted()
      if (this.#state === BreakerState.closed) return false
      const retryAt = this.#openedAt + this.policy.cooldownMs
      if (this.#state === BreakerState.open && this.#now() >= retryAt) {
        this.#state = BreakerState.halfOpen
      }
      if (this.#state === BreakerState.halfOpen && !this.#probing) {
        this.#probing = true
        return true
      }
      if (!waited) {
        waited = true
        await onWait?.()
        continue
      }
      const until = this.#state === BreakerState.open ? retryAt - this.#now() : this.policy.cooldownMs
      await this.#wait(until, signal)
    }
  }

  /** Records the outcome of an attempt that `acquire` let through. */
  record (ok: boolean, probe: boolean): void {
    if (probe) this.#probing = false
    if (ok) {
      this.#failures = 0
      if (this.#state !== BreakerState.closed) this.#state = BreakerState.closed
    } else {
      this.#failures++
      if (probe || this.#state === BreakerState.halfOpen || (this.#state === BreakerState.closed && this.#failures >= this.policy.failureThreshold)) {
        this.#state = BreakerState.open
        this.#openedAt = this.#now()
      }
    }
    this.#wakeAll()
  }

  /** Lets a probe slot go without an outcome (the attempt was aborted). */
  release (probe: boolean): void {
    if (!probe) return
    this.#probing = false
    this.#wakeAll()
  }

  snapshot (): BreakerSnapshot {
    const out: BreakerSnapshot = { state: this.#state, consecutiveFailures: this.#failures }
    if (this.#state !== BreakerState.closed) out.openedAt = new Date(this.#openedAt).toISOString()
    if (this.#state === BreakerState.open) out.retryAt = new Date(this.#openedAt + this.policy.cooldownMs).toISOString()
    return out
  }

  /** Until a state change, `ms` or the signal, whichever comes first (rejects on abort). */
  async #wait (ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#waiters = this.#waiters.filter(w => w !== done)
      }
      const done = (): void => {
        cleanup()
        resolve()
      }
      const onAbort = (): void => {
        cleanup()
        reject(signal.reason)
      }
      const timer = setTimeout(done, Math.max(0, ms))
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(done)
    })
  }

  #wakeAll (): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}
