import { Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ApiKeyVerifier, parseKeyHash } from '../../src/api/auth/keys.ts'
import { hashKeyCommand } from '../../src/cli/commands/hash-key.ts'
import { BraidError } from '../../src/errors.ts'

async function run (values: Record<string, string | boolean>, stdin = ''): Promise<string> {
  let out = ''
  const sink = new Writable({ write (chunk: Buffer, _e, done) { out += chunk.toString(); done() } })
  expect(await hashKeyCommand({ values, positionals: [] }, Readable.from([stdin]), sink)).toBe(0)
  return out
}

describe('braid hash-key', () => {
  it('prints a new key once and a configuration entry holding only its hash, which verifies the key', async () => {
    const out = await run({ name: 'reporting', scope: 'read:customer_sv, ingest:crm.public.customers' })
    const key = /^ {2}(bk_[A-Za-z0-9_-]{43})$/m.exec(out)?.[1] as string
    expect(key).toBeDefined()
    expect(out).toContain('  - name: reporting\n')
    expect(out).toContain('    scopes: [read:customer_sv, ingest:crm.public.customers]\n')
    const hash = /hash: '([^']+)'/.exec(out)?.[1] as string
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(out.split(key)).toHaveLength(2)
    const verifier = new ApiKeyVerifier([{ name: 'reporting', hash: parseKeyHash(hash, 'x'), scopes: [] }])
    expect((await verifier.verify(key))?.name).toBe('reporting')
  })

  it('hashes a key from standard input with scrypt, without printing it', async () => {
    const out = await run({ 'key-stdin': true, scrypt: true }, 'my-chosen-key\n')
    expect(out).not.toContain('my-chosen-key')
    const hash = /hash: '([^']+)'/.exec(out)?.[1] as string
    expect(hash).toMatch(/^scrypt:32768:8:1:/)
    const verifier = new ApiKeyVerifier([{ name: 'k', hash: parseKeyHash(hash, 'x'), scopes: [] }])
    expect((await verifier.verify('my-chosen-key'))?.name).toBe('k')
    expect(await verifier.verify('my-chosen-key2')).toBeUndefined()
  })

  it('refuses a scope braid does not know and an empty standard input', async () => {
    await expect(run({ scope: 'write:x' })).rejects.toThrow(BraidError)
    await expect(run({ scope: 'write:x' })).rejects.toThrow(/--scope "write:x" is not a scope/)
    await expect(run({ 'key-stdin': true }, '  ')).rejects.toThrow(/standard input is empty/)
  })
})
