import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sha256Hash } from '../../src/api/auth/keys.ts'
import { loadApiOptions } from '../../src/api/options.ts'
import { checkPipeline } from '../../src/config/index.ts'
import { BraidError } from '../../src/errors.ts'
import { repoRoot, retailConfig, retailMia, tempDir } from '../runtime/harness.ts'

/** The retail example with `api` appended to its braid.yaml, in a temporary copy. */
function retailWith (api: string): string {
  const dir = tempDir()
  cpSync(join(repoRoot, 'examples/retail'), dir, { recursive: true })
  const file = join(dir, 'braid.yaml')
  writeFileSync(file, `${readFileSync(file, 'utf8')}\napi:\n${api}`)
  return file
}

async function problems (file: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    await loadApiOptions(file, env)
  } catch (err) {
    if (err instanceof BraidError && err.code === 'BRAID_CONFIG_INVALID') return err.details['problems'] as string[]
    throw err
  }
  throw new Error('no problem reported')
}

describe('loadApiOptions', () => {
  it('gives defaults and no auth for a configuration without api: and for a Mia project', async () => {
    for (const path of [retailConfig, retailMia]) {
      const { options } = await loadApiOptions(path)
      expect(options.auth).toBeUndefined()
      expect(options.cors).toBeUndefined()
      expect(options.rateLimit).toBeUndefined()
    }
    expect((await loadApiOptions(retailConfig)).options).toMatchObject({ bodyLimit: 16 * 1024 * 1024, timeouts: { connectionMs: 0, requestMs: 30_000, keepAliveMs: 72_000 } })
  })

  it('reads keys, a secret from the environment, CORS, rate limit, body limit and timeouts', async () => {
    const file = retailWith(`  auth:
    apiKeys:
      - { name: reporting, hash: '${sha256Hash('bk_x')}', scopes: [read:customer_sv] }
    jwt:
      hs256Secret: { env: MY_SECRET }
      issuer: https://idp.test/
  cors: { origins: ['https://app.example.com'] }
  rateLimit: { perSecond: 5 }
  bodyLimit: 2048
  timeouts: { requestMs: 1000 }
`)
    const { options, warnings, file: from } = await loadApiOptions(file, { MY_SECRET: 'x'.repeat(40) })
    expect(from).toBe(file)
    expect(warnings).toEqual([])
    expect(options.auth?.apiKeys.map(k => [k.name, k.scopes])).toEqual([['reporting', ['read:customer_sv']]])
    expect(options.auth?.jwt?.algorithms).toEqual(['HS256'])
    expect(options.cors).toEqual({ origins: ['https://app.example.com'] })
    expect(options.rateLimit).toEqual({ perSecond: 5, burst: 5 })
    expect(options.bodyLimit).toBe(2048)
    expect(options.timeouts).toEqual({ connectionMs: 0, requestMs: 1000, keepAliveMs: 72_000 })
    // braid validate checks the section's form too.
    expect((await checkPipeline(file)).problems).toEqual([])
  })

  it('warns about a secret written in the file', async () => {
    const { warnings } = await loadApiOptions(retailWith(`  auth:\n    jwt: { hs256Secret: '${'s'.repeat(32)}' }\n`), {})
    expect(warnings).toEqual(['api.auth.jwt.hs256Secret: the secret is written in the configuration file; prefer { env: NAME } so it stays out of files and version control'])
  })

  it('reports every problem of the section at once, with its path', async () => {
    const file = retailWith(`  auth:
    apiKeys:
      - { name: a, hash: 'scrypt:1000:8:1:c2FsdA:aGFzaGhhc2hoYXNoaGFzaA', scopes: [admin] }
      - { name: a, hash: '${sha256Hash('k')}', scopes: [admin] }
    jwt:
      hs256Secret: { env: MISSING_SECRET }
      publicKeys: [./nope.pem]
      jwksFile: ./braid.yaml
  cors: { origins: ['https://app.example.com/path'] }
  rateLimit: { perSecond: 0 }
`)
    expect(await problems(file, { MISSING_SECRET: undefined })).toEqual([
      'api.auth.apiKeys[0].hash: scrypt needs N a power of two, r and p at least 1 and a hash of at least 16 bytes',
      'api.auth.apiKeys[1].name: "a" is used by another key; names are unique',
      'api.auth.jwt.hs256Secret.env: the environment variable MISSING_SECRET is not set',
      `api.auth.jwt.publicKeys[0]: cannot read ${join(file, '..', 'nope.pem')}: no such file`,
      expect.stringMatching(/^api\.auth\.jwt\.jwksFile: /),
      'api.cors.origins[0]: must be an origin like https://app.example.com (scheme and host, no path) or * (got "https://app.example.com/path")',
      'api.rateLimit.perSecond: must be at least 1 (got 0)'
    ])
  })

  it('refuses a short secret, an auth without keys, and a key file of another type', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'not-a-key.pem'), 'hello')
    expect(await problems(retailWith('  auth:\n    jwt: { hs256Secret: { env: S } }\n'), { S: 'short' })).toEqual(['api.auth.jwt.hs256Secret.env: S holds 5 characters; an HS256 secret needs at least 32'])
    expect(await problems(retailWith('  auth: { publicDocumentation: true }\n'))).toEqual(['api.auth: configure apiKeys, jwt or both (braid hash-key makes a key)'])
    expect(await problems(retailWith(`  auth:\n    jwt: { publicKeys: ['${join(dir, 'not-a-key.pem')}'] }\n`))).toEqual([expect.stringMatching(/^api\.auth\.jwt\.publicKeys\[0\]: .*not-a-key\.pem is not a PEM public key or certificate/)])
  })

  it('lets the schema refuse plaintext keys and unknown scopes, naming the path', async () => {
    const file = retailWith("  auth:\n    apiKeys:\n      - { name: a, hash: bk_plaintext, scopes: ['read:*', 'write:x'] }\n")
    const check = await checkPipeline(file)
    expect(check.problems).toEqual([
      'api.auth.apiKeys[0].hash: must be a hash like sha256:<64 hex digits> (see braid hash-key) (got "bk_plaintext")',
      'api.auth.apiKeys[0].scopes[1]: must be a scope like read:customer_sv, read:*, ingest:crm.public.customers, ingest:*, command:<name> or admin (got "write:x")'
    ])
  })
})
