import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import { debezium, openPipeline, readTopic, runtimeFixtures, tempDir, type Running } from './harness.ts'

const config = join(runtimeFixtures, 'validated/braid.yaml')
const topic = 'club.members'
let running: Running

beforeAll(async () => {
  running = await openPipeline(config, tempDir())
})

afterAll(async () => {
  await running?.close()
})

const member = (id: number, name: string, active: boolean, op: 'c' | 'u' = 'c'): ReturnType<typeof debezium> => debezium({ id }, op, null, { id, name, active })

async function all (collection: string, id: number): Promise<Doc[]> {
  return running.service.store.find(collection, { id })
}

async function events (view: string, id: number): Promise<Doc[]> {
  return (await readTopic(running.service.log, `braid.${view}.sv-update`))
    .map(r => JSON.parse(r.value ?? 'null') as Doc)
    .filter(e => ((e['after'] ?? e['before']) as Doc)['id'] === id)
}

describe('a view the validator refuses', () => {
  it('is never written when the first build is refused', async () => {
    await running.service.ingest(topic, [member(1, 'Dormant', false)])
    await running.service.idle()
    expect(await all('member_sv', 1)).toEqual([])
    expect(await all('member_archive_sv', 1)).toEqual([])
    expect(await events('member_sv', 1)).toEqual([])
  })

  it('is removed with the delete strategy once the validator refuses it', async () => {
    await running.service.ingest(topic, [member(2, 'Ada', true)])
    await running.service.idle()
    expect(await all('member_sv', 2)).toMatchObject([{ id: 2, name: 'Ada', active: true, __STATE__: 'PUBLIC' }])

    await running.service.ingest(topic, [member(2, 'Ada', false, 'u')])
    await running.service.idle()
    expect(await all('member_sv', 2)).toEqual([])
    const ops = (await events('member_sv', 2)).map(e => (e['operation'] as Doc)['type'])
    expect(ops).toEqual(['INSERT', 'DELETE'])
    const deleted = (await events('member_sv', 2))[1]
    expect(deleted?.['before']).toMatchObject({ id: 2, active: true })
    expect(deleted?.['after']).toBeNull()
  })

  it('is kept with __STATE__ DELETED with the virtualDelete strategy, and comes back when valid again', async () => {
    const stored = await all('member_archive_sv', 2)
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({ id: 2, name: 'Ada', active: true, __STATE__: 'DELETED' })
    const [insert, remove] = await events('member_archive_sv', 2)
    expect((remove?.['operation'] as Doc)['type']).toBe('DELETE')
    expect(remove?.['after']).toMatchObject({ id: 2, __STATE__: 'DELETED' })
    expect(insert?.['after']).toMatchObject({ id: 2, __STATE__: 'PUBLIC' })

    await running.service.ingest(topic, [member(2, 'Ada', true, 'u')])
    await running.service.idle()
    expect(await all('member_archive_sv', 2)).toMatchObject([{ id: 2, active: true, __STATE__: 'PUBLIC', _id: stored[0]?.['_id'] }])
    expect(await all('member_sv', 2)).toMatchObject([{ id: 2, active: true, __STATE__: 'PUBLIC' }])
  })

  it('is deleted the same way when its base record is deleted', async () => {
    await running.service.ingest(topic, [member(3, 'Grace', true)])
    await running.service.idle()
    await running.service.ingest(topic, [debezium({ id: 3 }, 'd', { id: 3, name: 'Grace', active: true }, null)])
    await running.service.idle()
    expect(await all('member_sv', 3)).toEqual([])
    expect(await all('member_archive_sv', 3)).toMatchObject([{ id: 3, __STATE__: 'DELETED' }])
    expect((await running.service.status()).singleViews['member_sv']).toMatchObject({ failed: 0, queued: 0 })
  })
})
