/**
 * Consumer groups of the Kafka event log on the shared broker (BRAID_KAFKA_BROKERS): members share
 * a topic's partitions, and rebalances (a member joining, then leaving, while records flow) lose
 * nothing, handle no partition in two members at once and never move a committed offset backwards.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ConsumedBatch, Subscription } from '../../src/event-log/event-log.ts'
import { createKafkaEventLog, type KafkaEventLog } from '../../src/event-log/kafka/index.ts'
import { sleep, waitFor } from '../contract/support.ts'
import { deleteTopics, kafkaBrokers } from './kafka-broker.ts'

const brokers = kafkaBrokers()
const topics: string[] = []

const options = {
  brokers,
  clientId: 'braid-test-group',
  autoCreateTopics: true,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 300,
  rebalanceTimeoutMs: 20_000,
  fetchMaxWaitMs: 200,
  metadataMaxAgeMs: 2_000
}

/** What one member saw: its batches, and the partitions it is handling right now. */
interface Member {
  name: string
  log: KafkaEventLog
  subscription: Subscription
  batches: ConsumedBatch[]
}

describe('kafka event log consumer groups', () => {
  const logs: KafkaEventLog[] = []
  const subscriptions: Subscription[] = []
  /** topic/partition → member handling a batch of it now; a second member there is a violation. */
  const inFlight = new Map<string, string>()
  const violations: string[] = []

  function member (name: string, group: string, topic: string, delayMs = 0): Member {
    const log = createKafkaEventLog(options)
    logs.push(log)
    const batches: ConsumedBatch[] = []
    const subscription = log.consume({ group, topics: [topic], maxBatch: 25 }, async batch => {
      const where = `${batch.topic}/${batch.partition}`
      const other = inFlight.get(where)
      if (other !== undefined) violations.push(`${name} got a batch of ${where} while ${other} was handling one`)
      inFlight.set(where, name)
      try {
        if (delayMs > 0) await sleep(delayMs)
        batches.push(batch)
      } finally {
        inFlight.delete(where)
      }
    })
    subscriptions.push(subscription)
    return { name, log, subscription, batches }
  }

  async function newTopic (partitions: number): Promise<string> {
    const topic = `group-${randomUUID().slice(0, 8)}`
    topics.push(topic)
    const log = createKafkaEventLog(options)
    logs.push(log)
    await log.ensureTopics([{ name: topic, partitions }])
    return topic
  }

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map(async s => await s.stop()))
    await Promise.all(logs.splice(0).map(async l => await l.close()))
    inFlight.clear()
    violations.length = 0
  })

  afterAll(async () => {
    await deleteTopics(brokers, topics)
  })

  it('two members of one group should share a 6-partition topic and together see every record exactly once', async () => {
    const topic = await newTopic(6)
    const group = `g-${randomUUID().slice(0, 8)}`
    const a = member('a', group, topic)
    const b = member('b', group, topic)
    const producer = createKafkaEventLog(options)
    logs.push(producer)
    // Wait until the group is stable with both members: each has handled warm-up records. One round
    // is not enough: the shared broker runs with group.initial.rebalance.delay.ms=0, so under load the
    // first member may form a generation alone and consume the whole round before the second one joins
    // (which then gets partitions with nothing left to read). Append rounds until both have had some.
    const both = (): boolean => a.batches.length > 0 && b.batches.length > 0
    const deadline = Date.now() + 30_000
    for (let round = 0; !both(); round++) {
      if (Date.now() > deadline) throw new Error('Timed out after 30000 ms waiting for both members to get partitions')
      await producer.append(topic, Array.from({ length: 60 }, (_, i) => ({ key: `warm-${i}`, value: `warm-${round}-${i}` })))
      for (let polls = 0; polls < 25 && !both(); polls++) await sleep(10)
    }
    const total = 600
    for (let i = 0; i < total; i += 100) {
      await producer.append(topic, Array.from({ length: 100 }, (_, j) => ({ key: `customer-${(i + j) % 97}`, value: String(i + j) })))
    }
    const seen = (): string[] => [...a.batches, ...b.batches].flatMap(x => x.records).map(r => r.value as string).filter(v => !v.startsWith('warm'))
    await waitFor(() => seen().length >= total, 30_000, `${total} records`)
    await sleep(300)
    expect(seen()).toHaveLength(total)
    expect(new Set(seen()).size).toBe(total)
    // Partitions each member handled once the group was stable (warm-up batches of an earlier generation left out).
    const partitionsOf = (m: Member): Set<number> => new Set(m.batches.filter(x => x.records.some(r => !(r.value as string).startsWith('warm'))).map(x => x.partition))
    expect([...partitionsOf(a)].filter(p => partitionsOf(b).has(p))).toEqual([])
    expect(partitionsOf(a).size + partitionsOf(b).size).toBe(6)
    expect(violations).toEqual([])
    const offsets = await producer.offsets(topic)
    await waitFor(async () => {
      const committed = new Map((await producer.committed(group, topic)).map(c => [c.partition, c.offset]))
      return offsets.every(o => committed.get(o.partition) === o.end)
    }, 10_000, 'every partition committed at its end')
  }, 60_000)

  it('a member joining and then leaving while records flow should lose nothing, duplicate nothing and never move a commit backwards', async () => {
    const topic = await newTopic(6)
    const group = `g-${randomUUID().slice(0, 8)}`
    const producer = createKafkaEventLog(options)
    logs.push(producer)
    const a = member('a', group, topic, 150)
    // Committed offsets must only grow: sample them all along.
    const highest = new Map<number, number>()
    const backwards: string[] = []
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        for (const c of await producer.committed(group, topic)) {
          if (c.offset < (highest.get(c.partition) ?? 0)) backwards.push(`partition ${c.partition}: ${highest.get(c.partition) ?? 0} → ${c.offset}`)
          highest.set(c.partition, Math.max(c.offset, highest.get(c.partition) ?? 0))
        }
        await sleep(50)
      }
    })()
    // A steady flow of keyed records, the value being a sequence number per key.
    const total = 1_500
    let produced = 0
    const producing = (async () => {
      while (produced < total) {
        await producer.append(topic, Array.from({ length: 25 }, (_, j) => ({ key: `k${(produced + j) % 40}`, value: String(produced + j) })))
        produced += 25
        await sleep(20)
      }
    })()
    await waitFor(() => a.batches.length > 0 && produced >= 300, 30_000, 'the first member to consume')
    const b = member('b', group, topic, 150)
    await waitFor(() => b.batches.length > 0, 30_000, 'the second member to get partitions')
    await waitFor(() => produced >= 1_000, 30_000, 'more records')
    await b.subscription.stop()
    const bStoppedAt = b.batches.length
    await producing
    const all = (): ConsumedBatch[] => [...a.batches, ...b.batches]
    const values = (): number[] => all().flatMap(x => x.records).map(r => Number(r.value))
    await waitFor(() => values().length >= total, 30_000, `${total} records`)
    await sleep(500)
    sampling = false
    await sampler
    expect(b.batches.length).toBe(bStoppedAt)
    expect(values()).toHaveLength(total)
    expect(new Set(values()).size).toBe(total)
    // Per key, records arrive in the order they were appended.
    const perKey = new Map<string, number[]>()
    for (const r of all().flatMap(x => x.records).sort((x, y) => x.partition - y.partition || x.offset - y.offset)) {
      perKey.set(r.key as string, [...(perKey.get(r.key as string) ?? []), Number(r.value)])
    }
    for (const seq of perKey.values()) expect(seq).toEqual([...seq].sort((x, y) => x - y))
    expect(violations).toEqual([])
    expect(backwards).toEqual([])
    const offsets = await producer.offsets(topic)
    await waitFor(async () => {
      const committed = new Map((await producer.committed(group, topic)).map(c => [c.partition, c.offset]))
      return offsets.every(o => committed.get(o.partition) === o.end)
    }, 10_000, 'every partition committed at its end')
  }, 120_000)
})
