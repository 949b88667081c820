import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as braid from '../src/index.ts'

describe('the package entry point', () => {
  it('runs the documented example: load, open, start, serve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'braid-index-'))
    const logger = braid.silentLogger()
    const pipeline = await braid.loadPipeline(join(import.meta.dirname, '../examples/retail/braid.yaml'))
    const engines = await braid.openEngines({ dataDir: dir, exclusive: true })
    const service = braid.createService({ pipeline, engines, logger })
    try {
      await service.start()
      const app = await braid.buildApp(service, { logger })
      const ready = await app.inject({ method: 'GET', url: '/-/ready' })
      expect(ready.json()).toMatchObject({ status: 'OK', name: 'braid', version: braid.version, details: { started: true } })
      await app.close()
    } finally {
      await service.stop()
      await engines.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('exports the error catalogue with its class', () => {
    expect(new braid.BraidError('BRAID_NOT_FOUND', 'x').statusCode).toBe(braid.errorCodes.BRAID_NOT_FOUND.status)
  })
})
