import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { generateApiKey, sha256Hash } from '../../src/api/auth/keys.ts'
import { compileApiOptions } from '../../src/api/options.ts'
import { silentLogger } from '../../src/logger.ts'
import { openPipeline, retailConfig, tempDir, type Running } from '../runtime/harness.ts'

let running: Running

beforeAll(async () => {
  running = await openPipeline(retailConfig, tempDir(), { start: false })
})

afterAll(async () => {
  await running?.close()
})

const key = generateApiKey()
const auth = { apiKeys: [{ name: 'web', hash: sha256Hash(key), scopes: ['read:*'] }] }

async function appWith (section: Parameters<typeof compileApiOptions>[0]): Promise<FastifyInstance> {
  const { options } = await compileApiOptions(section, tempDir())
  return buildApp(running.service, { ...options, logger: silentLogger() })
}

describe('CORS', () => {
  let app: FastifyInstance
  beforeAll(async () => { app = await appWith({ cors: { origins: ['https://app.example.com'] }, auth }) })
  afterAll(async () => { await app?.close() })

  const preflight = async (origin: string): Promise<LightMyRequestResponse> => app.inject({
    method: 'OPTIONS',
    url: '/single-views/customer_sv/',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' }
  })

  it('answers a preflight from an allowed origin without credentials', async () => {
    const res = await preflight('https://app.example.com')
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com')
    expect(String(res.headers['access-control-allow-methods'])).toContain('GET')
    expect(String(res.headers['access-control-allow-headers'])).toContain('authorization')
  })

  it('gives no CORS grant to another origin', async () => {
    const res = await preflight('https://evil.example.com')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('adds the CORS headers to answers, errors included, so a browser can read a 401', async () => {
    const denied = await app.inject({ url: '/single-views/customer_sv/count', headers: { origin: 'https://app.example.com' } })
    expect(denied.statusCode).toBe(401)
    expect(denied.headers['access-control-allow-origin']).toBe('https://app.example.com')
    expect(String(denied.headers['access-control-expose-headers'])).toContain('www-authenticate')
    const ok = await app.inject({ url: '/single-views/customer_sv/count', headers: { origin: 'https://app.example.com', authorization: `Bearer ${key}` } })
    expect(ok.statusCode).toBe(200)
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com')
  })

  it('is off by default: no CORS headers, and OPTIONS is no route', async () => {
    const plain = await appWith({})
    try {
      const res = await plain.inject({ method: 'OPTIONS', url: '/single-views/customer_sv/', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } })
      expect(res.statusCode).toBe(404)
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
      const get = await plain.inject({ url: '/single-views/customer_sv/count', headers: { origin: 'https://app.example.com' } })
      expect(get.headers['access-control-allow-origin']).toBeUndefined()
    } finally {
      await plain.close()
    }
  })
})

describe('body limit and timeouts', () => {
  it('answers 413 in the error shape for a body beyond api.bodyLimit', async () => {
    const app = await appWith({ bodyLimit: 1024 })
    try {
      const res = await app.inject({ method: 'POST', url: '/ingest/crm.public.customers', headers: { 'content-type': 'application/json' }, payload: JSON.stringify([{ key: 1, value: 'x'.repeat(2000) }]) })
      expect(res.statusCode).toBe(413)
      expect(res.json()).toMatchObject({ statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large' })
    } finally {
      await app.close()
    }
  })

  it('passes the timeouts to the HTTP server', async () => {
    const app = await appWith({ timeouts: { connectionMs: 1234, requestMs: 5678, keepAliveMs: 4321 } })
    try {
      expect(app.server.timeout).toBe(1234)
      expect(app.server.requestTimeout).toBe(5678)
      expect(app.server.keepAliveTimeout).toBe(4321)
    } finally {
      await app.close()
    }
  })

  it('closes idle connections after connectionMs, but never a live subscription', async () => {
    const app = await appWith({ timeouts: { connectionMs: 300, requestMs: 0, keepAliveMs: 60_000 } })
    const controller = new AbortController()
    try {
      const address = await app.listen({ port: 0, host: '127.0.0.1' })
      const res = await fetch(`${address}/single-views/customer_sv/changes`, { signal: controller.signal })
      expect(res.status).toBe(200)
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      // Nothing happens on the stream for three times the idle timeout: it stays open.
      const outcome = await Promise.race([
        reader.read().then(r => (r.done ? 'closed' : 'data')),
        new Promise(resolve => setTimeout(() => resolve('still open'), 1000))
      ])
      expect(outcome).not.toBe('closed')
      // An idle socket that is not a subscription is closed by the same timeout.
      const { connect } = await import('node:net')
      const url = new URL(address)
      const socket = connect(Number(url.port), url.hostname)
      const closedAfter = await new Promise<number>(resolve => {
        const started = Date.now()
        socket.on('close', () => resolve(Date.now() - started))
      })
      expect(closedAfter).toBeGreaterThanOrEqual(250)
    } finally {
      controller.abort()
      await app.close()
    }
  })
})
