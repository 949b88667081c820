import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import { chainingGroup, consumerLag } from '../../src/runtime/service.ts'
import { debezium, openPipeline, readTopic, runtimeFixtures, tempDir, type Running } from './harness.ts'

const config = join(runtimeFixtures, 'chained/braid.yaml')
let running: Running

beforeAll(async () => {
  running = await openPipeline(config, tempDir())
})

afterAll(async () => {
  await running?.close()
})

const member = (id: number, name: string, teamId: number, op: 'c' | 'u' = 'c'): ReturnType<typeof debezium> => debezium({ id }, op, null, { id, name, team_id: teamId })
const team = (id: number, label: string): ReturnType<typeof debezium> => debezium({ id }, 'c', null, { id, label })

async function teamView (id: number): Promise<Doc | undefined> {
  return (await running.service.store.find('team_sv', { id }))[0]
}

const memberNames = (view: Doc | undefined): unknown => (view?.['members'] as Doc[] | undefined)?.map(m => m['name'])

describe('view → view chaining', () => {
  it('builds a view that joins another view from that view\'s documents', async () => {
    await running.service.ingest('club.teams', [team(1, 'Red'), team(2, 'Blue')])
    await running.service.ingest('club.members', [member(10, 'Ada', 1), member(11, 'Alan', 1), member(12, 'Grace', 2)])
    await running.service.idle()
    expect(await running.service.store.count('member_sv', {})).toBe(3)
    expect(await teamView(1)).toMatchObject({ id: 1, label: 'Red', members: [{ id: 10, name: 'Ada' }, { id: 11, name: 'Alan' }] })
    expect(await teamView(2)).toMatchObject({ id: 2, label: 'Blue', members: [{ id: 12, name: 'Grace' }] })
    expect(await consumerLag(running.service.log, chainingGroup, ['braid.member_sv.sv-update'])).toBe(0)
  })

  it('updates the dependent view when the upstream view changes', async () => {
    await running.service.ingest('club.members', [member(10, 'Augusta Ada', 1, 'u')])
    await running.service.idle()
    expect(memberNames(await teamView(1))).toEqual(['Augusta Ada', 'Alan'])
    const events = (await readTopic(running.service.log, 'braid.team_sv.sv-update')).map(r => JSON.parse(r.value ?? 'null') as Doc)
    const last = events.filter(e => (e['after'] as Doc | null)?.['id'] === 1).at(-1)
    expect((last?.['operation'] as Doc)['type']).toBe('UPDATE')
    expect(memberNames(last?.['before'] as Doc)).toEqual(['Ada', 'Alan'])
  })

  it('updates both dependent views when an upstream view moves from one to the other', async () => {
    await running.service.ingest('club.members', [member(11, 'Alan', 2, 'u')])
    await running.service.idle()
    expect(memberNames(await teamView(1))).toEqual(['Augusta Ada'])
    expect(memberNames(await teamView(2))).toEqual(['Alan', 'Grace'])
  })

  it('updates the dependent view when the upstream view is deleted', async () => {
    await running.service.ingest('club.members', [debezium({ id: 12 }, 'd', { id: 12, name: 'Grace', team_id: 2 }, null)])
    await running.service.idle()
    expect(await running.service.store.count('member_sv', { id: 12 })).toBe(0)
    expect(memberNames(await teamView(2))).toEqual(['Alan'])
  })
})
