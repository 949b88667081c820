import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleContentSecurityPolicy, registerConsoleRoutes } from '../../src/api/routes/console.ts'
import { tempDir } from '../runtime/harness.ts'

let app: FastifyInstance
let unbuilt: FastifyInstance
let root: string

beforeAll(async () => {
  const parent = tempDir('braid-console-')
  root = join(parent, 'console')
  mkdirSync(join(root, 'assets'), { recursive: true })
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>braid console</title>')
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)')
  writeFileSync(join(root, 'assets', 'index-abc123.css'), 'body{}')
  writeFileSync(join(root, '.secret'), 'no')
  writeFileSync(join(parent, 'outside.txt'), 'OUTSIDE-CONTENT-7f3')
  app = Fastify()
  registerConsoleRoutes(app, { root })
  await app.ready()
  unbuilt = Fastify()
  registerConsoleRoutes(unbuilt, { root: join(root, 'missing') })
  await unbuilt.ready()
})

afterAll(async () => {
  await app?.close()
  await unbuilt?.close()
})

describe('the console routes', () => {
  it('serve index.html at /console/ with a same-origin Content-Security-Policy, not cached', async () => {
    const res = await app.inject({ method: 'GET', url: '/console/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toContain('braid console')
    expect(res.headers['content-security-policy']).toBe(consoleContentSecurityPolicy)
    expect(consoleContentSecurityPolicy).toContain("default-src 'self'")
    expect(consoleContentSecurityPolicy).toContain("connect-src 'self'")
    expect(res.headers['cache-control']).toBe('no-cache')
    expect((await app.inject({ method: 'GET', url: '/console/index.html' })).body).toBe(res.body)
  })

  it('redirect /console to /console/', async () => {
    const res = await app.inject({ method: 'GET', url: '/console' })
    expect(res.statusCode).toBe(301)
    expect(res.headers.location).toBe('/console/')
  })

  it('serve hashed assets with their type and a year of caching', async () => {
    const js = await app.inject({ method: 'GET', url: '/console/assets/index-abc123.js' })
    expect(js.statusCode).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(js.body).toBe('console.log(1)')
    const css = await app.inject({ method: 'GET', url: '/console/assets/index-abc123.css' })
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('answer 404 for missing files, dotfiles and paths leaving the build folder', async () => {
    for (const url of ['/console/assets/nope.js', '/console/.secret', '/console/../outside.txt', '/console/%2e%2e/outside.txt', '/console/assets/..%2f..%2fetc%2fpasswd', '/console/assets']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(404)
      expect(res.body, url).not.toContain('OUTSIDE-CONTENT-7f3')
    }
  })

  it('answer 503 with how to build the console when it is not built', async () => {
    const res = await unbuilt.inject({ method: 'GET', url: '/console/' })
    expect(res.statusCode).toBe(503)
    expect(res.body).toContain('not built')
    expect(res.body).toContain('npm run build')
  })
})
