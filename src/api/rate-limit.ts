/**
 * Rate limiting: one token bucket per identity (or client address without credentials), in memory.
 * A bucket holds up to `burst` tokens and refills at `perSecond`; a request takes one. Buckets that
 * refilled completely are forgotten, so memory follows the number of recently active clients.
 * @module
 */

export interface RateLimitSettings {
  /** Tokens added per second. */
  perSecond: number
  /** Bucket size: requests allowed at once. */
  burst: number
}

export type Take = { ok: true } | { ok: false, retryAfterSec: number }

interface Bucket {
  tokens: number
  /** ms, of the last refill. */
  at: number
}

/** Forget full buckets at most this often, ms. */
const SWEEP_INTERVAL_MS = 60_000

export class RateLimiter {
  readonly #perMs: number
  readonly #burst: number
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()
  #lastSweep: number

  constructor (settings: RateLimitSettings, now: () => number = () => performance.now()) {
    if (!(settings.perSecond > 0) || !(settings.burst >= 1)) throw new RangeError('rate limit: perSecond must be > 0 and burst >= 1')
    this.#perMs = settings.perSecond / 1000
    this.#burst = settings.burst
    this.#now = now
    this.#lastSweep = now()
  }

  /** Takes one token from `key`'s bucket; when empty, how long until one is back (whole seconds, at least 1). */
  take (key: string): Take {
    const now = this.#now()
    if (now - this.#lastSweep > SWEEP_INTERVAL_MS) this.#sweep(now)
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs)
    bucket.at = now
    this.#buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { ok: true }
    }
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000)) }
  }

  /** Buckets tracked now (tests, metrics). */
  get size (): number {
    return this.#buckets.size
  }

  #sweep (now: number): void {
    this.#lastSweep = now
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(key)
    }
  }
}
