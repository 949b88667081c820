import { describe, expect, it } from 'vitest'
import { ApiKeyVerifier, apiKeyPrefix, generateApiKey, parseKeyHash, scryptHash, sha256Hash, type ApiKeyEntry } from '../../../src/api/auth/keys.ts'
import { defaultScope, grants } from '../../../src/api/auth/scopes.ts'
import { BraidError } from '../../../src/errors.ts'

describe('API keys', () => {
  it('generateApiKey should make distinct 256-bit keys without dots', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateApiKey()))
    expect(keys.size).toBe(50)
    for (const k of keys) {
      expect(k.startsWith(apiKeyPrefix)).toBe(true)
      expect(Buffer.from(k.slice(apiKeyPrefix.length), 'base64url')).toHaveLength(32)
      expect(k).not.toContain('.')
    }
  })

  it('the key verifier should find the entry of a sha256 or scrypt key, and nothing for another key', async () => {
    const [a, b, c] = [generateApiKey(), generateApiKey(), generateApiKey()]
    const entries: ApiKeyEntry[] = [
      { name: 'a', hash: parseKeyHash(sha256Hash(a), 'x'), scopes: ['admin'] },
      { name: 'b', hash: parseKeyHash(await scryptHash(b, { N: 1024, r: 8, p: 1 }), 'x'), scopes: ['read:*'] }
    ]
    const verifier = new ApiKeyVerifier(entries)
    expect((await verifier.verify(a))?.name).toBe('a')
    expect((await verifier.verify(b))?.name).toBe('b')
    // Remembered: the second check of a scrypt key finds it again.
    expect((await verifier.verify(b))?.name).toBe('b')
    expect(await verifier.verify(c)).toBeUndefined()
    expect(await verifier.verify('')).toBeUndefined()
  })

  it('parseKeyHash should refuse malformed hashes with the way to make one', () => {
    for (const bad of ['sha256:abc', 'md5:00', 'scrypt:1000:8:1:c2FsdA:aGFzaGhhc2hoYXNoaGFzaA']) {
      expect(() => parseKeyHash(bad, 'api.auth.apiKeys[0].hash')).toThrow(BraidError)
    }
    expect(() => parseKeyHash('sha256:abc', 'p')).toThrow(/run braid hash-key/)
  })
})

describe('scopes', () => {
  it('grants should honour exact scopes and family wildcards, and admin only for admin', () => {
    const s = (...scopes: string[]): Set<string> => new Set(scopes)
    expect(grants(s('read:a'), 'read:a')).toBe(true)
    expect(grants(s('read:a'), 'read:b')).toBe(false)
    expect(grants(s('read:*'), 'read:b')).toBe(true)
    expect(grants(s('read:*'), 'ingest:t')).toBe(false)
    expect(grants(s('ingest:*'), 'ingest:t.x')).toBe(true)
    expect(grants(s('admin'), 'read:a')).toBe(false)
    expect(grants(s('read:*', 'ingest:*'), 'admin')).toBe(false)
    expect(grants(s(), 'authenticated')).toBe(true)
  })

  it('defaultScope should give each route family its scope', () => {
    const d = (method: string, url: string | undefined, params: Record<string, string> = {}): string => defaultScope(method, url, params, false)
    expect(d('GET', '/-/healthz')).toBe('open')
    expect(d('GET', '/-/ready')).toBe('open')
    expect(d('GET', '/-/metrics')).toBe('admin')
    expect(d('GET', '/-/check-up')).toBe('admin')
    expect(d('POST', '/-/single-views/:name/rebuild', { name: 'x' })).toBe('admin')
    expect(d('POST', '/ingest/:topic', { topic: 't' })).toBe('ingest:t')
    expect(d('POST', '/something')).toBe('admin')
    expect(d('GET', '/single-views/:name/changes', { name: 'v' })).toBe('read:v')
    expect(d('GET', '/documentation/json')).toBe('authenticated')
    expect(defaultScope('GET', '/documentation/json', {}, true)).toBe('open')
    expect(d('GET', '/')).toBe('authenticated')
    expect(d('GET', undefined)).toBe('authenticated')
  })
})
