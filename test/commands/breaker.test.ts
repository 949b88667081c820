import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../../src/commands/breaker.ts'
import { backoffMs } from '../../src/commands/runner.ts'

/** A breaker on a clock the test moves. */
function breaker (failureThreshold = 3, cooldownMs = 1_000): { b: CircuitBreaker, clock: { now: number } } {
  const clock = { now: 1_000_000 }
  return { b: new CircuitBreaker({ failureThreshold, cooldownMs }, () => clock.now), clock }
}

const signal = new AbortController().signal

describe('CircuitBreaker', () => {
  it('should stay closed below the threshold and open at it', async () => {
    const { b } = breaker(3)
    for (let i = 0; i < 2; i++) {
      expect(await b.acquire(signal)).toBe(false)
      b.record(false, false)
    }
    expect(b.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 2 })
    b.record(true, false)
    expect(b.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 0 })
    for (let i = 0; i < 3; i++) b.record(false, false)
    expect(b.snapshot()).toMatchObject({ state: 'open', consecutiveFailures: 3, openedAt: new Date(1_000_000).toISOString(), retryAt: new Date(1_001_000).toISOString() })
  })

  it('while open, attempts should wait; after the cooldown one probe goes, and its success lets the others go', async () => {
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100 })
    b.record(false, false)
    let waits = 0
    const results: boolean[] = []
    const acquire = async (): Promise<boolean> => await b.acquire(signal, () => { waits++ }).then(probe => { results.push(probe); return probe })
    const attempts = [acquire(), acquire()]
    await new Promise(resolve => setTimeout(resolve, 30))
    expect(results).toEqual([])
    expect(waits).toBe(2)
    expect(await Promise.race(attempts)).toBe(true)
    expect(b.snapshot().state).toBe('half-open')
    // The probe is in flight: the other attempt keeps waiting.
    await new Promise(resolve => setTimeout(resolve, 150))
    expect(results).toEqual([true])
    b.record(true, true)
    expect(b.snapshot().state).toBe('closed')
    expect((await Promise.all(attempts)).sort()).toEqual([false, true])
  })

  it('a failed probe should open the circuit again for another cooldown', async () => {
    const { b, clock } = breaker(1, 500)
    b.record(false, false)
    clock.now += 500
    expect(await b.acquire(signal)).toBe(true)
    b.record(false, true)
    expect(b.snapshot()).toMatchObject({ state: 'open', retryAt: new Date(clock.now + 500).toISOString() })
  })

  it('an aborted wait should reject with the signal reason', async () => {
    const { b } = breaker(1, 60_000)
    b.record(false, false)
    const controller = new AbortController()
    const waiting = b.acquire(controller.signal)
    controller.abort(new Error('stopping'))
    await expect(waiting).rejects.toThrow('stopping')
  })
})

describe('backoffMs', () => {
  it('should double from the initial wait up to the maximum', () => {
    const policy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 1_000 }
    expect([1, 2, 3, 4, 5, 40].map(n => backoffMs(policy, n))).toEqual([100, 200, 400, 800, 1_000, 1_000])
  })
})
