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
import { createLogger } from '../../src/logger.ts'

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
    const log = createKafkaEventLog({ ...options, logger: createLogger({ level: 'debug' }).child({ m: name }) })
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

  it.each(Array.from({length: 6}, (_, i) => i))('%i two members of one group should share a 6-partition topic and together see every record exactly once', async () => {
    console.log('START', new Date().toISOString())
    const topic = await newTopic(6)
    const group = `g-${randomUUID().slice(0, 8)}`
    const a = member('a', group, topic)
    const b = member('b', group, topic)
    const producer = createKafkaEventLog(options)
    logs.push(producer)
    // Wait until the group is stable with both members: each has handled one of a first round of records.
    await producer.append(topic, Array.from({ length: 60 }, (_, i) => ({ key: `warm-${i}`, value: `warm-${i}` })))
    await waitFor(() => a.batches.length > 0 && b.batches.length > 0, 30_000, 'both members to get partitions')
    const total = 600
    for (let i = 0; i < total; i += 100) {
      await producer.append(topic, Array.from({ length: 100 }, (_, j) => ({ key: `customer-${(i + j) % 97}`, value: String(i + j) })))
    }
    const seen = (): string[] => [...a.batches, ...b.batches].flatMap(x => x.records).map(r => r.value as string).filter(v => !v.startsWith('warm'))
    await waitFor(() => seen().length >= total, 30_000, `${total} records`)
    await sleep(300)
    expect(seen()).toHaveLength(total)
    expect(new Set(seen()).size).toBe(total)
    const partitionsOf = (m: Member): Set<number> => new Set(m.batches.map(x => x.partition))
    expect([...partitionsOf(a)].filter(p => partitionsOf(b).has(p))).toEqual([])
    expect(partitionsOf(a).size + partitionsOf(b).size).toBe(6)
    expect(violations).toEqual([])
    const offsets = await producer.offsets(topic)
    await waitFor(async () => {
      const committed = new Map((await producer.committed(group, topic)).map(c => [c.partition, c.offset]))
      return offsets.every(o => committed.get(o.partition) === o.end)
    }, 10_000, 'every partition committed at its end')
  }, 60_000)

})
