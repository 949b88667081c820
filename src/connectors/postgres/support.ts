/**
 * Small helpers of the sources: meta keys, abortable sleeps, the retry backoff, and status errors.
 * @module
 */
import { isBraidError } from '../../errors.ts'

/** Meta key of a source's persisted progress (positions, cursors, snapshot progress). */
export function sourceStateKey (source: string): string {
  return `braid.source.${source}`
}

/** Meta key of a pending re-snapshot request of one table (written by the HTTP route or the CLI). */
export function resnapshotRequestKey (source: string, table: string): string {
  return `braid.source.${source}.resnapshot.${table}`
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Exponential backoff: 1 s doubling to 1 min; `reset()` after a success. */
export class Backoff {
  #attempt = 0
  readonly #min: number
  readonly #max: number

  constructor (minMs = 1000, maxMs = 60_000) {
    this.#min = minMs
    this.#max = maxMs
  }

  next (): number {
    const ms = Math.min(this.#max, this.#min * 2 ** this.#attempt)
    this.#attempt++
    return ms
  }

  reset (): void {
    this.#attempt = 0
  }
}

/** The code and message of an error, for the status. */
export function errorSummary (err: unknown): { code: string, message: string, at: string } {
  const at = new Date().toISOString()
  if (isBraidError(err)) return { code: err.code, message: err.message, at }
  return { code: 'BRAID_INTERNAL', message: err instanceof Error ? err.message : String(err), at }
}

/** Runs async tasks one after the other (persisting progress must not interleave). */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve()

  async run<T> (task: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(task, task)
    this.#tail = next.catch(() => {})
    return await next
  }
}
