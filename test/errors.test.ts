import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BraidError, errorCodes, toBraidError, type ErrorCode } from '../src/errors.ts'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const documented = new Map<string, number>()
for (const match of doc.matchAll(/^\| `(BRAID_[A-Z_]+)` \| (\d{3}) \|/gm)) documented.set(match[1] ?? '', Number(match[2]))

describe('errors', () => {
  it('every error code should be documented in docs/errors.md with its HTTP status', () => {
    for (const [code, spec] of Object.entries(errorCodes)) {
      expect(documented.get(code), code).toBe(spec.status)
    }
  })

  it('docs/errors.md should not document codes that do not exist', () => {
    for (const code of documented.keys()) expect(Object.keys(errorCodes)).toContain(code)
  })

  it('a BraidError should carry its code, status, retryability and details', () => {
    const err = new BraidError('BRAID_STORE_UNAVAILABLE', 'down', { details: { path: 'x' } })
    expect(err.code).toBe('BRAID_STORE_UNAVAILABLE')
    expect(err.statusCode).toBe(503)
    expect(err.retryable).toBe(true)
    expect(err.toJSON()).toEqual({ statusCode: 503, code: 'BRAID_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'down', details: { path: 'x' } })
  })

  it('retryability should default from the code table and be overridable', () => {
    for (const code of Object.keys(errorCodes) as ErrorCode[]) {
      expect(new BraidError(code, 'm').retryable).toBe(errorCodes[code].retryable)
    }
    expect(new BraidError('BRAID_INTERNAL', 'm', { retryable: true }).retryable).toBe(true)
  })

  it('toBraidError should keep a BraidError and wrap anything else with its cause', () => {
    const original = new BraidError('BRAID_NOT_FOUND', 'gone')
    expect(toBraidError(original, 'BRAID_INTERNAL')).toBe(original)
    const cause = new Error('boom')
    const wrapped = toBraidError(cause, 'BRAID_STORE_UNAVAILABLE', 'writing')
    expect(wrapped.code).toBe('BRAID_STORE_UNAVAILABLE')
    expect(wrapped.message).toBe('writing: boom')
    expect(wrapped.cause).toBe(cause)
  })
})
