/**
 * Shared plumbing of the contract suites: skipped tests (each with a reason) and polling helpers.
 * @module
 */
import { it } from 'vitest'

export interface ContractSkip {
  /** The test name, exactly as the suite declares it. */
  test: string
  /** Why this implementation does not (or cannot) pass it. */
  reason: string
}

export type ContractTest = (name: string, fn: () => Promise<void>, timeout?: number) => void

/** An `it` that skips, with the reason in the test title, the tests listed in `skip`. */
export function contractTest (skip: readonly ContractSkip[] = []): ContractTest {
  const reasons = new Map(skip.map(s => [s.test, s.reason]))
  return (name, fn, timeout) => {
    const reason = reasons.get(name)
    if (reason === undefined) it(name, fn, timeout)
    else it.skip(`${name} (skipped: ${reason})`, fn)
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor (check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
