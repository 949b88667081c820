import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { generateApiKey, sha256Hash } from '../../src/api/auth/keys.ts'
import { openApiDocument } from '../../src/api/openapi-document.ts'
import { compileApiOptions, loadApiOptions } from '../../src/api/options.ts'
import { loadPipeline } from '../../src/config/index.ts'
import { silentLogger } from '../../src/logger.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import { openPipeline, repoRoot, retailConfig, tempDir, type Running } from '../runtime/harness.ts'

type Json = Record<string, any>

const committed = join(repoRoot, 'openapi.json')
const fix = 'Regenerate it: BRAID_UPDATE_OPENAPI=1 npx vitest run test/api/openapi.test.ts (or npm run build && node dist/cli/main.js openapi examples/retail/braid.yaml > openapi.json), and commit it.'

let pipeline: PipelineDefinition

beforeAll(async () => {
  pipeline = await loadPipeline(retailConfig)
})

/** Every operation of the document as [method path, operation]. */
function operations (doc: Json): Array<[string, Json]> {
  const out: Array<[string, Json]> = []
  for (const [path, item] of Object.entries(doc['paths'] as Json)) {
    for (const [method, op] of Object.entries(item as Json)) out.push([`${method.toUpperCase()} ${path}`, op as Json])
  }
  return out
}

describe('openapi.json', () => {
  it('is the document braid serves for examples/retail/braid.yaml (not stale)', async () => {
    const { options } = await loadApiOptions(retailConfig)
    const text = `${JSON.stringify(await openApiDocument(pipeline, options), null, 2)}\n`
    if (process.env['BRAID_UPDATE_OPENAPI'] === '1') writeFileSync(committed, text)
    expect(existsSync(committed), `openapi.json is missing. ${fix}`).toBe(true)
    const current = readFileSync(committed, 'utf8')
    expect(current === text, `openapi.json is stale: the routes or their schemas changed. ${fix}`).toBe(true)
  })
})

describe('the OpenAPI document', () => {
  it('documents every view and projection with its own paths and document schema', async () => {
    const doc = await openApiDocument(pipeline) as Json
    expect(doc['openapi']).toBe('3.0.3')
    for (const path of ['/single-views/customer_sv/', '/single-views/customer_sv/count', '/single-views/customer_sv/export', '/single-views/customer_sv/schema', '/single-views/customer_sv/{id}', '/single-views/customer_sv/changes', '/single-views/customer_sv/lineage', '/projections/orders/', '/ingest/{topic}', '/-/healthz', '/-/metrics']) {
      expect(doc['paths'], path).toHaveProperty([path])
    }
    const sv = doc['components']['schemas']['single-view.customer_sv']
    expect(Object.keys(sv.properties)).toEqual(expect.arrayContaining(['_id', 'email', 'orders', '__STATE__']))
    expect(doc['paths']['/single-views/customer_sv/']['get']['responses']['200']['content']['application/json']['schema']).toEqual({ type: 'array', items: { $ref: '#/components/schemas/single-view.customer_sv' } })
    const params = (doc['paths']['/single-views/customer_sv/count']['get']['parameters'] as Json[]).map(p => p['name'])
    expect(params).toEqual(expect.arrayContaining(['_q', '_st', '_useEstimate', 'email', 'tier.code']))
    expect(params).not.toContain('_p')
  })

  it('gives every operation a success answer and error answers in the documented bodies', async () => {
    const doc = await openApiDocument(pipeline) as Json
    for (const [name, op] of operations(doc)) {
      const responses = op['responses'] as Json | undefined
      if (name.startsWith('GET /console')) continue
      expect(responses, name).toBeDefined()
      expect(Object.keys(responses as Json).some(s => s.startsWith('2')), name).toBe(true)
      for (const [status, r] of Object.entries(responses as Json)) {
        if (Number(status) < 400 || (name.startsWith('GET /-/') && ['/-/ready', '/-/check-up'].some(p => name.endsWith(p)))) continue
        const schema = (r as Json)['content']?.['application/json']?.['schema']
        expect([{ $ref: '#/components/schemas/Error' }, { $ref: '#/components/schemas/NotFound' }], `${name} ${status}`).toContainEqual(schema)
      }
    }
  })

  it('with auth, documents the security, the scope and the 401/403 answers of each operation; probes stay open', async () => {
    const key = generateApiKey()
    const { options } = await compileApiOptions({ auth: { apiKeys: [{ name: 'k', hash: sha256Hash(key), scopes: ['admin'] }] }, rateLimit: { perSecond: 10 } }, tempDir())
    const doc = await openApiDocument(pipeline, options) as Json
    expect(Object.keys(doc['components']['securitySchemes'])).toEqual(['bearer', 'apiKey'])
    for (const [name, op] of operations(doc)) {
      if (name === 'GET /-/healthz' || name === 'GET /-/ready' || name.startsWith('GET /console')) {
        expect(op['security'], name).toEqual([])
        continue
      }
      expect(op['security'], name).toEqual([{ bearer: [] }, { apiKey: [] }])
      expect(op['responses'], name).toHaveProperty(['401'])
      expect(op['responses'], name).toHaveProperty(['429'])
    }
    const list = doc['paths']['/single-views/customer_sv/']['get']
    expect(list['description']).toContain('Needs the scope `read:customer_sv`.')
    expect(list['responses']).toHaveProperty(['403'])
    expect(doc['paths']['/ingest/{topic}']['post']['description']).toContain('Needs the scope `ingest:{topic}`.')
    expect(doc['paths']['/-/metrics']['get']['description']).toContain('Needs the scope `admin`.')
  })
})

describe('Swagger UI at /documentation', () => {
  let running: Running
  beforeAll(async () => { running = await openPipeline(retailConfig, tempDir(), { start: false }) })
  afterAll(async () => { await running?.close() })

  it('serves the page and its assets itself, with no address elsewhere', async () => {
    const app = await buildApp(running.service, { logger: silentLogger() })
    try {
      const page = await app.inject('/documentation/')
      expect(page.statusCode).toBe(200)
      expect(page.body).not.toMatch(/(src|href)="https?:\/\//)
      const assets = [...page.body.matchAll(/(?:src|href)="\.?\/?([^"]+)"/g)].map(m => m[1] as string).filter(a => !a.startsWith('#'))
      expect(assets.length).toBeGreaterThan(0)
      for (const asset of assets) {
        const res = await app.inject(`/documentation/${asset.replace(/^\.\//, '')}`)
        expect(res.statusCode, asset).toBe(200)
      }
      const init = await app.inject('/documentation/static/swagger-initializer.js')
      expect(init.statusCode).toBe(200)
      expect(init.body).toContain('validatorUrl')
      expect((await app.inject('/documentation/json')).json()).toHaveProperty('openapi', '3.0.3')
    } finally {
      await app.close()
    }
  })
})
