import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { MongoClient } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import type { CommandView } from '../../src/commands/types.ts'
import { loadPipeline } from '../../src/config/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { openEngines, type Engines } from '../../src/runtime/engines.ts'
import { createService, type Service } from '../../src/runtime/service.ts'
import { tempDir } from '../runtime/harness.ts'
import { getJson, pipelineConfig, postCommand, settled, until, writeConfig } from './helpers.ts'

/** The write stream on the production engines: the queue on Kafka, the command state in MongoDB (FerretDB). */
function required (name: 'BRAID_KAFKA_BROKERS' | 'BRAID_MONGODB_URL'): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set: this test runs the command queue on Kafka and its state on a MongoDB-compatible server (see test/commands/helpers.ts for the variables)`)
  return value
}

const run = randomBytes(4).toString('hex')
const database = `braid_cmd_${run}`
let engines: Engines
let service: Service
let app: FastifyInstance

beforeAll(async () => {
  const brokers = required('BRAID_KAFKA_BROKERS').split(',')
  const mongoUrl = required('BRAID_MONGODB_URL')
  const dir = tempDir('braid-commands-engines-')
  writeFileSync(join(dir, 'record.mjs'), `
const seen = new Map()
export default ({ payload, attempt }) => {
  if (payload.fail === true) throw Object.assign(new Error('refused'), { retryable: false })
  const list = seen.get(payload.account) ?? []
  list.push(payload.seq)
  seen.set(payload.account, list)
  return { account: payload.account, seqs: [...list], attempt }
}
`)
  const config = pipelineConfig({
    topic: `braid.commands.${run}`,
    partitions: 3,
    targets: { ledger: {} },
    definitions: {
      record: {
        target: 'ledger',
        key: 'account',
        payload: { type: 'object', required: ['account', 'seq'], properties: { account: { type: 'string' }, seq: { type: 'integer' }, fail: { type: 'boolean' } } },
        function: './record.mjs'
      }
    }
  })
  // Topics of this run only: the shared broker keeps other runs' records.
  const projections = config['projections'] as Record<string, Record<string, unknown>>
  ;(projections['customers'] as Record<string, unknown>)['topic'] = `crm.customers.${run}`
  ;((config['singleViews'] as Record<string, Record<string, unknown>>)['customer_sv'] as Record<string, unknown>)['updateTopic'] = `braid.customer_sv.${run}`
  const pipeline = await loadPipeline(writeConfig(config, dir))
  engines = await openEngines({
    dataDir: tempDir('braid-commands-engines-data-'),
    kafka: { brokers, autoCreateTopics: true, replicationFactor: 1, defaultPartitions: 3 },
    mongodb: { url: mongoUrl, database }
  })
  service = createService({ pipeline, engines, logger: silentLogger(), groupPrefix: `braid.${run}.` })
  await service.start()
  app = await buildApp(service, { logger: silentLogger() })
}, 60_000)

afterAll(async () => {
  await app?.close()
  await service?.stop()
  await engines?.close()
  const admin = new MongoClient(required('BRAID_MONGODB_URL'))
  try {
    await admin.db(database).dropDatabase()
  } finally {
    await admin.close()
  }
})

describe('commands on Kafka and MongoDB', () => {
  it('should execute each command once, in order per key, across partitions', async () => {
    const ids: string[] = []
    for (let seq = 1; seq <= 8; seq++) {
      for (const account of ['a', 'b', 'c']) {
        const answer = await postCommand(app, 'record', { account, seq }, { key: `${account}-${seq}` })
        expect(answer.status).toBe(202)
        ids.push(String(answer.body['id']))
      }
    }
    const again = await postCommand(app, 'record', { account: 'a', seq: 1 }, { key: 'a-1' })
    expect(again.body['id']).toBe(ids[0])
    const done = await Promise.all(ids.map(async id => await settled(app, id, 60_000)))
    for (const account of ['a', 'b', 'c']) {
      const last = done.filter(c => (c.payload as { account: string }).account === account).at(-1) as CommandView
      expect(last.result).toEqual({ account, seqs: [1, 2, 3, 4, 5, 6, 7, 8], attempt: 1 })
    }
    const status = await until(async () => (await getJson(app, '/-/status')).body['commands'] as { lag: number, counts: Record<string, number> }, s => s.lag === 0, 30_000, 'the queue to be committed')
    expect(status.counts).toMatchObject({ succeeded: 24, failed: 0, pending: 0, running: 0 })
  }, 90_000)

  it('a refused command should be a dead letter, listed and retriable', async () => {
    const answer = await postCommand(app, 'record', { account: 'z', seq: 1, fail: true })
    const failed = await settled(app, String(answer.body['id']), 60_000)
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BRAID_COMMAND_REJECTED' } })
    const letters = (await getJson(app, '/-/commands/dead-letters')).body as unknown as CommandView[]
    expect(letters.map(c => c.id)).toEqual([failed.id])
    const retried = await app.inject({ method: 'POST', url: `/-/commands/${failed.id}/retry` })
    expect(retried.statusCode).toBe(202)
    expect(await settled(app, failed.id, 60_000)).toMatchObject({ status: 'failed', attempts: 1, retries: 1 })
  }, 90_000)
})
