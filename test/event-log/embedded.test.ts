import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createEmbeddedEventLog, type EmbeddedEventLog, type EmbeddedEventLogOptions } from '../../src/event-log/embedded/index.ts'
import type { LogRecord } from '../../src/model/log-record.ts'
import { runEventLogContract } from '../contract/event-log.contract.ts'
import { sleep, waitFor } from '../contract/support.ts'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-log-'))
let n = 0
const freshPath = (): string => path.join(dir, `log-${++n}.db`)

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

runEventLogContract({
  name: 'embedded',
  create: async () => createEmbeddedEventLog({ path: freshPath() }),
  reopen: async log => createEmbeddedEventLog({ path: (log as EmbeddedEventLog).path })
})

describe('embedded event log', () => {
  const open: EmbeddedEventLog[] = []
  const openLog = (options: Partial<EmbeddedEventLogOptions> = {}): EmbeddedEventLog => {
    const log = createEmbeddedEventLog({ path: freshPath(), ...options })
    open.push(log)
    return log
  }

  afterEach(async () => {
    for (const log of open.splice(0)) await log.close()
  })

  it('append should create a missing topic with the default partition count', async () => {
    const log = openLog({ defaultPartitions: 3 })
    await log.append('auto', [{ key: 'a', value: '1' }])
    expect((await log.offsets('auto')).map(o => o.partition)).toEqual([0, 1, 2])
    await log.ensureTopics([{ name: 'explicit', partitions: 2 }, { name: 'defaulted' }])
    expect(await log.offsets('explicit')).toHaveLength(2)
    expect(await log.offsets('defaulted')).toHaveLength(3)
    expect(await log.offsets('unknown')).toEqual([])
    expect(await log.read('unknown', 0, 0, 10)).toEqual([])
  })

  it('keyed records should go where Kafka\'s default partitioner puts them', async () => {
    const log = openLog()
    await log.ensureTopics([{ name: 't', partitions: 6 }])
    // Kafka: Utils.toPositive(Utils.murmur2("foobar".getBytes())) % 6 = (-790332482 & 0x7fffffff) % 6
    const [pos] = await log.append('t', [{ key: 'foobar', value: null }])
    expect(pos?.partition).toBe((-790332482 & 0x7fffffff) % 6)
  })

  it('records without a key should be spread round robin', async () => {
    const log = openLog()
    await log.ensureTopics([{ name: 't', partitions: 3 }])
    const positions = await log.append('t', Array.from({ length: 7 }, (_, i) => ({ key: null, value: String(i) })))
    expect(positions.map(p => p.partition)).toEqual([0, 1, 2, 0, 1, 2, 0])
    const [next] = await log.append('t', [{ key: null, value: '7' }])
    expect(next?.partition).toBe(1)
  })

  it('records, offsets and commits should survive a reopen', async () => {
    const file = freshPath()
    const first = createEmbeddedEventLog({ path: file, defaultPartitions: 2 })
    await first.append('t', Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { i: String(i) } })))
    const handled: LogRecord[] = []
    const s = first.consume({ group: 'g', topics: ['t'] }, async b => { handled.push(...b.records) })
    await waitFor(() => handled.length === 10)
    await s.stop()
    const offsets = await first.offsets('t')
    await first.close()
    const second = createEmbeddedEventLog({ path: file })
    open.push(second)
    expect(await second.offsets('t')).toEqual(offsets)
    expect((await second.committed('g', 't')).reduce((a, c) => a + c.offset, 0)).toBe(10)
    const all = [...await second.read('t', 0, 0, 100), ...await second.read('t', 1, 0, 100)]
    expect(all.map(r => r.value).sort()).toEqual(handled.map(r => r.value).sort())
    expect(all.find(r => r.key === 'k3')?.headers).toEqual({ i: '3' })
    const [pos] = await second.append('t', [{ key: 'k3', value: 'again' }])
    expect(pos?.partition).toBe(all.find(r => r.key === 'k3')?.partition)
  })

  it('a consumer should see records appended by another instance on the same file', async () => {
    const file = freshPath()
    const reader = createEmbeddedEventLog({ path: file, pollIntervalMs: 20 })
    const writer = createEmbeddedEventLog({ path: file })
    open.push(reader, writer)
    const seen: string[] = []
    reader.consume({ group: 'g', topics: ['shared'] }, async b => { seen.push(...b.records.map(r => r.value as string)) })
    await sleep(50)
    await writer.append('shared', [{ key: null, value: 'from the other instance' }])
    await waitFor(() => seen.length === 1)
    expect(seen).toEqual(['from the other instance'])
  })

  it('a consumer of a topic that does not exist yet should read it from the start once created', async () => {
    const log = openLog()
    const seen: string[] = []
    log.consume({ group: 'g', topics: ['later'], start: 'latest' }, async b => { seen.push(...b.records.map(r => r.value as string)) })
    await sleep(80)
    await log.append('later', [{ key: 'a', value: '1' }, { key: 'a', value: '2' }])
    await waitFor(() => seen.length === 2)
    expect(seen).toEqual(['1', '2'])
  })

  it('a latest start should be committed at once, so a restart does not skip records', async () => {
    const file = freshPath()
    const first = createEmbeddedEventLog({ path: file })
    await first.append('t', [{ key: 'a', value: 'before' }])
    const s = first.consume({ group: 'g', topics: ['t'], start: 'latest' }, async () => {})
    await s.stop()
    await first.append('t', [{ key: 'a', value: 'while down' }])
    await first.close()
    const second = createEmbeddedEventLog({ path: file })
    open.push(second)
    const seen: string[] = []
    second.consume({ group: 'g', topics: ['t'], start: 'latest' }, async b => { seen.push(...b.records.map(r => r.value as string)) })
    await waitFor(() => seen.length === 1)
    expect(seen).toEqual(['while down'])
  })

  it('one group should consume a topic once per instance', async () => {
    const log = openLog()
    const s = log.consume({ group: 'g', topics: ['a', 'b'] }, async () => {})
    expect(() => log.consume({ group: 'g', topics: ['b'] }, async () => {})).toThrow(expect.objectContaining({ code: 'BRAID_INTERNAL' }))
    log.consume({ group: 'other', topics: ['b'] }, async () => {}) // another group is fine
    await s.stop()
    log.consume({ group: 'g', topics: ['b'] }, async () => {}) // and so is the group again after stop
  })

  it('close should stop subscriptions and later calls should fail with BRAID_LOG_UNAVAILABLE', async () => {
    const log = createEmbeddedEventLog({ path: freshPath() })
    let calls = 0
    log.consume({ group: 'g', topics: ['t'] }, async () => { calls++ })
    await log.append('t', [{ key: null, value: 'x' }])
    await log.close()
    const after = calls
    await expect(log.append('t', [{ key: null, value: 'y' }])).rejects.toMatchObject({ code: 'BRAID_LOG_UNAVAILABLE' })
    await sleep(100)
    expect(calls).toBe(after)
    await log.close()
  })

  it('retention should prune the oldest records by count and by age, keeping a contiguous suffix', async () => {
    const log = openLog({ retention: { maxRecordsPerPartition: 4, maxAgeMs: 60_000 } })
    const now = Date.now()
    await log.ensureTopics([{ name: 't', partitions: 1 }])
    await log.append('t', Array.from({ length: 10 }, (_, i) => ({ key: null, value: `v${i}`, timestamp: now })))
    expect(await log.prune(now)).toBe(6)
    expect(await log.offsets('t')).toEqual([{ partition: 0, start: 6, end: 10 }])
    expect((await log.read('t', 0, 0, 100)).map(r => r.offset)).toEqual([6, 7, 8, 9])
    expect(await log.prune(now + 30_000)).toBe(0)
    expect(await log.prune(now + 60_001)).toBe(4)
    expect(await log.offsets('t')).toEqual([{ partition: 0, start: 10, end: 10 }])
    const [pos] = await log.append('t', [{ key: null, value: 'after' }])
    expect(pos?.offset).toBe(10)
    const seen: number[] = []
    log.consume({ group: 'g', topics: ['t'] }, async b => { seen.push(...b.records.map(r => r.offset)) })
    await waitFor(() => seen.length === 1)
    expect(seen).toEqual([10])
  })

  it('retention should run periodically', async () => {
    const log = openLog({ retention: { maxRecordsPerPartition: 1, checkIntervalMs: 20 } })
    await log.append('t', [{ key: null, value: '1' }, { key: null, value: '2' }, { key: null, value: '3' }])
    await waitFor(async () => (await log.offsets('t'))[0]?.start === 2)
  })

  it('a consumer whose committed offset was pruned should continue from the oldest retained record', async () => {
    const log = openLog({ retention: { maxRecordsPerPartition: 2 } })
    await log.append('t', [{ key: null, value: '0' }])
    const seen: string[] = []
    const s = log.consume({ group: 'g', topics: ['t'] }, async b => { seen.push(...b.records.map(r => r.value as string)) })
    await waitFor(() => seen.length === 1)
    await s.stop()
    await log.append('t', ['1', '2', '3', '4'].map(value => ({ key: null, value })))
    await log.prune()
    log.consume({ group: 'g', topics: ['t'] }, async b => { seen.push(...b.records.map(r => r.value as string)) })
    await waitFor(() => seen.length === 3)
    expect(seen).toEqual(['0', '3', '4'])
  })

  it('should reject invalid options', () => {
    expect(() => createEmbeddedEventLog({ path: '' })).toThrow(expect.objectContaining({ code: 'BRAID_CONFIG_INVALID' }))
    expect(() => createEmbeddedEventLog({ path: ':memory:', defaultPartitions: 0 })).toThrow(expect.objectContaining({ code: 'BRAID_CONFIG_INVALID' }))
    expect(() => createEmbeddedEventLog({ path: ':memory:', retention: { maxAgeMs: -5 } })).toThrow(expect.objectContaining({ code: 'BRAID_CONFIG_INVALID' }))
  })

  it('should work in memory', async () => {
    const log = createEmbeddedEventLog({ path: ':memory:' })
    open.push(log)
    const seen: string[] = []
    log.consume({ group: 'g', topics: ['m'] }, async b => { seen.push(...b.records.map(r => r.value as string)) })
    await log.append('m', [{ key: 'k', value: 'v' }])
    await waitFor(() => seen.length === 1)
  })
})

describe('embedded event log subscriptions', () => {
  it('stop called from inside the handler should not deadlock, and the batch should still commit', async () => {
    const log = createEmbeddedEventLog({ path: ':memory:' })
    await log.append('t', [{ key: null, value: '1' }, { key: null, value: '2' }])
    let calls = 0
    const s = log.consume({ group: 'g', topics: ['t'], maxBatch: 1 }, async () => {
      calls++
      await s.stop()
    })
    await waitFor(async () => (await log.committed('g', 't'))[0]?.offset === 1)
    await s.stop()
    await sleep(100)
    expect(calls).toBe(1)
    await log.close()
  })
})
