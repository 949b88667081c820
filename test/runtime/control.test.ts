import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { loadPipeline } from '../../src/config/index.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Doc } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import { SystemCollection } from '../../src/runtime/collections.ts'
import type { Job } from '../../src/runtime/jobs.ts'
import { assignPartitions, queuePartitions } from '../../src/runtime/workers.ts'
import { parseExposition, mustValue } from './metrics-exposition.ts'
import { customerRow, customerView, openPipeline, readTopic, retail, retailConfig, tempDir, topics, waitFor, type Running } from './harness.ts'

let running: Running | undefined
let app: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  await running?.close()
  app = undefined
  running = undefined
})

async function open (dataDir: string): Promise<{ running: Running, app: FastifyInstance }> {
  running = await openPipeline(retailConfig, dataDir)
  app = await buildApp(running.service, { logger: silentLogger() })
  return { running, app }
}

async function post (url: string): Promise<{ statusCode: number, body: Doc, headers: Record<string, unknown> }> {
  const res = await (app as FastifyInstance).inject({ method: 'POST', url })
  return { statusCode: res.statusCode, body: res.json(), headers: res.headers }
}

async function finishedJob (id: string): Promise<Job> {
  return waitFor(async () => {
    const res = await (app as FastifyInstance).inject({ method: 'GET', url: `/-/jobs/${id}` })
    const job = res.json<Job>()
    return job.state === 'running' ? undefined : job
  }, `job ${id}`)
}

describe('pause and resume', () => {
  it('holds a projection\'s topic while paused (lag grows, nothing applied), shows it in status and metrics, and catches up on resume', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    const { service } = running
    const paused = await post('/-/projections/customers/pause')
    expect(paused.statusCode).toBe(200)
    expect(paused.body).toMatchObject({ projections: { customers: { paused: true } }, singleViews: { customer_sv: { paused: false } } })

    await service.ingest(topics.customers, [retail.customer(customerRow(1))])
    await waitFor(async () => (await service.status()).projections['customers']?.lag === 1, 'the lag of the paused topic')
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(await service.store.count('customers', {})).toBe(0)
    const status = await service.status()
    expect(status.projections['customers']).toMatchObject({ paused: true, lag: 1, consumed: 0 })
    const metrics = parseExposition(await service.metrics())
    expect(mustValue(metrics, 'braid_projection_paused', { projection: 'customers' })).toBe(1)
    expect(mustValue(metrics, 'braid_projection_paused', { projection: 'orders' })).toBe(0)
    // Paused is still ready (it is the operator's choice), and /-/ready says what is held.
    const ready = await (app as FastifyInstance).inject({ method: 'GET', url: '/-/ready' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toMatchObject({ status: 'OK', details: { started: true, store: { ok: true }, eventLog: { ok: true }, paused: { projections: ['customers'], singleViews: [] } } })

    const resumed = await post('/-/projections/customers/resume')
    expect(resumed.body).toMatchObject({ projections: { customers: { paused: false } } })
    await service.idle()
    expect(await customerView(service, 'customer.1@example.com')).toMatchObject({ email: 'customer.1@example.com' })
  })

  it('keeps a paused view\'s rebuilds queued while projections stay current, and builds them on resume', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    const { service } = running
    expect((await post('/-/single-views/customer_sv/pause')).body).toMatchObject({ singleViews: { customer_sv: { paused: true } } })
    await service.ingest(topics.customers, [retail.customer(customerRow(2))])
    await waitFor(async () => await service.store.count('customers', {}) === 1, 'the projection record')
    await waitFor(async () => await service.store.queueDepth('customer_sv') === 1, 'the queued rebuild')
    await new Promise(resolve => setTimeout(resolve, 400))
    expect(await customerView(service, 'customer.2@example.com')).toBeUndefined()
    expect((await service.status()).singleViews['customer_sv']).toMatchObject({ paused: true, queued: 1 })

    await post('/-/single-views/customer_sv/resume')
    await waitFor(async () => customerView(service, 'customer.2@example.com'), 'the view after resume')
  })

  it('persists the pause state across restarts', async () => {
    const dataDir = join(tempDir(), 'data')
    await open(dataDir)
    await post('/-/single-views/customer_sv/pause')
    await app?.close()
    await running?.close()
    const reopened = await open(dataDir)
    expect(reopened.running.service.control().singleViews['customer_sv']).toMatchObject({ paused: true })
    const listed = await reopened.app.inject({ method: 'GET', url: '/-/control' })
    expect(listed.json()).toMatchObject({ singleViews: { customer_sv: { paused: true } }, projections: { customers: { paused: false } } })
  })

  it('answers 404 for a projection or view that does not exist', async () => {
    await open(join(tempDir(), 'data'))
    expect((await post('/-/projections/nope/pause')).statusCode).toBe(404)
    expect((await post('/-/single-views/nope/resume')).statusCode).toBe(404)
    expect((await post('/-/single-views/nope/rebuild')).statusCode).toBe(404)
    expect((await (app as FastifyInstance).inject({ method: 'GET', url: '/-/jobs/nope' })).statusCode).toBe(404)
  })
})

describe('rebuild and verify jobs', () => {
  it('rebuilds a view in the background with progress, and verify finds a tampered view', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    const { service } = running
    await service.ingest(topics.customers, [1, 2, 3].map(id => retail.customer(customerRow(id))))
    await service.idle()

    const clean = await post('/-/single-views/customer_sv/verify')
    expect(clean.statusCode).toBe(202)
    expect(clean.headers['location']).toBe(`/-/jobs/${String(clean.body['id'])}`)
    expect(await finishedJob(String(clean.body['id']))).toMatchObject({ state: 'succeeded', kind: 'verify', result: { checked: 3, differencesTotal: 0, differences: [] } })

    // Someone edits a stored view behind braid's back.
    const [stored] = await service.store.find('customer_sv', { email: 'customer.2@example.com' })
    await service.store.write({ put: [{ collection: 'customer_sv', id: keyId(stored as Doc, ['email']), doc: { ...stored, firstName: 'Mallory' } }] })
    const dirty = await finishedJob(String((await post('/-/single-views/customer_sv/verify')).body['id']))
    expect(dirty.result).toMatchObject({ checked: 3, differencesTotal: 1, differences: [{ key: { email: 'customer.2@example.com' }, kind: 'different' }] })

    const rebuild = await post('/-/single-views/customer_sv/rebuild')
    expect(rebuild.body).toMatchObject({ kind: 'rebuild', view: 'customer_sv', state: 'running' })
    expect(await finishedJob(String(rebuild.body['id']))).toMatchObject({ state: 'succeeded', done: 3, total: 3, result: { enqueued: 3, failed: 0 } })
    const fixed = await finishedJob(String((await post('/-/single-views/customer_sv/verify')).body['id']))
    expect(fixed.result).toMatchObject({ differencesTotal: 0 })
    const jobs = await (app as FastifyInstance).inject({ method: 'GET', url: '/-/jobs' })
    expect(jobs.json<Job[]>().map(j => j.kind)).toEqual(['verify', 'rebuild', 'verify', 'verify'])
  })

  it('says why a rebuild of a paused view makes no progress', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    await running.service.ingest(topics.customers, [retail.customer(customerRow(7))])
    await running.service.idle()
    await post('/-/single-views/customer_sv/pause')
    const job = await post('/-/single-views/customer_sv/rebuild')
    const waiting = await waitFor(async () => running.service.job(String(job.body['id']))?.waiting, 'the waiting reason')
    expect(waiting).toContain('paused')
    await post('/-/single-views/customer_sv/resume')
    expect(await finishedJob(String(job.body['id']))).toMatchObject({ state: 'succeeded' })
  })
})

describe('dead letters and sv-errors', () => {
  it('dismisses a dead letter, and 404s an unknown one', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    await running.engines.log.append(topics.customers, [{ key: '{"customer_id":1}', value: 'not json' }])
    const letter = await waitFor(async () => (await running.service.store.find(SystemCollection.deadLetters, {}))[0], 'the dead letter')
    const dismissed = await post(`/-/dead-letters/${String(letter['_id'])}/dismiss`)
    expect(dismissed.statusCode).toBe(200)
    expect((await running.service.store.find(SystemCollection.deadLetters, {}))[0]).toMatchObject({ status: 'dismissed' })
    expect((await post('/-/dead-letters/000000000000000000000000/dismiss')).statusCode).toBe(404)
  })

  it('retries an sv-error\'s view key now, or dismisses the record', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    const { service } = running
    await service.ingest(topics.customers, [retail.customer(customerRow(4))])
    await service.idle()
    // An sv-error for a key that builds fine now (the failure was transient).
    const record = { _id: 'customer_sv|AGGREGATION|{"email":"customer.4@example.com"}', type: 'customer_sv', identifier: { email: 'customer.4@example.com' }, errorType: 'BRAID_AGGREGATION_FAILED', errorMessage: 'transient', resolutionMethod: 'AGGREGATION', attempts: 3, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', __STATE__: 'PUBLIC' }
    await service.store.write({ put: [{ collection: SystemCollection.svErrors, id: keyId(record, ['_id']), doc: record }] })
    expect((await post(`/-/sv-errors/${encodeURIComponent(record._id)}/retry`)).statusCode).toBe(202)
    expect(await service.store.count(SystemCollection.svErrors, {})).toBe(0)
    await waitFor(async () => await service.store.queueDepth() === 0, 'the retried build')
    expect(await service.store.count(SystemCollection.svErrors, {})).toBe(0)

    await service.store.write({ put: [{ collection: SystemCollection.svErrors, id: keyId(record, ['_id']), doc: record }] })
    expect((await post(`/-/sv-errors/${encodeURIComponent(record._id)}/dismiss`)).body).toEqual({ dismissed: record._id })
    expect(await service.store.count(SystemCollection.svErrors, {})).toBe(0)
    expect((await post('/-/sv-errors/nope/retry')).statusCode).toBe(404)
  })
})

describe('queue partitions across workers', () => {
  it('gives every partition to exactly one worker, and moves only the leaver\'s share when one leaves', () => {
    const members = ['w-a', 'w-b', 'w-c']
    const shares = members.map(m => assignPartitions(members, m))
    expect(shares.flat().sort((a, b) => a - b)).toEqual([...Array(queuePartitions).keys()])
    for (const share of shares) expect(share.length).toBeGreaterThan(5)
    const after = ['w-a', 'w-c'].map(m => assignPartitions(['w-a', 'w-c'], m))
    // w-a and w-c keep what they had and split w-b's.
    expect(after[0]).toEqual(expect.arrayContaining(shares[0] ?? []))
    expect(after[1]).toEqual(expect.arrayContaining(shares[2] ?? []))
    expect([...(after[0] ?? []), ...(after[1] ?? [])].sort((a, b) => a - b)).toEqual([...Array(queuePartitions).keys()])
  })

  it('lists the live workers in /-/status, each with its share of partitions', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    const status = await running.service.status()
    expect(status.workers).toHaveLength(1)
    expect(status.workers[0]).toMatchObject({ pid: process.pid, partitions: queuePartitions })
  })
})

describe('poison messages', () => {
  const poison = { key: '{"customer_id":99}', value: '{"op":"c","after":' }

  it('are dead-lettered by default, on the dead-letter collection and topic, and the partition keeps flowing', async () => {
    const { running } = await open(join(tempDir(), 'data'))
    const { service, engines } = running
    await engines.log.append(topics.customers, [poison])
    await service.ingest(topics.customers, [retail.customer(customerRow(5))])
    await service.idle()
    expect(await customerView(service, 'customer.5@example.com')).toBeDefined()
    const [letter] = await service.store.find(SystemCollection.deadLetters, {})
    expect(letter).toMatchObject({ projection: 'customers', code: 'BRAID_DECODE_FAILED', status: 'pending', value: poison.value })
    const records = await readTopic(engines.log, 'braid.dead-letters')
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ key: poison.key, value: poison.value })
    expect(records[0]?.headers).toMatchObject({ 'braid-dead-letter-code': 'BRAID_DECODE_FAILED', 'braid-projection': 'customers', 'braid-source-topic': topics.customers, 'braid-source-offset': '0', 'braid-dead-letter-id': String(letter?.['_id']) })
  })

  it('stop their projection with onPoison: stop, until an operator resumes it, which dead-letters the message', async () => {
    const pipeline = await loadPipeline(retailConfig)
    pipeline.engines = { onPoison: 'stop' }
    running = await openPipeline(pipeline, join(tempDir(), 'data'))
    app = await buildApp(running.service, { logger: silentLogger() })
    const { service, engines } = running
    await service.ingest(topics.customers, [retail.customer(customerRow(6))])
    await service.idle()
    await engines.log.append(topics.customers, [poison])
    await service.ingest(topics.customers, [retail.customer(customerRow(8))])

    const halted = await waitFor(async () => service.control().projections['customers']?.poison, 'the halted projection')
    expect(halted).toMatchObject({ topic: topics.customers, partition: 0, offset: 1, code: 'BRAID_DECODE_FAILED' })
    expect((await service.status()).projections['customers']).toMatchObject({ paused: true })
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(await customerView(service, 'customer.8@example.com')).toBeUndefined()
    expect(await service.store.count(SystemCollection.deadLetters, {})).toBe(0)

    expect((await post('/-/projections/customers/resume')).body).toMatchObject({ projections: { customers: { paused: false } } })
    await waitFor(async () => customerView(service, 'customer.8@example.com'), 'the message after the poison', 15_000)
    expect(await service.store.find(SystemCollection.deadLetters, {})).toMatchObject([{ offset: 1, code: 'BRAID_DECODE_FAILED' }])
    expect(service.control().projections['customers']?.poison).toBeUndefined()
  })
})
