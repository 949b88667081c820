import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { generateApiKey, sha256Hash } from '../../src/api/auth/keys.ts'
import { compileApiOptions } from '../../src/api/options.ts'
import { RateLimiter } from '../../src/api/rate-limit.ts'
import { silentLogger } from '../../src/logger.ts'
import { openPipeline, retailConfig, tempDir, type Running } from '../runtime/harness.ts'

describe('RateLimiter', () => {
  it('rate limiter should allow a burst, then one request per refill, with the seconds to wait', () => {
    let now = 0
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, () => now)
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true])
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSec: 1 })
    now += 499
    expect(limiter.take('a').ok).toBe(false)
    now += 1
    expect(limiter.take('a').ok).toBe(true)
    expect(limiter.take('b').ok).toBe(true)
  })

  it('rate limiter should round the wait up to whole seconds at slow rates', () => {
    let now = 0
    const limiter = new RateLimiter({ perSecond: 0.1, burst: 1 }, () => now)
    expect(limiter.take('a').ok).toBe(true)
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSec: 10 })
    now += 4_000
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSec: 6 })
  })

  it('rate limiter should forget buckets that refilled, so memory follows the active clients', () => {
    let now = 0
    const limiter = new RateLimiter({ perSecond: 10, burst: 10 }, () => now)
    for (let i = 0; i < 100; i++) limiter.take(`client-${i}`)
    expect(limiter.size).toBe(100)
    now += 61_000
    limiter.take('late')
    expect(limiter.size).toBe(1)
  })

  it('rate limiter should refuse a rate or burst that admits nothing', () => {
    expect(() => new RateLimiter({ perSecond: 0, burst: 1 })).toThrow(RangeError)
    expect(() => new RateLimiter({ perSecond: 1, burst: 0 })).toThrow(RangeError)
  })
})

describe('the API with api.rateLimit', () => {
  let running: Running
  let app: FastifyInstance
  const keyA = generateApiKey()
  const keyB = generateApiKey()

  beforeAll(async () => {
    const { options } = await compileApiOptions({
      rateLimit: { perSecond: 1, burst: 2 },
      auth: { apiKeys: [{ name: 'a', hash: sha256Hash(keyA), scopes: ['read:*'] }, { name: 'b', hash: sha256Hash(keyB), scopes: ['read:*'] }] }
    }, tempDir())
    running = await openPipeline(retailConfig, tempDir(), { start: false })
    app = await buildApp(running.service, { ...options, logger: silentLogger() })
  })

  afterAll(async () => {
    await app?.close()
    await running?.close()
  })

  const get = async (url: string, key?: string): Promise<{ status: number, retryAfter: string | undefined, body: unknown }> => {
    const res = await app.inject({ url, headers: key === undefined ? {} : { 'x-api-key': key } })
    return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined, body: res.json() }
  }

  it('answers 429 with retry-after and the braid error body past the burst, per identity', async () => {
    expect((await get('/single-views/customer_sv/count', keyA)).status).toBe(200)
    expect((await get('/single-views/customer_sv/count', keyA)).status).toBe(200)
    const limited = await get('/single-views/customer_sv/count', keyA)
    expect(limited.status).toBe(429)
    expect(limited.retryAfter).toBe('1')
    expect(limited.body).toEqual({ statusCode: 429, code: 'BRAID_RATE_LIMITED', error: 'Too Many Requests', message: 'too many requests; retry after 1 s', details: { retryAfterSec: 1 } })
    // Another identity has its own bucket.
    expect((await get('/single-views/customer_sv/count', keyB)).status).toBe(200)
  })

  it('limits requests without valid credentials by address, before answering 401 (guessing keys is slowed too)', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await get('/single-views/customer_sv/count', `bk_guess-${i}`)).status)
    expect(statuses).toEqual([401, 401, 429, 429])
  })

  it('exempts the health probes', async () => {
    for (let i = 0; i < 10; i++) expect((await get('/-/healthz')).status).toBe(200)
    for (let i = 0; i < 5; i++) expect([200, 503]).toContain((await get('/-/ready')).status)
  })
})
