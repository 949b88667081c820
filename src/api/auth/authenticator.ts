/**
 * Who is calling: reads the credentials of a request (`Authorization: Bearer <API key or JWT>` or
 * `X-API-Key: <key>`) and checks them against the configured API keys and JWT keys. A bearer value
 * with two dots is a JWT, anything else an API key (braid's keys have no dot).
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http'
import { ApiKeyVerifier, type ApiKeyEntry } from './keys.ts'
import { JwtVerifier, TokenRejected } from './jwt.ts'
import type { Identity } from './scopes.ts'

export interface AuthSettings {
  apiKeys: readonly ApiKeyEntry[]
  jwt?: JwtVerifier
  /** Serve /documentation without credentials. */
  publicDocumentation: boolean
}

export type Authentication =
  | { identity: Identity }
  /** `reason` is safe to send and log: it never contains the credentials. `presented`: credentials were sent (RFC 6750 `invalid_token`). */
  | { rejected: string, presented: boolean }

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/

export const missingCredentials = 'no credentials: send Authorization: Bearer <API key or token>, or X-API-Key: <API key>'

export class Authenticator {
  readonly #keys: ApiKeyVerifier
  readonly #hasKeys: boolean
  readonly #jwt: JwtVerifier | undefined

  constructor (settings: AuthSettings) {
    this.#keys = new ApiKeyVerifier(settings.apiKeys)
    this.#hasKeys = settings.apiKeys.length > 0
    this.#jwt = settings.jwt
  }

  async authenticate (headers: IncomingHttpHeaders): Promise<Authentication> {
    const authorization = headers.authorization
    const apiKeyHeader = headers['x-api-key']
    if (Array.isArray(apiKeyHeader)) return { rejected: 'send one X-API-Key header', presented: true }
    if (authorization !== undefined && apiKeyHeader !== undefined) return { rejected: 'send either Authorization or X-API-Key, not both', presented: true }
    if (apiKeyHeader !== undefined) return this.#apiKey(apiKeyHeader.trim())
    if (authorization === undefined || authorization.trim() === '') return { rejected: missingCredentials, presented: false }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (m === null) return { rejected: 'the Authorization header must be "Bearer <API key or token>"', presented: true }
    const credential = m[1] as string
    return jwtShape.test(credential) ? this.#token(credential) : this.#apiKey(credential)
  }

  async #apiKey (key: string): Promise<Authentication> {
    if (!this.#hasKeys) return { rejected: 'API keys are not accepted here (no api.auth.apiKeys configured)', presented: true }
    if (key === '') return { rejected: 'the API key is empty', presented: true }
    const entry = await this.#keys.verify(key)
    if (entry === undefined) return { rejected: 'the API key is not valid', presented: true }
    return { identity: { name: entry.name, kind: 'api-key', scopes: new Set(entry.scopes) } }
  }

  async #token (token: string): Promise<Authentication> {
    if (this.#jwt === undefined) return { rejected: 'tokens are not accepted here (no api.auth.jwt configured)', presented: true }
    try {
      const verified = await this.#jwt.verify(token)
      return { identity: { name: verified.subject, kind: 'jwt', scopes: new Set(verified.scopes), expiresAt: verified.expiresAt } }
    } catch (err) {
      if (err instanceof TokenRejected) return { rejected: err.message, presented: true }
      return { rejected: 'the token could not be verified', presented: true }
    }
  }
}
