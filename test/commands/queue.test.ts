import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { commandCollections, CommandCollection } from '../../src/commands/collections.ts'
import { canonicalJson, idempotentId } from '../../src/commands/service.ts'
import type { CommandRecord, CommandView } from '../../src/commands/types.ts'
import type { EventLog } from '../../src/event-log/event-log.ts'
import type { Doc } from '../../src/model/document.ts'
import { keyId } from '../../src/model/key.ts'
import { openEngines } from '../../src/runtime/engines.ts'
import { tempDir } from '../runtime/harness.ts'
import { getJson, pipelineConfig, postCommand, settled, startBraid, writeConfig, type Braid } from './helpers.ts'

/** Accepting a command: the state is written, then the queue record appended; what happens when that is cut short. */
const running: Braid[] = []

afterEach(async () => {
  for (const b of running.splice(0)) await b.close()
})

function config (): string {
  const dir = tempDir('braid-commands-queue-')
  writeFileSync(join(dir, 'count.mjs'), 'let n = 0\nexport default () => ({ calls: ++n })\n')
  return writeConfig(pipelineConfig({
    targets: { local: {} },
    definitions: { count: { target: 'local', payload: { type: 'object' }, function: './count.mjs' } }
  }), dir)
}

function orphan (id: string, idempotencyKey?: string): CommandRecord {
  const at = new Date(Date.now() - 120_000).toISOString()
  return {
    _id: id,
    name: 'count',
    target: 'local',
    orderKey: id,
    // What POST computes for this payload, so that the client's retry matches.
    fingerprint: createHash('sha256').update(canonicalJson({ payload: {}, waitFor: null })).digest('hex'),
    payload: {},
    status: 'pending',
    run: 1,
    attempts: 0,
    failures: 0,
    createdAt: at,
    updatedAt: at,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey })
  }
}

describe('accepting commands', () => {
  it('a pending command left without a queue record by a crash should be queued at start when it has an idempotency key, failed when it has none', async () => {
    const file = config()
    const dataDir = tempDir('braid-commands-queue-data-')
    const engines = await openEngines({ dataDir })
    const keyed = orphan(idempotentId('count', 'k-1'), 'k-1')
    const anonymous = orphan('0123456789abcdef0123456789abcdef')
    await engines.store.ensureCollections(commandCollections)
    await engines.store.write({ put: [keyed, anonymous].map(doc => ({ collection: CommandCollection.commands, id: keyId(doc as unknown as Doc, ['_id']), doc: doc as unknown as Doc })) })
    await engines.close()

    const braid = await startBraid(file, { dataDir })
    running.push(braid)
    expect(await settled(braid.app, keyed._id)).toMatchObject({ status: 'succeeded', result: { calls: 1 } })
    expect(await settled(braid.app, anonymous._id)).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'BRAID_LOG_UNAVAILABLE', message: expect.stringContaining('not executed') as string } })
    // The client retrying with its key finds the command that ran.
    const retried = await postCommand(braid.app, 'count', {}, { key: 'k-1' })
    expect(retried.body).toMatchObject({ id: keyed._id, status: 'succeeded' })
  })

  it('a command that could not be queued should answer 503 and be forgotten, so that the retried request runs it once', async () => {
    let failNext = true
    const flakyLog = (log: EventLog): EventLog => new Proxy(log, {
      get (target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown
        if (prop !== 'append') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        return async (topic: string, records: Parameters<EventLog['append']>[1]) => {
          if (topic === 'braid.commands' && failNext) {
            failNext = false
            throw new Error('disk full')
          }
          return await target.append(topic, records)
        }
      }
    })
    const braid = await startBraid(config(), { log: flakyLog })
    running.push(braid)
    const refused = await postCommand(braid.app, 'count', { a: 1 }, { key: 'k-2' })
    expect(refused.status).toBe(503)
    expect(refused.body).toMatchObject({ code: 'BRAID_LOG_UNAVAILABLE', message: 'could not queue the command: disk full' })
    expect((await getJson(braid.app, `/commands/${idempotentId('count', 'k-2')}`)).status).toBe(404)
    const accepted = await postCommand(braid.app, 'count', { a: 1 }, { key: 'k-2' })
    expect(accepted.status).toBe(202)
    expect(accepted.headers['idempotent-replayed']).toBeUndefined()
    const done: CommandView = await settled(braid.app, String(accepted.body['id']))
    expect(done).toMatchObject({ id: idempotentId('count', 'k-2'), status: 'succeeded', attempts: 1 })
  })
})
