import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { SystemCollection } from '../../src/runtime/collections.ts'
import { debezium, openPipeline, readTopic, runtimeFixtures, tempDir, waitFor, type Running } from './harness.ts'

const config = join(runtimeFixtures, 'flaky/braid.yaml')
const topic = 'flaky.accounts'
let running: Running | undefined
let app: FastifyInstance | undefined

afterAll(async () => {
  await app?.close()
  await running?.close()
  delete process.env['BRAID_TEST_FLAG_FILE']
})

const account = (id: number, name: string): ReturnType<typeof debezium> => debezium({ id }, 'c', null, { id, name })

describe('a single view whose mapping function throws', () => {
  it('is not written, is recorded in sv-errors and retried with backoff, and converges once the function works', async () => {
    const dir = tempDir()
    const flag = join(dir, 'scoring-is-up')
    process.env['BRAID_TEST_FLAG_FILE'] = flag
    running = await openPipeline(config, join(dir, 'data'))
    app = await buildApp(running.service, { logger: silentLogger() })
    const { service } = running
    await service.ingest(topic, [account(1, 'flaky-ada'), account(2, 'steady')])

    // The other view of the batch is built; the failing one is recorded.
    await waitFor(async () => (await service.store.find('account_sv', { id: 2 }))[0], 'the view of account 2')
    const first = await waitFor(async () => (await service.store.find(SystemCollection.svErrors, {}))[0], 'an sv-error record')
    expect(first).toMatchObject({
      type: 'account_sv',
      identifier: { id: 1 },
      errorType: 'BRAID_AGGREGATION_FAILED',
      resolutionMethod: 'AGGREGATION',
      attempts: 1
    })
    expect(first['errorMessage']).toContain('the scoring service is down')
    expect(await service.store.find('account_sv', { id: 1 })).toEqual([])
    expect(await service.store.queueDepth('account_sv')).toBe(1)
    const listed = await app.inject({ method: 'GET', url: '/-/sv-errors' })
    expect(listed.statusCode).toBe(200)
    expect(listed.json()).toMatchObject([{ type: 'account_sv', identifier: { id: 1 }, errorType: 'BRAID_AGGREGATION_FAILED' }])

    // Retried after the backoff (1 s for the first retry), not in a tight loop.
    const second = await waitFor(async () => {
      const [record] = await service.store.find(SystemCollection.svErrors, {})
      return record !== undefined && Number(record['attempts']) >= 2 ? record : undefined
    }, 'a second attempt', 5_000)
    expect(second['attempts']).toBe(2)
    expect(Date.parse(String(second['updatedAt'])) - Date.parse(String(first['updatedAt']))).toBeGreaterThanOrEqual(900)
    expect(second['createdAt']).toBe(first['createdAt'])
    expect((await service.status()).singleViews['account_sv']?.failed).toBe(2)
    expect(await service.store.find('account_sv', { id: 1 })).toEqual([])

    // The dependency is back: the next attempt builds the view and removes the record.
    writeFileSync(flag, 'up')
    const view = await waitFor(async () => (await service.store.find('account_sv', { id: 1 }))[0], 'the view of account 1', 10_000)
    expect(view).toMatchObject({ id: 1, name: 'flaky-ada', score: 9, __STATE__: 'PUBLIC' })
    await service.idle()
    expect(await service.store.find(SystemCollection.svErrors, {})).toEqual([])
    expect(await service.store.queueDepth()).toBe(0)
    expect((await app.inject({ method: 'GET', url: '/-/sv-errors' })).json()).toEqual([])
    const events = (await readTopic(service.log, 'braid.account_sv.sv-update')).map(r => JSON.parse(r.value ?? 'null') as Doc)
    expect(events.map(e => [(e['after'] as Doc)['id'], (e['operation'] as Doc)['type']])).toEqual([[2, 'INSERT'], [1, 'INSERT']])
  })
})
