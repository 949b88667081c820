/**
 * API keys: made at random by `braid hash-key`, stored in the configuration as hashes only
 * (`sha256:<hex>`, or `scrypt:<N>:<r>:<p>:<salt>:<hash>` for keys people choose), compared in
 * constant time.
 * @module
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { BraidError } from '../../errors.ts'

/** Prefix of the keys `braid hash-key` makes (no dot, so a key never looks like a JWT). */
export const apiKeyPrefix = 'bk_'

/** scrypt cost parameters of `braid hash-key --scrypt`: N = 2^15, r = 8, p = 1 (about 100 ms, 32 MiB). */
export const scryptDefaults = { N: 32_768, r: 8, p: 1 } as const

export type KeyHash =
  | { kind: 'sha256', digest: Buffer }
  | { kind: 'scrypt', N: number, r: number, p: number, salt: Buffer, digest: Buffer }

export interface ApiKeyEntry {
  name: string
  hash: KeyHash
  scopes: readonly string[]
}

/** A new random key: `bk_` and 32 random bytes in base64url (256 bits). */
export function generateApiKey (): string {
  return `${apiKeyPrefix}${randomBytes(32).toString('base64url')}`
}

export function sha256Hash (key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`
}

export async function scryptHash (key: string, params: { N: number, r: number, p: number } = scryptDefaults): Promise<string> {
  const salt = randomBytes(16)
  const digest = await scryptAsync(key, salt, params)
  return `scrypt:${params.N}:${params.r}:${params.p}:${salt.toString('base64url')}:${digest.toString('base64url')}`
}

/** Parses a configured hash; throws BRAID_CONFIG_INVALID naming `where` when it is malformed. */
export function parseKeyHash (text: string, where: string): KeyHash {
  const sha = /^sha256:([0-9a-f]{64})$/.exec(text)
  if (sha !== null) return { kind: 'sha256', digest: Buffer.from(sha[1] as string, 'hex') }
  const s = /^scrypt:(\d+):(\d+):(\d+):([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/.exec(text)
  if (s !== null) {
    const [N, r, p] = [Number(s[1]), Number(s[2]), Number(s[3])]
    const digest = Buffer.from(s[5] as string, 'base64url')
    if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || digest.length < 16) {
      throw invalidHash(where, 'scrypt needs N a power of two, r and p at least 1 and a hash of at least 16 bytes')
    }
    return { kind: 'scrypt', N, r, p, salt: Buffer.from(s[4] as string, 'base64url'), digest }
  }
  throw invalidHash(where, 'expected sha256:<64 hex digits> or scrypt:<N>:<r>:<p>:<salt>:<hash>; run braid hash-key to make one')
}

/**
 * Finds the entry a presented key belongs to. Every sha256 entry is compared, each in constant time,
 * so the answer time does not tell which entry came close. scrypt entries are tried after, with their
 * own salts; a key that matched one is remembered (by its sha256), so a valid scrypt key costs one
 * scrypt run per process, not one per request. Only matches are remembered: at most one per entry.
 */
export class ApiKeyVerifier {
  readonly #entries: readonly ApiKeyEntry[]
  readonly #scryptMatches = new Map<string, ApiKeyEntry>()

  constructor (entries: readonly ApiKeyEntry[]) {
    this.#entries = entries
  }

  async verify (key: string): Promise<ApiKeyEntry | undefined> {
    const digest = createHash('sha256').update(key, 'utf8').digest()
    let found: ApiKeyEntry | undefined
    for (const entry of this.#entries) {
      if (entry.hash.kind === 'sha256' && timingSafeEqual(entry.hash.digest, digest)) found ??= entry
    }
    if (found !== undefined) return found
    const remembered = this.#scryptMatches.get(digest.toString('hex'))
    if (remembered !== undefined) return remembered
    for (const entry of this.#entries) {
      const h = entry.hash
      if (h.kind !== 'scrypt') continue
      const candidate = await scryptAsync(key, h.salt, h, h.digest.length)
      if (timingSafeEqual(candidate, h.digest)) {
        this.#scryptMatches.set(digest.toString('hex'), entry)
        return entry
      }
    }
    return undefined
  }
}

function scryptAsync (key: string, salt: Buffer, params: { N: number, r: number, p: number }, length = 32): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: 128 · N · r bytes plus headroom (the default 32 MiB refuses N = 2^15, r = 8).
    scrypt(key, salt, length, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (err, derived) => {
      if (err === null) resolve(derived)
      else reject(err)
    })
  })
}

function invalidHash (where: string, reason: string): BraidError {
  return new BraidError('BRAID_CONFIG_INVALID', `${where}: ${reason}`, { details: { problems: [`${where}: ${reason}`] } })
}
