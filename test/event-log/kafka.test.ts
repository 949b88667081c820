/**
 * The Kafka event log against the shared broker (BRAID_KAFKA_BROKERS): the EventLog contract,
 * then what only Kafka has (missing topics, auto-create, Java-compatible partitioning, options).
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { Admin } from '@platformatic/kafka'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { BraidError } from '../../src/errors.ts'
import { partitionForKey } from '../../src/event-log/embedded/partitioner.ts'
import type { EventLog } from '../../src/event-log/event-log.ts'
import { createKafkaEventLog, type KafkaEventLog, type KafkaEventLogOptions } from '../../src/event-log/kafka/index.ts'
import { runEventLogContract } from '../contract/event-log.contract.ts'
import { sleep, waitFor } from '../contract/support.ts'
import { deleteTopics, kafkaBrokers, kafkaLibs } from './kafka-broker.ts'

const brokers = kafkaBrokers()
const run = randomUUID().slice(0, 8)
const topicsCreated = new Set<string>()

/** Test timings: fast heartbeats and metadata refreshes, short fetch waits. */
export const fastKafka: Omit<KafkaEventLogOptions, 'brokers'> = {
  clientId: 'braid-test',
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 20_000,
  fetchMaxWaitMs: 200,
  metadataMaxAgeMs: 2_000
}

/** Records every topic the log creates, for the cleanup at the end of the file. */
function tracked (log: KafkaEventLog): KafkaEventLog {
  const ensure = log.ensureTopics.bind(log)
  log.ensureTopics = async specs => {
    for (const s of specs) topicsCreated.add(s.name)
    await ensure(specs)
  }
  return log
}

const open = (options: Partial<KafkaEventLogOptions> = {}): KafkaEventLog => tracked(createKafkaEventLog({ brokers, ...fastKafka, ...options }))

afterAll(async () => {
  await deleteTopics(brokers, topicsCreated)
})

runEventLogContract({
  name: 'kafka',
  // The contract's ensureTopics creates topics: that is the Kafka log with autoCreateTopics on.
  create: async () => open({ autoCreateTopics: true }),
  reopen: async () => open({ autoCreateTopics: true }),
  timeoutMs: 30_000
})

describe('kafka event log', () => {
  const logs: EventLog[] = []
  const openLog = (options: Partial<KafkaEventLogOptions> = {}): KafkaEventLog => {
    const log = open(options)
    logs.push(log)
    return log
  }
  const topic = (name: string): string => {
    const t = `${name}-${run}-${randomUUID().slice(0, 6)}`
    topicsCreated.add(t)
    return t
  }

  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close()
  })

  it('ensureTopics should name every missing topic and how to create it when auto-create is off', async () => {
    const log = openLog()
    const a = topic('missing-a')
    const b = topic('missing-b')
    const err = await log.ensureTopics([{ name: a, partitions: 3 }, { name: b }]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BraidError)
    expect((err as BraidError).code).toBe('BRAID_TOPIC_MISSING')
    expect((err as BraidError).retryable).toBe(false)
    expect((err as BraidError).details['topics']).toEqual([a, b])
    expect((err as BraidError).message).toContain(`kafka-topics.sh --bootstrap-server ${brokers.join(',')} --create --topic ${a} --partitions 3`)
    expect((err as BraidError).message).toContain(`--topic ${b} --partitions 6`)
    expect((err as BraidError).message).toContain('autoCreateTopics: true')
    expect(await log.offsets(a)).toEqual([])
  })

  it('append should refuse a missing topic when auto-create is off and create it when on', async () => {
    const t = topic('auto')
    const strict = openLog()
    const err = await strict.append(t, [{ key: 'k', value: 'v' }]).catch((e: unknown) => e)
    expect((err as BraidError).code).toBe('BRAID_TOPIC_MISSING')
    const auto = openLog({ autoCreateTopics: true, defaultPartitions: 4 })
    const [pos] = await auto.append(t, [{ key: 'k', value: 'v' }])
    expect(pos?.partition).toBe(partitionForKey('k', 4))
    expect((await auto.offsets(t)).map(o => o.partition)).toEqual([0, 1, 2, 3])
    expect(await strict.read(t, pos?.partition as number, 0, 10)).toMatchObject([{ key: 'k', value: 'v', offset: 0 }])
  })

  it('ensureTopics with auto-create should create topics with their partition counts and keep existing ones', async () => {
    const log = openLog({ autoCreateTopics: true, defaultPartitions: 2 })
    const a = topic('create-a')
    const b = topic('create-b')
    await log.ensureTopics([{ name: a, partitions: 5 }, { name: b }])
    expect(await log.offsets(a)).toHaveLength(5)
    expect(await log.offsets(b)).toHaveLength(2)
    await log.ensureTopics([{ name: a, partitions: 3 }])
    expect(await log.offsets(a)).toHaveLength(5)
  })

  it('keyed records should land on the partition the Java client\'s default partitioner chooses', async () => {
    // Kafka's own console producer (the Java client, default partitioner) writes keyed records;
    // braid's partitioner must name the same partition for each key, and its appends must agree.
    const log = openLog({ autoCreateTopics: true })
    const t = topic('java-partitioner')
    await log.ensureTopics([{ name: t, partitions: 6 }])
    const keys = Array.from({ length: 40 }, (_, i) => i % 3 === 0 ? `{"customer_id":${i}}` : i % 3 === 1 ? `ключ-${i}-ü😀` : `key-${i}`)
    const input = keys.map((k, i) => `${k}\t${i}`).join('\n') + '\n'
    await new Promise<void>((resolve, reject) => {
      const child = execFile('java', ['-cp', `${kafkaLibs()}/*`, 'org.apache.kafka.tools.ConsoleProducer', '--bootstrap-server', brokers.join(','), '--topic', t,
        '--property', 'parse.key=true', '--property', 'key.separator=\t', '--producer-property', 'acks=all'], { timeout: 60_000 }, err => err === null ? resolve() : reject(err))
      child.stdin?.end(input)
    })
    const byPartition = new Map<string, number>()
    for (let p = 0; p < 6; p++) {
      for (const r of await log.read(t, p, 0, 1_000)) byPartition.set(r.key as string, p)
    }
    expect(byPartition.size).toBe(keys.length)
    for (const k of keys) expect(byPartition.get(k), k).toBe(partitionForKey(k, 6))
    const positions = await log.append(t, keys.map(k => ({ key: k, value: 'braid' })))
    positions.forEach((p, i) => expect(p.partition).toBe(byPartition.get(keys[i] as string)))
  }, 90_000)

  it('a subscription should handle partitions in parallel, each strictly in order', async () => {
    const log = openLog({ autoCreateTopics: true })
    const t = topic('parallel')
    await log.ensureTopics([{ name: t, partitions: 3 }])
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].filter((k, i, all) => all.findIndex(x => partitionForKey(x, 3) === partitionForKey(k, 3)) === i)
    expect(keys.length).toBe(3)
    await log.append(t, keys.flatMap(k => Array.from({ length: 30 }, (_, i) => ({ key: k, value: String(i) }))))
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    const busy = new Set<number>()
    const overlaps: number[] = []
    const seen = new Map<number, number[]>()
    const blocked = partitionForKey(keys[0] as string, 3)
    log.consume({ group: `g-${run}-${randomUUID().slice(0, 6)}`, topics: [t], maxBatch: 5 }, async batch => {
      if (busy.has(batch.partition)) overlaps.push(batch.partition)
      busy.add(batch.partition)
      try {
        if (batch.partition === blocked) await gate
        else await sleep(5)
        seen.set(batch.partition, [...(seen.get(batch.partition) ?? []), ...batch.records.map(r => r.offset)])
      } finally {
        busy.delete(batch.partition)
      }
    })
    // The other two partitions are handled completely while the first one's handler is blocked.
    await waitFor(() => [...seen].filter(([p]) => p !== blocked).reduce((n, [, o]) => n + o.length, 0) === 60, 30_000, 'the unblocked partitions')
    expect(seen.get(blocked)).toBeUndefined()
    release()
    await waitFor(() => seen.get(blocked)?.length === 30, 30_000, 'the blocked partition')
    for (const offsets of seen.values()) expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(overlaps).toEqual([])
  })

  it('a group whose committed position was removed by retention should continue from the first retained record', async () => {
    const log = openLog({ autoCreateTopics: true })
    const t = topic('retention')
    const group = `g-${run}-${randomUUID().slice(0, 6)}`
    await log.ensureTopics([{ name: t, partitions: 1 }])
    await log.append(t, Array.from({ length: 10 }, (_, i) => ({ key: null, value: String(i) })))
    const admin = new Admin({ clientId: 'braid-test', bootstrapBrokers: brokers })
    try {
      await admin.alterConsumerGroupOffsets({ groupId: group, topics: [{ name: t, partitionOffsets: [{ partition: 0, offset: 2n }] }] })
      await admin.deleteRecords({ topics: [{ name: t, partitions: [{ partition: 0, offset: 5n }] }] })
    } finally {
      await admin.close()
    }
    expect(await log.offsets(t)).toEqual([{ partition: 0, start: 5, end: 10 }])
    expect((await log.read(t, 0, 0, 3)).map(r => r.offset)).toEqual([5, 6, 7])
    const offsets: number[] = []
    log.consume({ group, topics: [t] }, async batch => { offsets.push(...batch.records.map(r => r.offset)) })
    await waitFor(() => offsets.length >= 5, 30_000, 'the retained records')
    await sleep(200)
    expect(offsets).toEqual([5, 6, 7, 8, 9])
  })

  it('a subscription started at the latest offset should read partitions added to its topic from their start', async () => {
    const log = openLog({ autoCreateTopics: true })
    const t = topic('grow')
    const group = `g-${run}-${randomUUID().slice(0, 6)}`
    await log.ensureTopics([{ name: t, partitions: 2 }])
    await log.append(t, [{ key: null, value: 'old' }])
    const seen = new Set<string>()
    log.consume({ group, topics: [t], start: 'latest' }, async batch => {
      for (const r of batch.records) seen.add(`${r.partition}:${r.value as string}`)
    })
    await waitFor(async () => (await log.committed(group, t)).length === 2, 30_000, 'the latest positions to be committed')
    await log.append(t, [{ key: null, value: 'first' }])
    await waitFor(() => seen.size === 1, 30_000, 'the first record')
    const admin = new Admin({ clientId: 'braid-test', bootstrapBrokers: brokers })
    try {
      await admin.createPartitions({ topics: [{ name: t, count: 4 }] })
    } finally {
      await admin.close()
    }
    // Appended at once by a fresh log, before the subscription notices the new partitions (it
    // looks every metadataMaxAgeMs): with `latest` applied to them these records would be skipped.
    const writer = openLog()
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].filter(k => partitionForKey(k, 4) >= 2)
    const positions = await writer.append(t, keys.map(k => ({ key: k, value: k })))
    expect(new Set(positions.map(p => p.partition))).toEqual(new Set([2, 3]))
    await waitFor(() => seen.size === 1 + keys.length, 20_000, 'the records of the new partitions')
    expect([...seen].some(v => v.endsWith(':old'))).toBe(false)
  })

  it('a subscription should read a topic created after it started from its start, even with start latest', async () => {
    const log = openLog({ autoCreateTopics: true })
    const existing = topic('exists')
    const later = topic('later')
    const group = `g-${run}-${randomUUID().slice(0, 6)}`
    await log.ensureTopics([{ name: existing, partitions: 1 }])
    const seen: string[] = []
    log.consume({ group, topics: [existing, later], start: 'latest' }, async batch => {
      seen.push(...batch.records.map(r => `${r.topic === later ? 'later' : 'existing'}:${r.value as string}`))
    })
    await waitFor(async () => (await log.committed(group, existing)).length === 1, 30_000, 'the group to start')
    const writer = openLog({ autoCreateTopics: true, defaultPartitions: 2 })
    await writer.append(later, [{ key: 'x', value: '1' }, { key: 'y', value: '2' }])
    await waitFor(() => seen.length === 2, 20_000, 'the records of the new topic')
    expect(seen.sort()).toEqual(['later:1', 'later:2'])
  })

  it('append should keep the order of concurrent appends and give every record its own offset', async () => {
    const log = openLog()
    const t = topic('concurrent')
    await openLog({ autoCreateTopics: true }).ensureTopics([{ name: t, partitions: 1 }])
    const appends = await Promise.all(Array.from({ length: 20 }, async (_, i) => await log.append(t, [{ key: 'same', value: `a${i}-0` }, { key: 'same', value: `a${i}-1` }])))
    const offsets = appends.flat().map(p => p.offset)
    expect(new Set(offsets).size).toBe(40)
    const read = await log.read(t, 0, 0, 100)
    expect(read).toHaveLength(40)
    for (const [i, positions] of appends.entries()) {
      expect(read[positions[0]?.offset as number]?.value).toBe(`a${i}-0`)
      expect(read[positions[1]?.offset as number]?.value).toBe(`a${i}-1`)
      expect(positions[1]?.offset).toBe((positions[0]?.offset as number) + 1)
    }
  })

  it('a large append should be split into requests under maxRequestBytes and maxBatchBytes and keep its order', async () => {
    // 600 KB of records to 2 partitions: at most 64 KiB per request and 20 KiB per partition batch.
    // The topic refuses batches over 25 KiB: an append that ignored maxBatchBytes would fail.
    const log = openLog({ maxRequestBytes: 64 * 1024, maxBatchBytes: 20 * 1024 })
    const t = topic('large')
    const admin = new Admin({ clientId: 'braid-test', bootstrapBrokers: brokers })
    try {
      await admin.createTopics({ topics: [t], partitions: 2, replicas: 1, configs: [{ name: 'max.message.bytes', value: String(25 * 1024) }] })
    } finally {
      await admin.close()
    }
    // A topic created behind the log's back has leaders a moment later.
    await waitFor(async () => await log.offsets(t).then(o => o.length === 2, () => false), 10_000, 'the new topic\'s leaders')
    const tooLarge = await openLog({ maxBatchBytes: 200 * 1024 }).append(t, Array.from({ length: 100 }, () => ({ key: 'same', value: 'y'.repeat(2_000) }))).catch((e: unknown) => e)
    expect((tooLarge as BraidError).code).toBe('BRAID_LOG_UNAVAILABLE')
    expect((tooLarge as BraidError).retryable).toBe(false)
    expect((tooLarge as BraidError).message).toContain('maxBatchBytes')
    const value = 'x'.repeat(2_000)
    const positions = await log.append(t, Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: `${i}:${value}` })))
    expect(positions).toHaveLength(300)
    for (let p = 0; p < 2; p++) {
      const mine = positions.map((pos, i) => ({ pos, i })).filter(x => x.pos.partition === p)
      const read = await log.read(t, p, 0, 1_000)
      expect(read.map(r => Number((r.value as string).split(':')[0]))).toEqual(mine.map(x => x.i))
      expect(mine.map(x => x.pos.offset)).toEqual(mine.map((_, j) => j))
    }
  })

  it('append should keep record timestamps exactly, however far apart', async () => {
    const log = openLog()
    const t = topic('timestamps')
    await openLog({ autoCreateTopics: true }).ensureTopics([{ name: t, partitions: 1 }])
    const now = Date.now()
    const day = 86_400_000
    const timestamps = [now, 1_000, now - 30 * day, now + 1, 1_700_000_000_000, now - 25 * day, now - 24 * day]
    await log.append(t, timestamps.map((timestamp, i) => ({ key: 'k', value: String(i), timestamp })))
    expect((await log.read(t, 0, 0, 100)).map(r => r.timestamp)).toEqual(timestamps)
  })

  it('read should start at the first retained record and stop at the end', async () => {
    const log = openLog()
    const t = topic('read')
    await openLog({ autoCreateTopics: true }).ensureTopics([{ name: t, partitions: 1 }])
    await log.append(t, Array.from({ length: 10 }, (_, i) => ({ key: null, value: String(i) })))
    expect((await log.read(t, 0, 4, 3)).map(r => r.value)).toEqual(['4', '5', '6'])
    expect(await log.read(t, 0, 10, 5)).toEqual([])
    expect(await log.read(t, 0, 50, 5)).toEqual([])
    expect(await log.read(t, 7, 0, 5)).toEqual([])
    expect(await log.read(topic('nope'), 0, 0, 5)).toEqual([])
  })

  it('a subscription to unreachable brokers should keep retrying, report the outage and stop promptly', async () => {
    const log = openLog({ brokers: ['127.0.0.1:1'], connectTimeoutMs: 300 })
    const errors: unknown[] = []
    const s = log.consume({ group: 'never', topics: ['t'], onError: e => errors.push(e) }, async () => {})
    await waitFor(() => !log.health().connected, 10_000, 'the outage to be reported')
    await sleep(1_500)
    const started = Date.now()
    await s.stop()
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(errors).toEqual([])
  })

  it('health should report a reachable cluster, and unreachable brokers as an outage with the error', async () => {
    const log = openLog()
    expect(log.health()).toMatchObject({ connected: true })
    await log.offsets(topic('health'))
    expect(log.health().connected).toBe(true)
    const down = openLog({ brokers: ['127.0.0.1:1'], connectTimeoutMs: 500 })
    const before = Date.now()
    const err = await down.offsets('x').catch((e: unknown) => e)
    expect((err as BraidError).code).toBe('BRAID_LOG_UNAVAILABLE')
    expect((err as BraidError).retryable).toBe(true)
    const health = down.health()
    expect(health.connected).toBe(false)
    expect(health.since).toBeGreaterThanOrEqual(before)
    expect(health.error).toMatch(/127\.0\.0\.1:1|ECONNREFUSED|connect/i)
  })

})
