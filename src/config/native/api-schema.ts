/**
 * The `api:` section of the native configuration: authentication (API keys, JWT), CORS, rate
 * limiting, body size and timeouts of the HTTP API. HTTP concerns stay out of the pipeline model:
 * `braid start` reads this section with `loadApiOptions` (src/api/options.ts), which resolves
 * secrets from the environment and reads key files relative to the configuration file.
 * @module
 */
import type { Infer } from './schema-builder.ts'
import { array, boolean, byType, integer, object, optional, required, string } from './schema-builder.ts'

export const apiDefaults = {
  scopesClaim: 'scope',
  clockToleranceSec: 30, // 30 seconds
  bodyLimit: 16 * 1024 * 1024, // 16 MiB
  connectionMs: 0, // no idle-socket timeout
  requestMs: 30_000, // 30 seconds to receive a whole request
  keepAliveMs: 72_000 // 72 seconds
} as const

/** `sha256:<64 hex>` or `scrypt:<N>:<r>:<p>:<salt base64url>:<hash base64url>`. */
export const apiKeyHashPattern = '^(sha256:[0-9a-f]{64}|scrypt:[0-9]+:[0-9]+:[0-9]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+)$'

/** `admin`, `read:<view or projection>`, `ingest:<topic>`, `command:<command>`, or one of those families with `*`. */
export const scopePattern = '^(admin|(read|ingest|command):(\\*|[^\\s*]+))$'

const scope = string({
  title: 'a scope like read:customer_sv, read:*, ingest:crm.public.customers, ingest:*, command:<name> or admin',
  description: 'A permission: `read:<view or projection>` (every read route of it, its changes and lineage), `read:*`, `ingest:<topic>` (`POST /ingest/<topic>`), `ingest:*`, `command:<name>` (`POST /commands/<name>`), `command:*`, or `admin` (everything under /-/ except /-/healthz and /-/ready, and POST routes other than ingest and commands).',
  pattern: scopePattern
})

const scopes = array(scope, { description: 'What the identity may do.', minItems: 1 })

const apiKey = object({
  name: required(string({ description: 'Name of the key, logged with each request it makes (never the key itself). Unique.', minLength: 1 })),
  hash: required(string({
    title: 'a hash like sha256:<64 hex digits> (see braid hash-key)',
    description: 'The hash of the key, never the key: `sha256:<hex>` (for the random keys `braid hash-key` makes) or `scrypt:<N>:<r>:<p>:<salt>:<hash>` (base64url). `braid hash-key` prints a new key and this line.',
    pattern: apiKeyHashPattern
  })),
  scopes: required(scopes)
}, { description: 'An API key, presented as `Authorization: Bearer <key>` or `X-API-Key: <key>`.' })

const envRef = object({
  env: required(string({ description: 'Name of the environment variable holding the value.', minLength: 1 }))
}, { description: 'A secret read from the environment at start: `{ env: BRAID_JWT_SECRET }`.' })

const jwt = object({
  hs256Secret: optional(byType({
    string: string({ description: 'The shared secret itself (braid warns at start: prefer `{ env: NAME }`, so the secret stays out of the file).', minLength: 32 }),
    object: envRef
  }, { description: 'Shared secret of HS256 tokens, at least 32 characters: `{ env: NAME }` (preferred) or the text.' })),
  publicKeys: optional(array(string({ description: 'A PEM file (SPKI public key or certificate), relative to this file: an RSA key verifies RS256 tokens, a P-256 key ES256 tokens.', minLength: 1 }), {
    description: 'Public keys of the token issuers.',
    minItems: 1
  })),
  jwksFile: optional(string({ description: 'A JSON Web Key Set file (`{ "keys": [...] }`), relative to this file; keys are chosen by the token\'s `kid`. RS256 and ES256 keys.', minLength: 1 })),
  issuer: optional(string({ description: 'Required `iss` of the tokens. Not checked when absent.', minLength: 1 })),
  audience: optional(string({ description: 'Required `aud` of the tokens (one of them). Not checked when absent.', minLength: 1 })),
  scopesClaim: optional(string({ description: 'The claim holding the scopes: a space-separated string or an array of strings.', default: apiDefaults.scopesClaim, minLength: 1 })),
  clockToleranceSec: optional(integer({ description: 'Seconds of clock skew tolerated on `exp` and `nbf`.', default: apiDefaults.clockToleranceSec }))
}, { description: 'JWT bearer tokens: HS256 with a shared secret, RS256/ES256 with public keys or a JWKS file. The algorithm is pinned by the key type; `none` is refused. The identity is the `sub` claim.' })

const auth = object({
  apiKeys: optional(array(apiKey, { description: 'API keys, stored as hashes.', minItems: 1 })),
  jwt: optional(jwt),
  publicDocumentation: optional(boolean({ description: 'Serve the OpenAPI document and Swagger UI (`/documentation`) without credentials.', default: false }))
}, { description: 'Who may call the API. With auth, every route except /-/healthz and /-/ready needs credentials; without, braid binds to loopback only unless `--insecure`.' })

const timeouts = object({
  connectionMs: optional(integer({ description: 'Milliseconds a socket may stay idle before it is closed (0: never). Live subscriptions are exempt.', default: apiDefaults.connectionMs })),
  requestMs: optional(integer({ description: 'Milliseconds to receive a whole request, headers and body (0: no limit); protects against slow senders. Does not limit responses, so live subscriptions and long exports are unaffected.', default: apiDefaults.requestMs })),
  keepAliveMs: optional(integer({ description: 'Milliseconds an idle keep-alive connection is kept open.', default: apiDefaults.keepAliveMs }))
}, { description: 'HTTP server timeouts.' })

export const apiSection = object({
  auth: optional(auth),
  cors: optional(object({
    origins: required(array(string({ description: 'An origin allowed to call the API from a browser, like https://app.example.com, or `*` for any.', minLength: 1 }), { description: 'Allowed origins.', minItems: 1 }))
  }, { description: 'Cross-origin requests from browsers (off by default).' })),
  rateLimit: optional(object({
    perSecond: required(integer({ description: 'Requests per second allowed to one identity (or one client address without credentials), on average.' })),
    burst: optional(integer({ description: 'Requests one identity may make at once before the rate applies. Defaults to perSecond.' }))
  }, { description: 'A token bucket per identity or client address; beyond it, `429` with `retry-after`. Health probes are exempt. Off by default.' })),
  bodyLimit: optional(integer({ description: 'Largest request body accepted, in bytes (`413` beyond).', default: apiDefaults.bodyLimit })),
  timeouts: optional(timeouts)
}, { description: 'The HTTP API: authentication, CORS, rate limits, body size and timeouts.' })

export type NativeApi = Infer<typeof apiSection>
