/**
 * JWT bearer tokens, verified with `jose`: HS256 with a shared secret, RS256 and ES256 with public
 * keys (PEM files) or a JSON Web Key Set file. The accepted algorithm is pinned by the key type (an
 * RSA key never verifies an HS256 token, `none` is never accepted), `exp` is required, `iss` and `aud`
 * are checked when configured. Messages say what is wrong with a token, never the token.
 * @module
 */
import { createPublicKey } from 'node:crypto'
import { createLocalJWKSet, decodeProtectedHeader, errors, importSPKI, jwtVerify, type CryptoKey, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'

export type AsymmetricAlg = 'RS256' | 'ES256'

export interface PublicKeyEntry {
  alg: AsymmetricAlg
  key: CryptoKey
  /** Where it came from, for messages. */
  file: string
}

export interface JwtSettings {
  hs256Secret?: Uint8Array
  publicKeys: PublicKeyEntry[]
  jwks?: JSONWebKeySet
  issuer?: string
  audience?: string
  scopesClaim: string
  clockToleranceSec: number
}

export interface VerifiedToken {
  subject: string
  scopes: string[]
  /** Epoch ms of `exp`. */
  expiresAt: number
}

/** Why a token is refused, in words for the client and the log (never the token). */
export class TokenRejected extends Error {
  override readonly name = 'TokenRejected'
  /** The JWKS has no key for the token's kid and algorithm (another key source may still have been tried). */
  readonly noMatchingKey: boolean

  constructor (message: string, noMatchingKey = false) {
    super(message)
    this.noMatchingKey = noMatchingKey
  }
}

/** The algorithm a PEM public key (SPKI or certificate) verifies; throws a message for other key types. */
export async function importPublicKey (pem: string, file: string): Promise<PublicKeyEntry> {
  let keyObject
  try {
    keyObject = createPublicKey(pem)
  } catch (err) {
    throw new Error(`${file} is not a PEM public key or certificate (${(err as Error).message})`)
  }
  let alg: AsymmetricAlg
  if (keyObject.asymmetricKeyType === 'rsa') alg = 'RS256'
  else if (keyObject.asymmetricKeyType === 'ec' && keyObject.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = 'ES256'
  else throw new Error(`${file} holds a ${keyObject.asymmetricKeyType ?? 'unknown'} key${keyObject.asymmetricKeyDetails?.namedCurve === undefined ? '' : ` on ${keyObject.asymmetricKeyDetails.namedCurve}`}; braid accepts RSA keys (RS256) and P-256 keys (ES256)`)
  const spki = keyObject.export({ type: 'spki', format: 'pem' }).toString()
  return { alg, key: await importSPKI(spki, alg), file }
}

/** Checks a JWKS document: `{ keys: [...] }` with RSA or P-256 EC public keys. */
export function checkJwks (value: unknown, file: string): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys
  if (value === null || typeof value !== 'object' || !Array.isArray(keys) || keys.length === 0) {
    throw new Error(`${file} is not a JSON Web Key Set: expected { "keys": [ … ] } with at least one key`)
  }
  keys.forEach((k: unknown, i) => {
    const jwk = k as Record<string, unknown> | null
    const ok = jwk !== null && typeof jwk === 'object' && (jwk['kty'] === 'RSA' || (jwk['kty'] === 'EC' && jwk['crv'] === 'P-256'))
    if (!ok) throw new Error(`${file}: keys[${i}] is not an RSA or P-256 EC public key`)
    if ('d' in jwk) throw new Error(`${file}: keys[${i}] is a private key; publish only public keys to braid`)
  })
  return value as JSONWebKeySet
}

export class JwtVerifier {
  readonly #settings: JwtSettings
  readonly #jwks: JWTVerifyGetKey | undefined

  constructor (settings: JwtSettings) {
    this.#settings = settings
    this.#jwks = settings.jwks === undefined ? undefined : createLocalJWKSet(settings.jwks)
  }

  /** The algorithms some configured key verifies. */
  get algorithms (): string[] {
    const algs = new Set<string>()
    if (this.#settings.hs256Secret !== undefined) algs.add('HS256')
    for (const k of this.#settings.publicKeys) algs.add(k.alg)
    if (this.#jwks !== undefined) ['RS256', 'ES256'].forEach(a => algs.add(a))
    return [...algs]
  }

  /** Verifies signature and claims; throws TokenRejected with the reason. */
  async verify (token: string): Promise<VerifiedToken> {
    let alg: string | undefined
    try {
      alg = decodeProtectedHeader(token).alg
    } catch {
      throw new TokenRejected('the token is malformed')
    }
    const options = (algorithm: string): JWTVerifyOptions => ({
      algorithms: [algorithm],
      requiredClaims: ['exp'],
      clockTolerance: this.#settings.clockToleranceSec,
      ...(this.#settings.issuer === undefined ? {} : { issuer: this.#settings.issuer }),
      ...(this.#settings.audience === undefined ? {} : { audience: this.#settings.audience })
    })
    let payload: JWTPayload | undefined
    if (alg === 'HS256' && this.#settings.hs256Secret !== undefined) {
      payload = await verifyWith(token, this.#settings.hs256Secret, options('HS256'))
    } else if (alg === 'RS256' || alg === 'ES256') {
      const keys = this.#settings.publicKeys.filter(k => k.alg === alg)
      for (const k of keys) {
        payload = await verifyWith(token, k.key, options(alg), true)
        if (payload !== undefined) break
      }
      if (payload === undefined && this.#jwks !== undefined) {
        try {
          payload = await verifyWith(token, this.#jwks, options(alg))
        } catch (err) {
          // Signed by none of the PEM keys, and the JWKS has no key for it: a bad signature, for the client.
          if (keys.length > 0 && err instanceof TokenRejected && err.noMatchingKey) throw new TokenRejected('the token signature is invalid')
          throw err
        }
      }
      if (payload === undefined && keys.length === 0 && this.#jwks === undefined) throw algorithmRefused(alg, this.algorithms)
    } else {
      throw algorithmRefused(alg, this.algorithms)
    }
    if (payload === undefined) throw new TokenRejected('the token signature is invalid')
    return {
      subject: typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : '(token without sub)',
      scopes: scopesOf(payload[this.#settings.scopesClaim]),
      expiresAt: (payload.exp as number) * 1000
    }
  }
}

/** `scope` as a space-separated string or an array of strings. */
function scopesOf (claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/\s+/).filter(s => s !== '')
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string')
  return []
}

function algorithmRefused (alg: string | undefined, accepted: string[]): TokenRejected {
  return new TokenRejected(`the token algorithm ${alg === undefined ? '(none given)' : JSON.stringify(alg)} is not accepted; configured keys verify ${accepted.join(', ') || 'nothing'}`)
}

/**
 * The payload, or undefined when `tryNext` and the signature does not verify with this key (another
 * key may). Every other failure throws TokenRejected with the reason.
 */
async function verifyWith (token: string, key: CryptoKey | Uint8Array | JWTVerifyGetKey, options: JWTVerifyOptions, tryNext = false): Promise<JWTPayload | undefined> {
  try {
    const result = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)
    return result.payload
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      if (tryNext) return undefined
      throw new TokenRejected('the token signature is invalid')
    }
    if (err instanceof errors.JWTExpired) throw new TokenRejected('the token has expired')
    if (err instanceof errors.JWTClaimValidationFailed) {
      throw new TokenRejected(err.reason === 'missing' ? `the token has no "${err.claim}" claim` : `the token's "${err.claim}" claim is not accepted`)
    }
    if (err instanceof errors.JWKSNoMatchingKey) throw new TokenRejected('no key of the JWKS file matches the token (kid and algorithm)', true)
    if (err instanceof errors.JOSEAlgNotAllowed) throw new TokenRejected('the token algorithm is not accepted for this key')
    throw new TokenRejected('the token is malformed')
  }
}
