/**
 * Which scope a route needs. A route declares it with `config: { scope }` — a scope string, or a
 * function of the request for parametric routes — and routes that declare none get the default of
 * their family:
 *
 * | route | scope |
 * |---|---|
 * | `GET /-/healthz`, `GET /-/ready` | open (no credentials) |
 * | `/documentation…` | open with `auth.publicDocumentation`, else any identity |
 * | `POST /ingest/{topic}` | `ingest:{topic}` |
 * | anything else under `/-/`, and any other POST, PUT, PATCH or DELETE | `admin` |
 * | `/single-views/{name}/…`, `/projections/{name}/…` | `read:{name}` |
 * | anything else (the index `/`, unknown routes) | any identity |
 *
 * `read:*`, `ingest:*` (and `command:*`) grant every scope of their family; `admin` grants only admin routes.
 * @module
 */
import type { FastifyRequest } from 'fastify'

/** Pseudo-scopes: `open` needs no credentials, `authenticated` any valid identity. */
export const Access = {
  open: 'open',
  authenticated: 'authenticated',
  admin: 'admin'
} as const

/** A scope string (`admin`, `read:customer_sv`, an Access value) or one computed from the request. */
export type RouteScope = string | ((request: FastifyRequest) => string)

/** Who made a request: a key name or a token subject, with the scopes it holds. */
export interface Identity {
  name: string
  kind: 'api-key' | 'jwt'
  scopes: ReadonlySet<string>
  /** Epoch ms after which the credentials are no longer valid (JWT `exp`). */
  expiresAt?: number
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a request of this route needs; see src/api/auth/scopes.ts. */
    scope?: RouteScope
  }
  interface FastifyRequest {
    /** The authenticated caller; null when the API has no auth or the route is open. */
    identity: Identity | null
  }
}

export const readScope = (name: string): string => `read:${name}`
export const ingestScope = (topic: string): string => `ingest:${topic}`

/** Routes always open, and exempt from rate limiting: the health probes. */
export const probeRoutes: ReadonlySet<string> = new Set(['/-/healthz', '/-/ready'])

export const documentationPrefix = '/documentation'

/** The scope `request` needs (see the module table). */
export function routeScope (request: FastifyRequest, publicDocumentation: boolean): string {
  const declared = (request.routeOptions.config as { scope?: RouteScope } | undefined)?.scope
  if (typeof declared === 'function') return declared(request)
  if (declared !== undefined) return declared
  return defaultScope(request.method, request.routeOptions.url, request.params as Record<string, string | undefined> | undefined, publicDocumentation)
}

/** The default scope of a route pattern (`url` undefined: no route matched). */
export function defaultScope (method: string, url: string | undefined, params: Record<string, string | undefined> | undefined, publicDocumentation: boolean): string {
  if (url === undefined) return Access.authenticated
  if (probeRoutes.has(url)) return Access.open
  if (url === documentationPrefix || url.startsWith(`${documentationPrefix}/`)) return publicDocumentation ? Access.open : Access.authenticated
  if (url === '/ingest/:topic') return ingestScope(params?.['topic'] ?? '')
  if (url.startsWith('/-/') || !['GET', 'HEAD', 'OPTIONS'].includes(method)) return Access.admin
  const read = /^\/(single-views|projections)\/:name(\/|$)/.test(url) ? params?.['name'] : undefined
  if (read !== undefined) return readScope(read)
  return Access.authenticated
}

/** True when the scopes grant `required`. */
export function grants (scopes: ReadonlySet<string>, required: string): boolean {
  if (required === Access.open || required === Access.authenticated) return true
  if (scopes.has(required)) return true
  // `family:*` grants every `family:…` scope (read, ingest, command); admin has no wildcard.
  const colon = required.indexOf(':')
  return colon > 0 && scopes.has(`${required.slice(0, colon)}:*`)
}
