/**
 * The EventLog contract: every implementation (embedded SQLite, Kafka) runs this suite.
 * Topic and group names are unique per test, so `create` may return a client of a shared cluster.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect } from 'vitest'
import type { ConsumedBatch, EventLog, Subscription } from '../../src/event-log/event-log.ts'
import type { AppendRecord, LogRecord } from '../../src/model/log-record.ts'
import { contractTest, sleep, waitFor, type ContractSkip } from './support.ts'

export interface EventLogContractOptions {
  name: string
  /** A log instance; the suite closes it after each test. */
  create: () => Promise<EventLog>
  /** A new instance over the same storage as `log` (a process restart); the suite closes `log` first. */
  reopen: (log: EventLog) => Promise<EventLog>
  skip?: ContractSkip[]
  /** How long to wait for records to arrive, in ms (brokers need longer to join a group). */
  timeoutMs?: number
}

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`

const rec = (key: string | null, value: string | null, extra: Partial<AppendRecord> = {}): AppendRecord => ({ key, value, ...extra })

/** Collects what a handler receives. */
function collector (): { batches: ConsumedBatch[], records: () => LogRecord[], handler: (b: ConsumedBatch) => Promise<void> } {
  const batches: ConsumedBatch[] = []
  return {
    batches,
    records: () => batches.flatMap(b => b.records),
    handler: async (b) => {
      batches.push(b)
    }
  }
}

export function runEventLogContract (options: EventLogContractOptions): void {
  const test = contractTest(options.skip)
  const timeout = options.timeoutMs ?? 5_000

  describe(`EventLog contract: ${options.name}`, () => {
    let logs: EventLog[] = []
    let subscriptions: Subscription[] = []

    async function open (): Promise<EventLog> {
      const log = await options.create()
      logs.push(log)
      return log
    }

    async function reopen (log: EventLog): Promise<EventLog> {
      await Promise.all(subscriptions.splice(0).map(async s => await s.stop()))
      await log.close()
      logs = logs.filter(l => l !== log)
      const next = await options.reopen(log)
      logs.push(next)
      return next
    }

    function consume (log: EventLog, ...args: Parameters<EventLog['consume']>): Subscription {
      const s = log.consume(...args)
      subscriptions.push(s)
      return s
    }

    afterEach(async () => {
      await Promise.all(subscriptions.map(async s => await s.stop()))
      await Promise.all(logs.map(async l => await l.close()))
      subscriptions = []
      logs = []
    })

    test('append should return positions and read should return the records in order', async () => {
      const log = await open()
      const topic = unique('t')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      const before = Date.now()
      const positions = await log.append(topic, [
        rec('k1', 'v1', { headers: { h: '1', 'content-type': 'application/json' } }),
        rec(null, null, { timestamp: 1_700_000_000_000 }),
        rec('k3', '{"json":true}')
      ])
      expect(positions).toEqual([0, 1, 2].map(offset => ({ topic, partition: 0, offset })))
      const read = await log.read(topic, 0, 0, 10)
      expect(read.map(r => [r.offset, r.key, r.value])).toEqual([[0, 'k1', 'v1'], [1, null, null], [2, 'k3', '{"json":true}']])
      expect(read[0]).toMatchObject({ topic, partition: 0, headers: { h: '1', 'content-type': 'application/json' } })
      expect(read[0]?.timestamp).toBeGreaterThanOrEqual(before)
      expect(read[0]?.timestamp).toBeLessThanOrEqual(Date.now())
      expect(read[1]?.timestamp).toBe(1_700_000_000_000)
      expect(read[2]?.headers).toEqual({})
      expect((await log.read(topic, 0, 1, 1)).map(r => r.offset)).toEqual([1])
      expect(await log.read(topic, 0, 3, 10)).toEqual([])
      const more = await log.append(topic, [rec('k4', 'v4')])
      expect(more).toEqual([{ topic, partition: 0, offset: 3 }])
    })

    test('ensureTopics should be idempotent and keep the partition count', async () => {
      const log = await open()
      const topic = unique('t')
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      const offsets = await log.offsets(topic)
      expect(offsets).toEqual([0, 1, 2].map(partition => ({ partition, start: 0, end: 0 })))
    })

    test('records with the same key should land on the same partition', async () => {
      const log = await open()
      const topic = unique('t')
      await log.ensureTopics([{ name: topic, partitions: 4 }])
      const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`)
      const byKey = new Map<string, Set<number>>()
      for (let round = 0; round < 3; round++) {
        const positions = await log.append(topic, keys.map(k => rec(k, `${k}/${round}`)))
        positions.forEach((p, i) => {
          const set = byKey.get(keys[i] as string) ?? new Set<number>()
          set.add(p.partition)
          byKey.set(keys[i] as string, set)
        })
      }
      for (const partitions of byKey.values()) expect(partitions.size).toBe(1)
      const used = new Set([...byKey.values()].flatMap(s => [...s]))
      expect(used.size).toBeGreaterThan(1)
    })

    test('offsets should give the start and end of every partition', async () => {
      const log = await open()
      const topic = unique('t')
      await log.ensureTopics([{ name: topic, partitions: 2 }])
      const positions = await log.append(topic, Array.from({ length: 20 }, (_, i) => rec(`k${i}`, 'v')))
      const offsets = await log.offsets(topic)
      expect(offsets.map(o => o.partition)).toEqual([0, 1])
      for (const o of offsets) {
        expect(o.start).toBe(0)
        expect(o.end).toBe(positions.filter(p => p.partition === o.partition).length)
      }
    })

    test('a consumer should receive every record once, in offset order, in batches of one partition', async () => {
      const log = await open()
      const topic = unique('t')
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      const total = 300
      await log.append(topic, Array.from({ length: 150 }, (_, i) => rec(`k${i % 17}`, `v${i}`)))
      const c = collector()
      consume(log, { group: unique('g'), topics: [topic], maxBatch: 7 }, c.handler)
      for (let i = 150; i < total; i += 30) {
        await log.append(topic, Array.from({ length: 30 }, (_, j) => rec(`k${(i + j) % 17}`, `v${i + j}`)))
      }
      await waitFor(() => c.records().length >= total, timeout, `${total} records`)
      await sleep(100)
      expect(c.records()).toHaveLength(total)
      for (const b of c.batches) {
        expect(b.topic).toBe(topic)
        expect(b.records.length).toBeGreaterThan(0)
        expect(b.records.length).toBeLessThanOrEqual(7)
        expect(b.records.every(r => r.partition === b.partition && r.topic === topic)).toBe(true)
      }
      for (let p = 0; p < 3; p++) {
        const offsets = c.records().filter(r => r.partition === p).map(r => r.offset)
        expect(offsets).toEqual(offsets.map((_, i) => i))
      }
      const values = c.records().map(r => r.value)
      expect(new Set(values).size).toBe(total)
      const perKey = new Map<string, number[]>()
      for (const r of c.records()) perKey.set(r.key as string, [...(perKey.get(r.key as string) ?? []), Number((r.value as string).slice(1))])
      for (const seq of perKey.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b))
    })

    test('a consumer should wake up promptly when records are appended', async () => {
      const log = await open()
      const topic = unique('t')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      const c = collector()
      consume(log, { group: unique('g'), topics: [topic] }, c.handler)
      await sleep(200)
      await log.append(topic, [rec('a', '1')])
      await waitFor(() => c.records().length === 1, timeout, 'the record')
    })

    test('a consumer should commit a batch once its handler resolves', async () => {
      const log = await open()
      const topic = unique('t')
      const group = unique('g')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.append(topic, [rec('a', '1'), rec('a', '2')])
      let release: () => void = () => {}
      const gate = new Promise<void>(resolve => { release = resolve })
      let calls = 0
      consume(log, { group, topics: [topic] }, async () => {
        calls++
        await gate
      })
      await waitFor(() => calls === 1, timeout, 'the handler call')
      await sleep(100)
      expect(await log.committed(group, topic)).toEqual([])
      release()
      await waitFor(async () => (await log.committed(group, topic))[0]?.offset === 2, timeout, 'the commit')
      expect(await log.committed(group, topic)).toEqual([{ partition: 0, offset: 2 }])
      expect(await log.committed(unique('other'), topic)).toEqual([])
    })

    test('a restarted consumer should resume from the committed offset', async () => {
      let log = await open()
      const topic = unique('t')
      const group = unique('g')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.append(topic, Array.from({ length: 5 }, (_, i) => rec('k', `v${i}`)))
      const first = collector()
      const s = consume(log, { group, topics: [topic] }, first.handler)
      await waitFor(() => first.records().length === 5, timeout, 'the first records')
      await s.stop()
      await log.append(topic, Array.from({ length: 3 }, (_, i) => rec('k', `v${5 + i}`)))
      log = await reopen(log)
      expect(await log.committed(group, topic)).toEqual([{ partition: 0, offset: 5 }])
      const second = collector()
      consume(log, { group, topics: [topic] }, second.handler)
      await waitFor(() => second.records().length >= 3, timeout, 'the new records')
      await sleep(100)
      expect(second.records().map(r => [r.offset, r.value])).toEqual([[5, 'v5'], [6, 'v6'], [7, 'v7']])
      expect((await log.read(topic, 0, 0, 100)).length).toBe(8)
    })

    test('a throwing handler should get the same batch again and never skip records', async () => {
      const log = await open()
      const topic = unique('t')
      const group = unique('g')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.append(topic, [rec('a', '1'), rec('a', '2'), rec('a', '3')])
      const seen: number[][] = []
      const errors: Array<{ err: unknown, offsets: number[] }> = []
      let failures = 2
      const handled: number[] = []
      consume(log, {
        group,
        topics: [topic],
        maxBatch: 2,
        onError: (err, batch) => errors.push({ err, offsets: batch.records.map(r => r.offset) })
      }, async (batch) => {
        seen.push(batch.records.map(r => r.offset))
        if (failures > 0) {
          failures--
          throw new Error('handler failed')
        }
        handled.push(...batch.records.map(r => r.offset))
      })
      await waitFor(() => handled.length === 3, timeout, 'every record handled')
      expect(seen.slice(0, 3)).toEqual([[0, 1], [0, 1], [0, 1]])
      expect(handled).toEqual([0, 1, 2])
      expect(errors).toHaveLength(2)
      expect(errors[0]?.offsets).toEqual([0, 1])
      expect((errors[0]?.err as Error).message).toBe('handler failed')
      await waitFor(async () => (await log.committed(group, topic))[0]?.offset === 3, timeout, 'the commit')
    })

    test('pause should hold back a topic and resume should release it', async () => {
      const log = await open()
      const a = unique('ta')
      const b = unique('tb')
      await log.ensureTopics([{ name: a, partitions: 1 }, { name: b, partitions: 1 }])
      const c = collector()
      const s = consume(log, { group: unique('g'), topics: [a, b] }, c.handler)
      s.pause([a])
      expect(s.paused()).toEqual([a])
      await log.append(a, [rec('x', 'a1')])
      await log.append(b, [rec('x', 'b1')])
      await waitFor(() => c.records().some(r => r.topic === b), timeout, 'the unpaused topic')
      await sleep(300)
      expect(c.records().filter(r => r.topic === a)).toEqual([])
      s.resume([a])
      expect(s.paused()).toEqual([])
      await waitFor(() => c.records().some(r => r.topic === a), timeout, 'the resumed topic')
    })

    test('a new group should start at the earliest record by default and at the end with start latest', async () => {
      const log = await open()
      const topic = unique('t')
      await log.ensureTopics([{ name: topic, partitions: 2 }])
      await log.append(topic, [rec('a', 'old1'), rec('b', 'old2'), rec('c', 'old3')])
      const earliest = collector()
      const latest = collector()
      consume(log, { group: unique('g-earliest'), topics: [topic] }, earliest.handler)
      consume(log, { group: unique('g-latest'), topics: [topic], start: 'latest' }, latest.handler)
      await waitFor(() => earliest.records().length === 3, timeout, 'the old records')
      await sleep(200)
      await log.append(topic, [rec('a', 'new1'), rec('b', 'new2')])
      await waitFor(() => earliest.records().length === 5 && latest.records().length === 2, timeout, 'the new records')
      expect(latest.records().map(r => r.value).sort()).toEqual(['new1', 'new2'])
    })

    test('stop should wait for the batch in flight and commit it', async () => {
      const log = await open()
      const topic = unique('t')
      const group = unique('g')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.append(topic, [rec('a', '1')])
      let release: () => void = () => {}
      const gate = new Promise<void>(resolve => { release = resolve })
      let started = false
      let finished = false
      const s = consume(log, { group, topics: [topic] }, async () => {
        started = true
        await gate
        finished = true
      })
      await waitFor(() => started, timeout, 'the handler call')
      let stopped = false
      const stopping = s.stop().then(() => { stopped = true })
      await sleep(150)
      expect(stopped).toBe(false)
      release()
      await stopping
      expect(finished).toBe(true)
      expect(await log.committed(group, topic)).toEqual([{ partition: 0, offset: 1 }])
      await log.append(topic, [rec('a', '2')])
      await sleep(150)
      expect(await log.committed(group, topic)).toEqual([{ partition: 0, offset: 1 }])
    })

    test('offsets and read of a topic that does not exist should be empty', async () => {
      const log = await open()
      const topic = unique('never-created')
      expect(await log.offsets(topic)).toEqual([])
      expect(await log.read(topic, 0, 0, 10)).toEqual([])
      expect(await log.committed(unique('g'), topic)).toEqual([])
    })

    test('stop called from inside the handler should resolve at once and still commit that batch', async () => {
      const log = await open()
      const topic = unique('t')
      const group = unique('g')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.append(topic, [rec('a', '1'), rec('a', '2')])
      let calls = 0
      let stoppedInside = false
      let s: Subscription | undefined
      s = consume(log, { group, topics: [topic] }, async () => {
        calls++
        await (s as Subscription).stop()
        stoppedInside = true
      })
      await waitFor(() => stoppedInside, timeout, 'stop() to resolve inside the handler')
      await s.stop()
      await waitFor(async () => (await log.committed(group, topic))[0]?.offset === 2, timeout, 'the commit of the batch')
      await log.append(topic, [rec('a', '3')])
      await sleep(200)
      expect(calls).toBe(1)
    })

    test('a new group started at the latest offset should keep that position across a restart', async () => {
      let log = await open()
      const topic = unique('t')
      const group = unique('g')
      await log.ensureTopics([{ name: topic, partitions: 2 }])
      await log.append(topic, [rec('a', 'before1'), rec('b', 'before2')])
      const first = collector()
      const s = consume(log, { group, topics: [topic], start: 'latest' }, first.handler)
      const sum = async (): Promise<number> => (await log.committed(group, topic)).reduce((n, c) => n + c.offset, 0)
      await waitFor(async () => await sum() === 2, timeout, 'the latest position to be committed')
      await s.stop()
      await log.append(topic, [rec('a', 'while-stopped')])
      log = await reopen(log)
      const second = collector()
      consume(log, { group, topics: [topic], start: 'latest' }, second.handler)
      await waitFor(() => second.records().length >= 1, timeout, 'the record appended while stopped')
      await sleep(100)
      expect(first.records()).toEqual([])
      expect(second.records().map(r => r.value)).toEqual(['while-stopped'])
    })

    test('two groups should consume the same topic independently', async () => {
      const log = await open()
      const topic = unique('t')
      const g1 = unique('g1')
      const g2 = unique('g2')
      await log.ensureTopics([{ name: topic, partitions: 2 }])
      await log.append(topic, Array.from({ length: 10 }, (_, i) => rec(`k${i}`, `v${i}`)))
      const c1 = collector()
      const s1 = consume(log, { group: g1, topics: [topic] }, c1.handler)
      await waitFor(() => c1.records().length === 10, timeout, 'group 1')
      await s1.stop()
      const c2 = collector()
      consume(log, { group: g2, topics: [topic] }, c2.handler)
      await waitFor(() => c2.records().length === 10, timeout, 'group 2')
      const sum = async (g: string): Promise<number> => (await log.committed(g, topic)).reduce((n, c) => n + c.offset, 0)
      await waitFor(async () => await sum(g2) === 10, timeout, 'group 2 commits')
      expect(await sum(g1)).toBe(10)
      expect(c1.records().map(r => r.value).sort()).toEqual(c2.records().map(r => r.value).sort())
    })
  })
}
