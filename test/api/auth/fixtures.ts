/**
 * Credentials for the access-control tests: API keys (sha256 and scrypt), an HS256 secret, an RSA
 * public key file (RS256) and a JWKS file with a P-256 key (ES256), written to a temporary folder,
 * and a helper that signs tokens with any of them.
 * @module
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import { generateApiKey, scryptHash, sha256Hash } from '../../../src/api/auth/keys.ts'
import type { NativeApi } from '../../../src/config/native/api-schema.ts'

export const hsSecret = 'a-test-secret-that-is-long-enough-0123456789'
export const secretEnv = 'BRAID_TEST_JWT_SECRET'

export interface Credentials {
  dir: string
  keys: { reader: string, ingester: string, admin: string, wildcard: string, scrypt: string }
  rsa: { privateKey: CryptoKey, publicPem: string }
  ec: { privateKey: CryptoKey, kid: string }
  otherRsa: { privateKey: CryptoKey }
  /** The `api:` section using all of the above. */
  section: NativeApi
}

export async function makeCredentials (dir: string): Promise<Credentials> {
  const keys = { reader: generateApiKey(), ingester: generateApiKey(), admin: generateApiKey(), wildcard: generateApiKey(), scrypt: generateApiKey() }
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const otherRsa = await generateKeyPair('RS256', { extractable: true })
  const ec = await generateKeyPair('ES256', { extractable: true })
  const publicPem = await exportSPKI(rsa.publicKey)
  writeFileSync(join(dir, 'issuer.pem'), publicPem)
  const kid = 'ec-1'
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), kid, alg: 'ES256', use: 'sig' }] }))
  const section: NativeApi = {
    auth: {
      apiKeys: [
        { name: 'reader', hash: sha256Hash(keys.reader), scopes: ['read:customer_sv'] },
        { name: 'ingester', hash: sha256Hash(keys.ingester), scopes: ['ingest:crm.public.customers'] },
        { name: 'operator', hash: sha256Hash(keys.admin), scopes: ['admin'] },
        { name: 'everything', hash: sha256Hash(keys.wildcard), scopes: ['read:*', 'ingest:*', 'admin'] },
        { name: 'slow-hash', hash: await scryptHash(keys.scrypt, { N: 1024, r: 8, p: 1 }), scopes: ['read:customers'] }
      ],
      jwt: { hs256Secret: { env: secretEnv }, publicKeys: ['issuer.pem'], jwksFile: 'jwks.json', issuer: 'https://idp.test/', audience: 'braid' }
    }
  }
  return { dir, keys, rsa: { privateKey: rsa.privateKey, publicPem }, ec: { privateKey: ec.privateKey, kid }, otherRsa: { privateKey: otherRsa.privateKey }, section }
}

export interface TokenOptions {
  alg?: 'HS256' | 'RS256' | 'ES256'
  key?: CryptoKey | Uint8Array
  kid?: string
  /** Seconds from now; negative: already expired. */
  expiresIn?: number | null
  issuer?: string
  audience?: string
  claims?: JWTPayload
}

/** A token for `subject` with `scope` (a space-separated string unless `claims` says otherwise). */
export async function token (c: Credentials, subject: string, scope: string | string[], options: TokenOptions = {}): Promise<string> {
  const alg = options.alg ?? 'HS256'
  const key = options.key ?? (alg === 'HS256' ? new TextEncoder().encode(hsSecret) : alg === 'RS256' ? c.rsa.privateKey : c.ec.privateKey)
  const now = Math.floor(Date.now() / 1000)
  const kid = options.kid ?? (alg === 'ES256' ? c.ec.kid : undefined)
  const jwt = new SignJWT({ scope, ...options.claims })
    .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
    .setSubject(subject)
    .setIssuedAt(now - 60)
    .setIssuer(options.issuer ?? 'https://idp.test/')
    .setAudience(options.audience ?? 'braid')
  if (options.expiresIn !== null) jwt.setExpirationTime(now + (options.expiresIn ?? 600))
  return jwt.sign(key)
}

/** An unsigned token (`alg: none`), as an attacker would send it. */
export function unsignedToken (subject: string, scope: string): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: subject, scope, iss: 'https://idp.test/', aud: 'braid', exp: Math.floor(Date.now() / 1000) + 600 })}.`
}
