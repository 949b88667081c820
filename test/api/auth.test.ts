import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { compileApiOptions } from '../../src/api/options.ts'
import { createLogger } from '../../src/logger.ts'
import { customerRow, openPipeline, retail, retailConfig, tempDir, type Running } from '../runtime/harness.ts'
import { hsSecret, makeCredentials, secretEnv, token, unsignedToken, type Credentials } from './auth/fixtures.ts'

let running: Running
let app: FastifyInstance
let c: Credentials
const logLines: string[] = []

beforeAll(async () => {
  c = await makeCredentials(tempDir())
  const { options } = await compileApiOptions(c.section, c.dir, { [secretEnv]: hsSecret })
  running = await openPipeline(retailConfig, tempDir())
  const destination = new Writable({ write (chunk: Buffer, _encoding, done) { logLines.push(chunk.toString()); done() } })
  app = await buildApp(running.service, { ...options, logger: createLogger({ destination, level: 'info' }) })
})

afterAll(async () => {
  await app?.close()
  await running?.close()
})

type Family = 'read' | 'ingest' | 'admin' | 'metrics' | 'changes'

/** One request per route family; `scope` is what it needs, `ok` its status with that scope. */
const families: Record<Family, { method: 'GET' | 'POST', url: string, scope: string, ok: number, payload?: unknown }> = {
  read: { method: 'GET', url: '/single-views/customer_sv/?_l=1', scope: 'read:customer_sv', ok: 200 },
  ingest: { method: 'POST', url: '/ingest/crm.public.customers', scope: 'ingest:crm.public.customers', ok: 202, payload: [retail.customer(customerRow(901))] },
  admin: { method: 'GET', url: '/-/status', scope: 'admin', ok: 200 },
  metrics: { method: 'GET', url: '/-/metrics', scope: 'admin', ok: 200 },
  // The stream never ends: a wrong-scope request is answered before it starts; the right scope is checked over HTTP below.
  changes: { method: 'GET', url: '/single-views/customer_sv/changes', scope: 'read:customer_sv', ok: 200 }
}

async function call (family: Family, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const f = families[family]
  return app.inject({ method: f.method, url: f.url, headers, ...(f.payload === undefined ? {} : { payload: f.payload as object }) })
}

function expectUnauthenticated (res: LightMyRequestResponse, reason: string | RegExp, presented = true): void {
  expect(res.statusCode).toBe(401)
  const body = res.json()
  expect(body).toMatchObject({ statusCode: 401, code: 'BRAID_UNAUTHENTICATED', error: 'Unauthorized' })
  if (typeof reason === 'string') expect(body.message).toBe(reason)
  else expect(body.message).toMatch(reason)
  const header = String(res.headers['www-authenticate'])
  expect(header).toMatch(/^Bearer realm="braid"/)
  if (presented) expect(header).toContain('error="invalid_token"')
  else expect(header).toBe('Bearer realm="braid"')
}

function expectForbidden (res: LightMyRequestResponse, scope: string): void {
  expect(res.statusCode).toBe(403)
  expect(res.json()).toMatchObject({ statusCode: 403, code: 'BRAID_FORBIDDEN', error: 'Forbidden', details: { required: scope } })
  expect(String(res.headers['www-authenticate'])).toContain(`error="insufficient_scope", scope="${scope}"`)
}

const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` })

describe('access control: the auth matrix per route family', () => {
  describe.each(Object.keys(families) as Family[])('%s', family => {
    const f = families[family]

    it('answers 401 without credentials, with WWW-Authenticate: Bearer', async () => {
      expectUnauthenticated(await call(family), /^no credentials: send Authorization: Bearer/, false)
    })

    it('answers 401 for a token with a bad signature', async () => {
      const forged = await token(c, 'mallory', f.scope, { key: new TextEncoder().encode('another-secret-of-the-same-length-0123456') })
      expectUnauthenticated(await call(family, bearer(forged)), 'the token signature is invalid')
    })

    it('answers 401 for an expired token', async () => {
      const expired = await token(c, 'alice', f.scope, { expiresIn: -3600 })
      expectUnauthenticated(await call(family, bearer(expired)), 'the token has expired')
    })

    it('answers 403 for a valid token without the scope', async () => {
      const wrong = await token(c, 'alice', f.scope === 'admin' ? 'read:* ingest:*' : 'admin read:customers')
      expectForbidden(await call(family, bearer(wrong)), f.scope)
    })

    it('answers 401 for an unknown API key and 403 for a key without the scope', async () => {
      expectUnauthenticated(await call(family, bearer('bk_not-a-key-of-this-braid')), 'the API key is not valid')
      expectUnauthenticated(await call(family, { 'x-api-key': 'bk_not-a-key-of-this-braid' }), 'the API key is not valid')
      const other = f.scope === 'admin' ? c.keys.reader : c.keys.admin
      expectForbidden(await call(family, bearer(other)), f.scope)
    })

    if (family !== 'changes') {
      it('answers with the scope: HS256, RS256 and ES256 tokens, API keys as Bearer or X-API-Key, wildcards', async () => {
        const key = { read: c.keys.reader, ingest: c.keys.ingester, admin: c.keys.admin, metrics: c.keys.admin }[family]
        const attempts: Array<[string, Record<string, string>]> = [
          ['HS256', bearer(await token(c, 'alice', f.scope))],
          ['RS256 (PEM file)', bearer(await token(c, 'alice', ['x', f.scope], { alg: 'RS256' }))],
          ['ES256 (JWKS file)', bearer(await token(c, 'alice', `other ${f.scope}`, { alg: 'ES256' }))],
          ['API key as Bearer', bearer(key)],
          ['API key as X-API-Key', { 'x-api-key': key }],
          ['a key with wildcard scopes', bearer(c.keys.wildcard)]
        ]
        for (const [what, headers] of attempts) expect((await call(family, headers)).statusCode, what).toBe(f.ok)
      })
    }
  })

  it('lets a subscription with the scope start streaming, over HTTP', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const controller = new AbortController()
    try {
      const res = await fetch(`${address}/single-views/customer_sv/changes`, { headers: bearer(c.keys.reader), signal: controller.signal })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
      const denied = await fetch(`${address}/single-views/customer_sv/changes`, { headers: bearer(c.keys.ingester) })
      expect(denied.status).toBe(403)
    } finally {
      controller.abort()
    }
  })
})

describe('access control: tokens braid must refuse', () => {
  const read = async (credential: string): Promise<LightMyRequestResponse> => call('read', bearer(credential))

  it('refuses an unsigned token (alg none)', async () => {
    expectUnauthenticated(await read(unsignedToken('mallory', 'read:*')), /^the token algorithm "none" is not accepted/)
  })

  it('refuses an RS256 token signed by a key it does not know', async () => {
    expectUnauthenticated(await read(await token(c, 'mallory', 'read:*', { alg: 'RS256', key: c.otherRsa.privateKey })), 'the token signature is invalid')
  })

  it('refuses an HS256 token made with the RSA public key as secret (algorithm confusion)', async () => {
    expectUnauthenticated(await read(await token(c, 'mallory', 'read:*', { key: new TextEncoder().encode(c.rsa.publicPem) })), 'the token signature is invalid')
  })

  it('refuses a token of another issuer or audience, or without exp', async () => {
    expectUnauthenticated(await read(await token(c, 'alice', 'read:*', { issuer: 'https://evil.test/' })), 'the token\'s "iss" claim is not accepted')
    expectUnauthenticated(await read(await token(c, 'alice', 'read:*', { audience: 'other' })), 'the token\'s "aud" claim is not accepted')
    expectUnauthenticated(await read(await token(c, 'alice', 'read:*', { expiresIn: null })), 'the token has no "exp" claim')
  })

  it('refuses an ES256 token whose kid is not in the JWKS file', async () => {
    expectUnauthenticated(await read(await token(c, 'alice', 'read:*', { alg: 'ES256', kid: 'unknown' })), /^no key of the JWKS file matches/)
  })

  it('refuses malformed credentials with a reason', async () => {
    expectUnauthenticated(await call('read', { authorization: 'Basic dXNlcjpwYXNz' }), 'the Authorization header must be "Bearer <API key or token>"')
    expectUnauthenticated(await read('a.b.c'), 'the token is malformed')
    expectUnauthenticated(await call('read', { authorization: `Bearer ${c.keys.reader}`, 'x-api-key': c.keys.reader }), 'send either Authorization or X-API-Key, not both')
  })
})

describe('access control: what stays open, and where scopes apply', () => {
  it('keeps the health probes open and asks credentials for everything else under /-/', async () => {
    expect((await app.inject('/-/healthz')).statusCode).toBe(200)
    expect([200, 503]).toContain((await app.inject('/-/ready')).statusCode)
    for (const url of ['/-/check-up', '/-/schemas', '/-/dead-letters', '/-/sv-errors']) expect((await app.inject(url)).statusCode, url).toBe(401)
    expectForbidden(await app.inject({ url: '/-/dead-letters', headers: bearer(c.keys.reader) }), 'admin')
    expect((await app.inject({ url: '/-/dead-letters', headers: bearer(c.keys.admin) })).statusCode).toBe(200)
  })

  it('answers 401 for unknown routes without credentials, 404 with any', async () => {
    expect((await app.inject('/single-views/nope/')).statusCode).toBe(401)
    expect((await app.inject({ url: '/single-views/nope/', headers: bearer(c.keys.reader) })).json()).toEqual({ error: 'not found' })
  })

  it('scopes read:<name> to that view or projection, on every read route and mount', async () => {
    for (const path of ['/', '/count', '/export', '/schema', '/65f000000000000000000001', '/lineage?email=a@b.c']) {
      expect((await app.inject({ url: `/single-views/customer_sv${path}`, headers: bearer(c.keys.reader) })).statusCode, path).not.toBe(403)
    }
    expectForbidden(await app.inject({ url: '/projections/customers/', headers: bearer(c.keys.reader) }), 'read:customers')
    expect((await app.inject({ url: '/projections/customers/', headers: bearer(c.keys.scrypt) })).statusCode).toBe(200)
    expectForbidden(await app.inject({ url: '/single-views/customer_sv/', headers: bearer(c.keys.scrypt) }), 'read:customer_sv')
  })

  it('scopes ingest:<topic> to that topic, and admin does not grant reads', async () => {
    expectForbidden(await app.inject({ method: 'POST', url: '/ingest/crm.public.tiers', payload: [], headers: bearer(c.keys.ingester) }), 'ingest:crm.public.tiers')
    expectForbidden(await app.inject({ url: '/single-views/customer_sv/', headers: bearer(c.keys.admin) }), 'read:customer_sv')
  })

  it('asks credentials for the documentation unless auth.publicDocumentation', async () => {
    expect((await app.inject('/documentation/json')).statusCode).toBe(401)
    expect((await app.inject({ url: '/documentation/json', headers: bearer(c.keys.reader) })).statusCode).toBe(200)
    const { options } = await compileApiOptions({ auth: { ...c.section.auth, publicDocumentation: true } }, c.dir, { [secretEnv]: hsSecret })
    const open = await buildApp(running.service, { ...options, logger: createLogger({ level: 'silent' }) })
    try {
      expect((await open.inject('/documentation/json')).statusCode).toBe(200)
      expect((await open.inject('/documentation')).statusCode).toBe(200)
    } finally {
      await open.close()
    }
  })

  it('logs the identity of each request and never a key or a token', async () => {
    const jwt = await token(c, 'alice@example.com', 'read:customer_sv')
    const forged = await token(c, 'mallory', 'read:*', { key: new TextEncoder().encode('another-secret-of-the-same-length-0123456') })
    logLines.length = 0
    await call('read', bearer(jwt))
    await call('read', bearer(c.keys.reader))
    await call('read', { 'x-api-key': c.keys.admin })
    await call('read', bearer(forged))
    const text = logLines.join('')
    for (const secret of [jwt, forged, c.keys.reader, c.keys.admin, hsSecret]) expect(text).not.toContain(secret)
    const completed = logLines.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l['msg'] === 'request completed')
    expect(completed.map(l => [l['statusCode'], l['identity']])).toEqual([[200, 'alice@example.com'], [200, 'reader'], [403, 'operator'], [401, undefined]])
  })
})
