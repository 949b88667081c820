/**
 * Test helpers for formats: raw messages and caught errors.
 * @module
 */
import { isBraidError } from '../../../src/errors.ts'
import type { BraidError } from '../../../src/errors.ts'
import type { RawMessage } from '../../../src/model/projection.ts'

/** A raw message; objects given as key/value are serialised to JSON text. */
export function message (key: unknown, value: unknown, extra: Partial<RawMessage> = {}): RawMessage {
  return {
    key: toText(key),
    value: toText(value),
    timestamp: 1_700_000_000_000,
    offset: 42,
    partition: 0,
    topic: 'test.ingestion',
    headers: {},
    ...extra
  }
}

function toText (v: unknown): string | null {
  if (v === null || v === undefined) return null
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** Runs fn and returns the BraidError it throws (fails the test when it does not throw one). */
export function caught (fn: () => unknown): BraidError {
  try {
    fn()
  } catch (err) {
    if (isBraidError(err)) return err
    throw err
  }
  throw new Error('expected a BraidError, nothing was thrown')
}

/** Awaits fn and returns the BraidError it rejects with. */
export async function caughtAsync (fn: () => unknown): Promise<BraidError> {
  try {
    await fn()
  } catch (err) {
    if (isBraidError(err)) return err
    throw err
  }
  throw new Error('expected a BraidError, nothing was thrown')
}
