import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { silentLogger } from '../../src/logger.ts'
import { customerRow, openPipeline, repoRoot, retail, retailConfig, tempDir, topics, type Running } from '../runtime/harness.ts'
import { mustValue, parseExposition } from '../runtime/metrics-exposition.ts'

let running: Running | undefined

afterEach(async () => {
  await running?.close()
  running = undefined
})

describe('GET /-/metrics', () => {
  it('answers in the Prometheus text format 0.0.4 before the pipeline consumes, with braid_ready 0', async () => {
    running = await openPipeline(retailConfig, tempDir(), { start: false })
    const app = await buildApp(running.service, { logger: silentLogger() })
    try {
      const res = await app.inject({ method: 'GET', url: '/-/metrics' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
      expect(res.headers['cache-control']).toBe('no-store')
      const families = parseExposition(res.body)
      expect(mustValue(families, 'braid_up')).toBe(1)
      expect(mustValue(families, 'braid_ready')).toBe(0)
      expect(mustValue(families, 'braid_trigger_queue_depth', { view: 'customer_sv' })).toBe(0)
    } finally {
      await app.close()
    }
  })

  it('counts messages posted to /ingest and never exposes a key value', async () => {
    running = await openPipeline(retailConfig, tempDir())
    const app = await buildApp(running.service, { logger: silentLogger() })
    try {
      const rows = [customerRow(41, { email: 'secret.person@example.com', phone: '+39 0555 123456' }), customerRow(42)]
      const posted = await app.inject({ method: 'POST', url: `/ingest/${topics.customers}`, payload: rows.map(r => retail.customer(r)) })
      expect(posted.statusCode).toBe(202)
      await running.service.idle()
      const res = await app.inject({ method: 'GET', url: '/-/metrics' })
      const families = parseExposition(res.body)
      expect(mustValue(families, 'braid_projection_consumed_total', { projection: 'customers' })).toBe(2)
      expect(mustValue(families, 'braid_projection_events_total', { projection: 'customers', result: 'applied' })).toBe(2)
      expect(mustValue(families, 'braid_view_builds_total', { view: 'customer_sv', result: 'written' })).toBe(2)
      expect(mustValue(families, 'braid_view_freshness_seconds_count', { view: 'customer_sv' })).toBe(2)
      expect(mustValue(families, 'braid_ready')).toBe(1)
      for (const secret of ['secret.person', 'customer.42', '0555', '"41"', '"42"']) expect(res.body).not.toContain(secret)
      // Label names are the documented ones only.
      const labels = new Set([...families.values()].flatMap(f => f.samples.flatMap(s => Object.keys(s.labels))))
      expect([...labels].sort()).toEqual(['code', 'le', 'projection', 'result', 'topic', 'version', 'view'])
    } finally {
      await app.close()
    }
  })

  it('is documented: docs/observability.md describes every exported family, and the README links it', async () => {
    running = await openPipeline(retailConfig, tempDir(), { start: false })
    const families = parseExposition(await running.service.metrics())
    const doc = readFileSync(join(repoRoot, 'docs/observability.md'), 'utf8')
    for (const name of families.keys()) expect(doc, `${name} is documented`).toContain(`\`${name}\``)
    expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toContain('docs/observability.md')
  })
})
