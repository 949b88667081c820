/**
 * Access control of every request, in one `onRequest` hook (before the body is read): the route's
 * scope (./scopes.ts), the caller's credentials (./authenticator.ts), the rate limit (../rate-limit.ts),
 * then 401, 403 or 429 in braid's error shape. Health probes skip all of it.
 *
 * - 401 BRAID_UNAUTHENTICATED: no, unknown, malformed, badly signed or expired credentials, with
 *   `WWW-Authenticate: Bearer realm="braid"` (and `error="invalid_token"` when credentials were sent);
 * - 403 BRAID_FORBIDDEN: valid credentials without the route's scope (`error="insufficient_scope"`);
 * - 429 BRAID_RATE_LIMITED: the identity's (or, without valid credentials, the address's) bucket is
 *   empty, with `retry-after` in seconds. The limit applies before the 401, so guessing keys is slowed too.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BraidError } from '../../errors.ts'
import { RateLimiter, type RateLimitSettings } from '../rate-limit.ts'
import { Authenticator, type AuthSettings } from './authenticator.ts'
import { Access, grants, probeRoutes, routeScope } from './scopes.ts'

export interface AccessOptions {
  auth?: AuthSettings
  rateLimit?: RateLimitSettings
}

export function registerAccessControl (app: FastifyInstance, options: AccessOptions): void {
  app.decorateRequest('identity', null)
  const authenticator = options.auth === undefined ? undefined : new Authenticator(options.auth)
  const limiter = options.rateLimit === undefined ? undefined : new RateLimiter(options.rateLimit)
  const publicDocumentation = options.auth?.publicDocumentation ?? true
  if (authenticator === undefined && limiter === undefined) return

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.routeOptions.url
    if (url !== undefined && probeRoutes.has(url)) return
    const scope = routeScope(request, publicDocumentation)
    const open = scope === Access.open
    const result = authenticator === undefined || open ? undefined : await authenticator.authenticate(request.headers)
    const identity = result !== undefined && 'identity' in result ? result.identity : undefined

    if (limiter !== undefined) {
      const taken = limiter.take(identity === undefined ? `ip:${request.ip}` : `id:${identity.kind}:${identity.name}`)
      if (!taken.ok) {
        void reply.header('retry-after', String(taken.retryAfterSec))
        throw new BraidError('BRAID_RATE_LIMITED', `too many requests; retry after ${taken.retryAfterSec} s`, { details: { retryAfterSec: taken.retryAfterSec } })
      }
    }
    if (result === undefined) return
    if ('rejected' in result) {
      void reply.header('www-authenticate', result.presented ? `Bearer realm="braid", error="invalid_token", error_description="${result.rejected.replaceAll('"', "'")}"` : 'Bearer realm="braid"')
      throw new BraidError('BRAID_UNAUTHENTICATED', result.rejected)
    }
    request.identity = result.identity
    if (!grants(result.identity.scopes, scope)) {
      void reply.header('www-authenticate', `Bearer realm="braid", error="insufficient_scope", scope="${scope}"`)
      throw new BraidError('BRAID_FORBIDDEN', `this route needs the scope ${scope}`, { details: { required: scope } })
    }
  })
}
