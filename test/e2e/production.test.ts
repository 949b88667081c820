import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { initialRetailState, RetailGenerator, type ChangeBatch } from '../../src/demo/retail.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { openEngines } from '../../src/runtime/engines.ts'
import { createService, type Service } from '../../src/runtime/service.ts'
import { openPipeline, tempDir, waitFor } from '../runtime/harness.ts'
import { PrivateKafka } from '../event-log/kafka-broker.ts'
import { cleanUp, comparable, getJson, productionConfigFile, productionNames, productionPipeline, PrivateFerret, runBraid, startWorker, type ProductionNames, type Worker } from './production-harness.ts'

const runs: ProductionNames[] = []
afterAll(async () => {
  for (const names of runs.splice(0)) await cleanUp(names).catch(() => {})
})

/** A deterministic retail history: the initial load, then live traffic. */
function history (seed: number, customers: number, ticks: number): ChangeBatch[] {
  const gen = new RetailGenerator(initialRetailState(seed))
  const out = gen.snapshot(customers)
  for (let i = 0; i < ticks; i++) out.push(...gen.tick())
  return out
}

async function ingestAll (service: Service, batches: ChangeBatch[], topicOf: (t: string) => string = t => t): Promise<void> {
  for (const b of batches) await service.ingest(topicOf(b.topic), b.messages)
}

/** Waits for readiness after an outage; on timeout the error carries the readiness details. */
async function readyAgain (service: Service, after: string, diagnose?: () => Promise<string>): Promise<void> {
  await waitFor(() => service.isReady(), `ready again after ${after}`, 150_000).catch(async (err: unknown) => {
    const more = diagnose === undefined ? '' : `\n${await diagnose()}`
    throw new Error(`${(err as Error).message}; readiness: ${JSON.stringify(service.readiness().details)}${more}`)
  })
}

async function views (service: Service): Promise<Doc[]> {
  return comparable(await service.store.find('customer_sv', {}), 'email')
}

describe('the retail pipeline on Kafka + MongoDB (FerretDB)', () => {
  it('produces exactly the views the embedded engines produce', async () => {
    const batches = history(7, 40, 300)
    const embedded = await openPipeline(join(import.meta.dirname, '../../examples/retail/braid.yaml'), tempDir())
    await ingestAll(embedded.service, batches)
    await embedded.service.idle(60_000)
    const expected = await views(embedded.service)
    await embedded.close()
    expect(expected.length).toBeGreaterThan(30)

    const names = productionNames('same')
    runs.push(names)
    const pipeline = await productionPipeline(names)
    const engines = await openEngines({ dataDir: tempDir(), kafka: { brokers: names.brokers, autoCreateTopics: true, defaultPartitions: 6, replicationFactor: 1 }, mongodb: { url: names.mongodbUrl } })
    const service = createService({ pipeline, engines, logger: silentLogger() })
    try {
      await service.start()
      expect((await service.status())).toMatchObject({ store: 'mongodb', eventLog: 'kafka' })
      await ingestAll(service, batches, t => names.prefix + t)
      await service.idle(120_000)
      expect(await views(service)).toEqual(expected)
    } finally {
      await service.stop()
      await engines.close()
    }
  }, 240_000)
})

describe('scale-out', () => {
  it('shares a 6-partition topic between 2 workers; one killed mid-run loses nothing and verify finds 0 differences', async () => {
    const names = productionNames('scale')
    runs.push(names)
    const config = productionConfigFile(tempDir(), names)
    const workers: Worker[] = []
    try {
      workers.push(await startWorker(config, tempDir()), await startWorker(config, tempDir()))
      const pipeline = await productionPipeline(names)
      const batches = history(11, 60, 600)
      // Messages go to the log as a source connector would produce them (keyed, 6 partitions).
      const engines = await openEngines({ dataDir: tempDir(), kafka: { brokers: names.brokers, autoCreateTopics: true, defaultPartitions: 6, replicationFactor: 1 }, mongodb: { url: names.mongodbUrl } })
      const feeder = createService({ pipeline, engines, logger: silentLogger() })
      const half = Math.floor(batches.length / 2)
      await ingestAll(feeder, batches.slice(0, half), t => names.prefix + t)

      // Both workers take part: each consumes its share of the partitions and owns queue partitions.
      const consumed = async (w: Worker | undefined): Promise<number> => {
        const status = await getJson(`${w?.url ?? ''}/-/status`)
        return Object.values(status['projections'] as Record<string, { consumed: number }>).reduce((n, p) => n + p.consumed, 0)
      }
      await waitFor(async () => await consumed(workers[0]) > 0 && await consumed(workers[1]) > 0, 'both workers consuming', 60_000)
      await waitFor(async () => {
        const status = await getJson(`${workers[1]?.url ?? ''}/-/status`)
        return (status['workers'] as unknown[]).length === 2
      }, 'both workers in /-/status', 30_000)

      await workers[0]?.kill('SIGKILL')
      await ingestAll(feeder, batches.slice(half), t => names.prefix + t)

      // The survivor takes over the partitions (group rebalance after the session timeout) and the queue.
      await waitFor(async () => {
        const status = await getJson(`${workers[1]?.url ?? ''}/-/status`)
        const projections = Object.values(status['projections'] as Record<string, { lag: number }>)
        const singleViews = Object.values(status['singleViews'] as Record<string, { queued: number }>)
        return projections.every(p => p.lag === 0) && singleViews.every(v => v.queued === 0) && (status['workers'] as unknown[]).length === 1
      }, 'the survivor to catch up', 150_000)
      await engines.close()

      const verify = await runBraid(['verify', config])
      expect(verify.output).toContain('0 differences')
      expect(verify.code).toBe(0)
    } finally {
      for (const w of workers) await w.kill()
    }
  }, 420_000)
})

describe('outages', () => {
  it('rides out a Kafka broker restart and a FerretDB restart mid-run: not ready meanwhile, nothing lost', async () => {
    const names = productionNames('faults')
    runs.push(names)
    const kafka = await PrivateKafka.launch()
    const ferret = await PrivateFerret.launch(tempDir())
    const own: ProductionNames = { ...names, brokers: kafka.brokers, mongodbUrl: ferret.url, database: 'braid_private' }
    const pipeline = await productionPipeline(own)
    const engines = await openEngines({ dataDir: tempDir(), kafka: { brokers: kafka.brokers, autoCreateTopics: true, defaultPartitions: 6, replicationFactor: 1, requestTimeoutMs: 5_000, connectTimeoutMs: 2_000 }, mongodb: { url: ferret.url, serverSelectionTimeoutMs: 2_000 } })
    const service = createService({ pipeline, engines, logger: silentLogger(), refreshMs: 500 })
    try {
      await service.start()
      const batches = history(13, 30, 300)
      const third = Math.floor(batches.length / 3)
      await ingestAll(service, batches.slice(0, third), t => own.prefix + t)

      await kafka.stop()
      await waitFor(() => !service.isReady(), 'not ready while the broker is down', 30_000)
      expect(service.readiness().details).toMatchObject({ eventLog: { ok: false } })
      await kafka.start()
      await readyAgain(service, 'the broker restart')
      await ingestAll(service, batches.slice(third, 2 * third), t => own.prefix + t)

      await ferret.stop()
      await waitFor(() => !service.isReady(), 'not ready while the store is down', 30_000)
      expect(service.readiness().details).toMatchObject({ store: { ok: false } })
      await ferret.start()
      await readyAgain(service, 'the store restart', async () => `${await ferret.probe()}; server log:\n${ferret.logTail()}`)
      await ingestAll(service, batches.slice(2 * third), t => own.prefix + t)
      await service.idle(120_000)

      const embedded = await openPipeline(join(import.meta.dirname, '../../examples/retail/braid.yaml'), tempDir())
      await ingestAll(embedded.service, batches)
      await embedded.service.idle(60_000)
      const expected = await views(embedded.service)
      await embedded.close()
      expect(await views(service)).toEqual(expected)
    } finally {
      await service.stop()
      await engines.close()
      await kafka.destroy()
      await ferret.stop()
    }
  }, 420_000)
})
